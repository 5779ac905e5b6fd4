"""Two pollers at once (``import`` beside the daemon, or two PostgreSQL workers) never write one
item twice: an item is claimed in the ledger before its file is written."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from publisher.app.feed_fetch import session
from publisher.app.importer import poll
from publisher.store.ledger import Ledger
from publisher.store.source_ledger import SourceLedger

try:
    from fakes.feeds import FeedSite
    from support.sources import SOURCE, configure, imported, rss
except ImportError:  # tests/ run as a package
    from tests.fakes.feeds import FeedSite
    from tests.support.sources import SOURCE, configure, imported, rss


@pytest.fixture
def feeds() -> Iterator[FeedSite]:
    site = FeedSite()
    yield site
    site.close()


def race(site, feeds, url: str) -> None:
    configure(site, feeds, SOURCE + "max_new = 20\n")
    config = site.config()
    source = config.sources["news"]
    now = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
    feeds.serve("/feed", rss(feeds, "old"))
    poll(source, config, SourceLedger(Ledger.open(url)), session(), now)
    feeds.serve("/feed", rss(feeds, *"abcdef", "old"))
    stores = [SourceLedger(Ledger.open(url)) for _ in range(4)]
    start = threading.Barrier(len(stores))
    results = []

    def one(store: SourceLedger) -> None:
        start.wait()
        results.append(poll(source, config, store, session(), now))

    threads = [threading.Thread(target=one, args=[s]) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(r.error is None for r in results)
    assert sum(len(r.written) for r in results) == 6
    assert sorted(p.name[11:] for p in imported(site)) == [f"news-{c}.en.md" for c in "abcdef"]


def test_four_pollers_on_one_sqlite_ledger_write_each_item_once(site, feeds):
    race(site, feeds, site.config().state_url)


@pytest.mark.postgres
def test_four_pollers_on_one_postgresql_ledger_write_each_item_once(site, feeds, pg_url):
    race(site, feeds, "postgresql+psycopg://" + pg_url.removeprefix("postgresql://"))
