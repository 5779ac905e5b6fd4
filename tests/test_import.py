"""``publisher import`` and ``run --once`` against a local website serving real-shaped feeds.

Every test talks to ``tests/fakes/feeds.py`` on 127.0.0.1: conditional GET, redirects,
errors, slow and oversized answers, feeds that re-order or drop and re-add items.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from publisher.core.posts import read_post
from publisher.store.ledger import Ledger

try:
    from fakes.feeds import DATA, FeedSite
    from support.sources import HOST, PNG, SOURCE, configure, imported, rss
except ImportError:  # tests/ run as a package
    from tests.fakes.feeds import DATA, FeedSite
    from tests.support.sources import HOST, PNG, SOURCE, configure, imported, rss


def sample(feeds: FeedSite, name: str) -> bytes:
    """A sample feed whose absolute links point at the local website."""
    raw = (DATA / name).read_bytes()
    if "utf16" in name:
        return raw.decode("utf-16").replace(HOST, feeds.url).encode("utf-16")
    return raw.replace(HOST.encode(), feeds.url.encode())


def test_first_poll_records_then_each_new_item_becomes_a_draft_once(site, feeds, invoke):
    configure(site, feeds, SOURCE)
    feeds.serve("/feed", rss(feeds, "b", "a"))
    first = invoke(site, "import")
    assert first.exit_code == 0, first.stderr
    assert "first poll: 2 items already in the feed are recorded" in first.stdout
    assert imported(site) == []
    feeds.serve("/feed", rss(feeds, "c", "b", "a"))
    second = invoke(site, "import")
    assert second.exit_code == 0, second.stderr
    [path] = imported(site)
    assert path.name == "2027-05-20-news-c.en.md" and f"wrote {path}" in second.stdout
    post = read_post(path, site.config())
    assert post.draft is True and post.title == "News c" and post.channels == ("rss",)
    assert re.fullmatch(r"news/[0-9a-f]{12}", post.id)
    assert post.link == f"{feeds.url}/news/c/"
    assert post.image is not None and post.image.read_bytes() == PNG
    assert post.body == "About News c."
    agent = feeds.seen("/feed")[0].headers["user-agent"]
    assert agent.startswith("publisher/0.1.0 ")
    third = invoke(site, "import")
    assert "news: not modified since the last poll" in third.stdout
    assert len(imported(site)) == 1


def test_conditional_get_sends_the_etag_and_last_modified_kept_in_the_ledger(site, feeds, invoke):
    configure(site, feeds, SOURCE)
    feeds.serve("/feed", rss(feeds, "a"))
    invoke(site, "import")
    invoke(site, "import")
    first, second = feeds.seen("/feed")
    assert "if-none-match" not in first.headers
    assert second.headers["if-none-match"] == feeds.pages["/feed"].etag
    assert second.headers["if-modified-since"] == feeds.pages["/feed"].last_modified


def test_reordering_and_dropping_then_re_adding_never_imports_twice(site, feeds, invoke):
    configure(site, feeds, SOURCE)
    feeds.serve("/feed", rss(feeds, "b", "a"))
    invoke(site, "import")
    for order in (("c", "b", "a"), ("a", "c", "b"), ("b", "a"), ("c", "a", "b"), ("d", "c")):
        feeds.serve("/feed", rss(feeds, *order))
        assert invoke(site, "import").exit_code == 0
    assert [p.name for p in imported(site)] == ["2027-05-20-news-c.en.md",
                                                 "2027-05-20-news-d.en.md"]  # fmt: skip


def test_at_most_max_new_per_poll_and_the_rest_wait_even_for_an_unchanged_feed(site, feeds, invoke):
    configure(site, feeds, SOURCE + "max_new = 2\n")
    feeds.serve("/feed", rss(feeds, "z"))
    invoke(site, "import")
    feeds.serve("/feed", rss(feeds, "e", "d", "c", "z"))
    result = invoke(site, "import")
    assert "1 more new items wait for the next poll" in result.stdout
    assert [p.name[11:] for p in imported(site)] == ["news-c.en.md", "news-d.en.md"]  # oldest first
    again = invoke(site, "import")  # same feed bytes: no ETag was kept, so no 304 hides "e"
    assert "wrote" in again.stdout and len(imported(site)) == 3


def test_backfill_imports_items_present_at_the_first_poll(site, feeds, invoke):
    configure(site, feeds, SOURCE)
    feeds.serve("/feed", rss(feeds, "c", "b", "a"))
    invoke(site, "import")
    result = invoke(site, "import", "--backfill", "2")
    assert result.exit_code == 0, result.stderr
    assert [p.name[11:] for p in imported(site)] == ["news-b.en.md", "news-c.en.md"]
    invoke(site, "import", "--backfill", "5")
    assert len(imported(site)) == 3


@pytest.mark.parametrize(("status", "warned"), [(301, True), (308, True), (302, False)])
def test_redirects_are_followed_and_a_permanent_one_asks_to_update_the_url(
    site, feeds, invoke, status, warned
):
    configure(site, feeds, SOURCE)
    feeds.redirect("/feed", "/new/feed.xml", status)
    feeds.serve("/new/feed.xml", rss(feeds, "a"))
    result = invoke(site, "import", "--backfill", "1")
    assert result.exit_code == 0, result.stderr
    assert len(imported(site)) == 1
    assert (f"moved permanently to {feeds.url}/new/feed.xml; update url in [sources.news]"
            in result.stderr) is warned  # fmt: skip


def test_a_redirect_to_plain_http_elsewhere_is_refused(site, feeds, invoke):
    configure(site, feeds, SOURCE)
    feeds.redirect("/feed", "http://news.example.org/feed", 302)
    result = invoke(site, "import")
    assert result.exit_code == 2
    assert "uses plain http; only https is allowed" in result.stderr


@pytest.mark.parametrize(
    ("serve", "message", "hint"),
    [
        (lambda f: f.serve("/feed", b"", status=404), "was not found", "update it"),
        (lambda f: f.serve("/feed", b"", status=410), "is gone (HTTP 410)", "update it"),
        (lambda f: f.serve("/feed", b"", status=503), "answered HTTP 503", "next poll"),
        (lambda f: f.serve("/feed", sample(f, "news-page.html"), "text/html"),
         "is a web page, not a feed", "/news/rss.xml"),
        (lambda f: f.serve("/feed", (DATA / "broken.xml").read_bytes()), "not a readable feed",
         "browser"),
        (lambda f: f.serve("/feed", b"", stream=10_100_000), "larger than 10,000,000 bytes",
         "shorter feed"),
    ],
)  # fmt: skip
def test_a_bad_source_is_named_and_the_other_sources_go_on(
    site, feeds, invoke, serve, message, hint
):
    configure(site, feeds, SOURCE + '[sources.good]\ntype = "feed"\nurl = "SITE/good"\n'
              'channels = ["rss"]\n')  # fmt: skip
    serve(feeds)
    feeds.serve("/good", rss(feeds, "a"))
    result = invoke(site, "import", "--backfill", "1")
    assert result.exit_code == 2
    assert "publisher: error: source 'news': " in result.stderr and message in result.stderr
    assert hint in result.stderr
    assert [p.parent.name for p in imported(site)] == ["good"]


def test_unreachable_and_slow_sources_fail_with_a_named_error(site, feeds, invoke):
    from publisher.app.feed_fetch import session
    from publisher.app.importer import poll

    configure(site, feeds, SOURCE)
    config = site.config()
    feeds.serve("/feed", rss(feeds, "a"), delay=1.0)
    source = replace(config.sources["news"], timeout=timedelta(seconds=0.2))
    slow = poll(source, config, None, session(), _now())
    assert slow.error is not None and "no complete answer within 0.2 s" in slow.error.message
    assert "raise `timeout`" in slow.error.hint
    feeds.close()
    gone = poll(source, config, None, session(), _now())
    assert gone.error is not None and "cannot reach 127.0.0.1" in gone.error.message
    assert "connection refused" in gone.error.message


def test_a_bad_image_leaves_the_post_without_one_and_says_why(site, feeds, invoke):
    configure(site, feeds, SOURCE)
    feeds.serve("/feed", rss(feeds, "a"))
    invoke(site, "import")
    feeds.serve("/feed", rss(feeds, "c", "b", "a"))
    feeds.serve("/images/b.png", b"<html>not an image</html>", "image/png")
    del feeds.pages["/images/c.png"]
    result = invoke(site, "import")
    assert result.exit_code == 0
    assert (f"source 'news': the image: {feeds.url}/images/c.png was not found; the post has "
            "no image") in result.stderr  # fmt: skip
    assert (
        f"the image {feeds.url}/images/b.png is not a JPEG, PNG or GIF; the post has no image"
        in result.stderr
    )
    assert all(read_post(p, site.config()).image is None for p in imported(site))
    assert len(imported(site)) == 2


def test_an_existing_file_is_never_overwritten(site, feeds, invoke):
    configure(site, feeds, SOURCE)
    feeds.serve("/feed", rss(feeds, "a"))
    invoke(site, "import")
    feeds.serve("/feed", rss(feeds, "b", "a"))
    mine = site.posts / "imported" / "news" / "2027-05-20-news-b.en.md"
    mine.parent.mkdir(parents=True)
    mine.write_text("+++\ntitle = 'edited by the team'\npublish_at = 2027-05-20T10:00:00\n+++\n")
    invoke(site, "import")
    assert "edited by the team" in mine.read_text()
    assert (mine.parent / "2027-05-20-news-b-2.en.md").exists()


def test_publish_mode_schedules_after_delay_and_dry_run_changes_nothing(site, feeds, invoke, clock):
    configure(site, feeds, SOURCE + 'mode = "publish"\ndelay = "2h"\n')
    feeds.serve("/feed", rss(feeds, "a"))
    invoke(site, "import")
    feeds.serve("/feed", rss(feeds, "b", "a"))
    dry = invoke(site, "import", "--dry-run")
    assert (
        dry.exit_code == 0
        and "news: would write imported/news/2027-06-01-news-b.en.md" in dry.stdout
    )
    assert imported(site) == []
    invoke(site, "import")
    [path] = imported(site)
    post = read_post(path, site.config())
    assert post.draft is False and post.publish_at == clock.now + timedelta(hours=2)


def test_run_once_polls_due_sources_publishes_and_exits_2_for_a_failed_poll(
    site, feeds, invoke, clock
):
    configure(site, feeds, SOURCE + 'mode = "publish"\ndelay = "0s"\nevery = "1h"\n'
              '[sources.broken]\ntype = "feed"\nurl = "SITE/gone"\nchannels = ["rss"]\n')  # fmt: skip
    feeds.serve("/feed", rss(feeds, "a"))
    assert invoke(site, "run", "--once").exit_code == 2
    feeds.serve("/feed", rss(feeds, "b", "a"))
    clock.advance(minutes=30)
    invoke(site, "run", "--once")
    assert imported(site) == [] and len(feeds.seen("/feed")) == 1  # not due yet
    clock.advance(minutes=31)
    result = invoke(site, "run", "--once")
    assert result.exit_code == 2
    assert "source 'broken'" in result.stderr and "was not found" in result.stderr
    assert len(imported(site)) == 1
    feed = (site.root / "public" / "feed.xml").read_text()
    assert "News b" in feed  # imported and published in the same run


def test_a_source_failing_for_a_day_raises_one_notification(site, feeds, invoke, clock):
    from publisher.app.notify import Notifier

    configure(site, feeds, SOURCE)
    sent: list[tuple[str, str]] = []
    for _ in range(6):  # every 6 hours: 30 h of failures
        assert invoke(site, "import").exit_code == 2
        clock.advance(hours=6)
    ledger = Ledger.open(site.config().state_url)
    with ledger.engine.connect() as conn:
        keys = [r[0] for r in conn.execute(sa.text("SELECT key FROM notifications"))]
    assert [k for k in keys if k.startswith("source:")] == [f"source:news:{_start(clock)}"]
    notifier = Notifier(site.config(), ledger, clock, {},
                        sender=lambda title, body: sent.append((title, body)) or True)  # fmt: skip
    notifier.enabled = True
    notifier.run()
    [(title, body)] = sent
    assert title.startswith("publisher: source 'news' has failed since")
    assert "was not found" in body and "update it" in body
    feeds.serve("/feed", rss(feeds, "a"))
    assert invoke(site, "import").exit_code == 0  # working again: a new failure is a new alert


def _now():
    from datetime import UTC, datetime

    return datetime(2027, 6, 1, 12, 0, tzinfo=UTC)


def _start(clock) -> str:
    return (clock.now - timedelta(hours=36)).isoformat()


def test_an_item_whose_link_is_no_web_address_is_imported_without_it(site, feeds, invoke):
    configure(site, feeds, SOURCE)
    feeds.serve("/feed", rss(feeds, "a"))
    invoke(site, "import")
    odd = rss(feeds, "b", "a").replace(
        f"<link>{feeds.url}/news/b/</link>", "<link>javascript:alert(1)</link>"
    )
    feeds.serve("/feed", odd)
    result = invoke(site, "import")
    assert result.exit_code == 0, result.stderr
    [path] = imported(site)
    post = read_post(path, site.config())
    assert post.link == "" and "javascript" not in path.read_text()


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


@pytest.mark.parametrize(
    ("name", "content_type", "count", "images"),
    [
        ("wordpress.xml", "application/rss+xml; charset=UTF-8", 2, 0),
        ("drupal.xml", "application/rss+xml; charset=utf-8", 2, 1),
        ("rss091.xml", "text/xml", 2, 0),  # no charset: the XML declaration's ISO-8859-1 holds
        ("rss092.xml", "text/xml", 2, 1),
        ("rss10.rdf", "application/rdf+xml", 2, 0),
        ("rss20.xml", "application/rss+xml", 2, 2),
        ("atom-utf16.xml", "application/atom+xml", 2, 1),
    ],
)
def test_each_sample_feed_served_over_http_becomes_valid_post_files(
    site, feeds, invoke, name, content_type, count, images
):
    configure(site, feeds, SOURCE.replace('channels = ["rss"]', 'channels = ["rss"]\nmax_new = 9'))
    feeds.serve("/feed", sample(feeds, name), content_type)
    for path, body in [("/sites/default/files/2026-11/plans.png", PNG),
                       ("/weblog/images/newsletter7.jpg", JPEG), ("/images/maastricht.jpg", JPEG),
                       ("/images/newsletter.png", PNG), ("/atom/bilder/koeln.png", PNG)]:  # fmt: skip
        feeds.serve(path, body, "image/png" if body == PNG else "image/jpeg")
    result = invoke(site, "import", "--backfill", "9")
    assert result.exit_code == 0, result.stderr
    posts = [read_post(p, site.config()) for p in imported(site)]
    assert len(posts) == count and all(p.title and p.body for p in posts)
    assert sum(p.image is not None for p in posts) == images
    assert not any("\ufffd" in p.title + p.body for p in posts)  # every encoding decoded


def test_import_names_an_unknown_source_and_says_when_none_are_configured(site, feeds, invoke):
    none = invoke(site, "import")
    assert none.exit_code == 2 and "no sources are configured" in none.stderr
    configure(site, feeds, SOURCE)
    unknown = invoke(site, "import", "webiste")
    assert unknown.exit_code == 2
    assert (
        "unknown source 'webiste'" in unknown.stderr
        and "configured sources: news" in unknown.stderr
    )
    assert not (site.root / "state").exists()  # a usage error creates no ledger


def test_a_changed_url_is_fetched_in_full_not_with_the_old_urls_etag(site, feeds, invoke):
    configure(site, feeds, SOURCE)
    feeds.serve("/feed", rss(feeds, "a"))
    invoke(site, "import")
    feeds.serve("/moved", rss(feeds, "a"))  # same bytes, same ETag, at a new address
    configure(site, feeds, SOURCE.replace("SITE/feed", "SITE/moved"))
    invoke(site, "import")
    assert "if-none-match" not in feeds.seen("/moved")[0].headers
