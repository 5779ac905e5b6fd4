"""The real ``publisher run`` daemon polling a news feed: an item added to the website's feed
is posted to the Page once, however many polls see it, while a hanging source delays nothing."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

try:
    from fakes.feeds import FeedSite
    from support.processes import daemon, wait_until, write_config, write_post
    from support.sources import rss
except ImportError:  # tests/ run as a package
    from tests.fakes.feeds import FeedSite
    from tests.support.processes import daemon, wait_until, write_config, write_post
    from tests.support.sources import rss

pytestmark = pytest.mark.e2e
ENV = "PUBLISHER_FACEBOOK_TOKEN"


@pytest.fixture
def feeds() -> Iterator[FeedSite]:
    site = FeedSite()
    yield site
    site.close()


def test_an_item_added_to_the_feed_is_posted_exactly_once_across_polls(tmp_path, graph, feeds):
    sources = (
        f'[sources.website]\ntype = "feed"\nurl = "{feeds.url}/feed"\nmode = "publish"\n'
        'delay = "0s"\nevery = "1s"\nchannels = ["facebook"]\n'
        f'[sources.hanging]\ntype = "feed"\nurl = "{feeds.url}/slow"\nevery = "1s"\n'
        'timeout = "20s"\nchannels = ["facebook"]\n'
    )
    config = write_config(tmp_path, graph, rss=False, extra="")
    config.write_text(config.read_text() + sources, encoding="utf-8")
    feeds.serve("/feed", rss(feeds, "old"))
    feeds.serve("/slow", rss(feeds, "x"), delay=15.0)  # answers late, every time
    env = {**os.environ, ENV: graph.token, "PYTHONUNBUFFERED": "1"}
    proc = daemon(config, env)
    try:
        wait_until(lambda: feeds.seen("/feed"), 10, "the first poll")
        proc.wait_for("first poll: 1 items recorded")
        # A post due now goes out at once, although a source is hanging in its fetch.
        write_post(tmp_path / "posts", "due.md", "Due now", datetime.now(UTC))
        wait_until(lambda: any("Due now" in p["message"] for p in graph.posts), 10, "the due post")
        feeds.serve("/feed", rss(feeds, "fresh", "old"))
        wait_until(lambda: any("News fresh" in p["message"] for p in graph.posts), 15,
                   "the imported item on the Page")  # fmt: skip
        polls = len(feeds.seen("/feed"))
        wait_until(lambda: len(feeds.seen("/feed")) >= polls + 3, 15, "three more polls")
        time.sleep(1.5)  # a tick and a file scan after the last poll
    finally:
        assert proc.stop() == 0
    fresh = [p for p in graph.posts if "News fresh" in p["message"]]
    assert len(fresh) == 1
    assert f"{feeds.url}/news/fresh/" in fresh[0]["message"]  # a photo post: the link in the text
    assert not any("News old" in p["message"] for p in graph.posts)  # first poll: recorded only
    files = list((tmp_path / "posts" / "imported" / "website").glob("*.en.md"))
    assert [f.name[11:] for f in files] == ["news-fresh.en.md"]
