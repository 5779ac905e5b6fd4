"""DESIGN §7 cases: one bad input never stops the others; nothing leaked, nothing sent twice."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from support import RSS_CHANNELS, Site, site_config

from publisher.channels.base import Http
from publisher.core.errors import ChannelError
from publisher.store.ledger import Ledger

try:
    from fakes.graph import FakeGraph
except ImportError:  # tests/ run as a package
    from tests.fakes.graph import FakeGraph

ENV = "HARDEN_FB_TOKEN"


def facebook(graph: FakeGraph, name: str = "facebook") -> str:
    return f"""
[channels.{name}]
type = "facebook"
page_id = "{graph.page_id}"
token_env = "{ENV}"
api_url = "{graph.url}"
languages = ["en"]
"""


@pytest.fixture
def graph(clock) -> Iterator[FakeGraph]:
    with FakeGraph(clock=clock) as fake:  # posts are created at the test's time
        yield fake


def due_post(site: Site, name: str = "news.md", title: str = "News") -> None:
    site.write_post(name, f'title = "{title}"\npublish_at = 2027-06-01T13:55:00')  # clock: 12:00Z


def states(site: Site) -> dict[str, str]:
    ledger = Ledger.open(site.config().state_url)
    return {r.id: r.state.value for r in ledger.rows()}


# -- 3. one bad post file ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00",
        "9999-12-31T23:59:59",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:00:00-12:00",
    ],  # fmt: skip
)
def test_a_time_that_cannot_be_placed_in_utc_is_an_error_of_that_file(invoke, site, value):
    site.write_post("bad.md", f'title = "Year one"\npublish_at = {value}')
    due_post(site)
    for command in (["check"], ["preview"], ["run", "--once"]):
        result = invoke(site, *command)
        assert result.exit_code == 2, (command, result.stderr)
        assert "posts/bad.md:3: publish_at:" in result.stderr
        assert "cannot be placed in time" in result.stderr
        assert "unexpected" not in result.stderr
    assert states(site) == {"news/en/rss/post": "sent"}


def test_deep_nesting_and_huge_reminder_offsets_stop_only_their_file(invoke, site):
    site.write_post(
        "deep.md",
        f'title = "Deep"\npublish_at = 2027-06-01T10:00:00\ntags = {"[" * 5000}{"]" * 5000}',
    )
    site.write_post("far.md", 'title = "Far"\npublish_at = 2027-06-01T10:00:00\n'
                    '[event]\nstart = 2027-07-01T10:00:00\nreminders = ["99999999999999w"]')  # fmt: skip
    due_post(site)
    result = invoke(site, "run", "--once")
    assert result.exit_code == 2
    assert "posts/deep.md:2: the settings are nested too deeply" in result.stderr
    assert "posts/far.md:6: event.reminders:" in result.stderr
    assert states(site) == {"news/en/rss/post": "sent"}


def test_a_file_name_with_a_newline_cannot_fake_a_line_in_errors(invoke, site):
    site.write_post("evil\npublisher: error: all good.md", 'title = "x"')
    result = invoke(site, "check")
    assert result.exit_code == 2
    assert "posts/evil\\npublisher: error: all good.md" in result.stderr
    assert not any(
        line.startswith("publisher: error: all good") for line in result.stderr.splitlines()
    )


# -- 4. a token that cannot go in an HTTP header -------------------------------------------------


@pytest.mark.parametrize(
    ("token", "words"),
    [("EAAG\u200bfake", "U+200B"), ("EAAG\nfake", "line break"), ("EAAG\x1bfake", "U+001B")],
)
def test_a_token_with_a_bad_character_is_like_an_unset_one(invoke, site, graph, token, words):
    site.write_config(site_config(RSS_CHANNELS + facebook(graph)))
    due_post(site)
    result = invoke(site, "run", "--once", env={ENV: token})
    assert result.exit_code == 2
    assert f"the environment variable {ENV} holds" in result.stderr and words in result.stderr
    assert "its deliveries stay pending" in result.stderr
    assert token not in result.stderr and "fake" not in result.stderr
    assert graph.requests == []
    assert states(site) == {"news/en/rss/post": "sent", "news/en/facebook/post": "pending"}

    again = invoke(site, "run", "--once", env={ENV: graph.token})  # fixed: it goes out once
    assert again.exit_code == 0, again.stderr
    assert len(graph.posts) == 1
    assert states(site)["news/en/facebook/post"] == "sent"


def test_check_warns_of_a_token_with_a_bad_character(invoke, site, graph):
    site.write_config(site_config(RSS_CHANNELS + facebook(graph)))
    result = invoke(site, "check", env={ENV: "abc\u200b"})
    assert f"{ENV} holds the character U+200B" in result.stderr


# -- nothing left the machine: decided by urllib3's exception types ------------------------------


def test_a_refused_connection_is_never_sent_and_a_dropped_one_is_uncertain():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = Http(timeout=(1.0, 1.0))
    with pytest.raises(ChannelError) as refused:
        http.request("POST", f"http://127.0.0.1:{port}/feed")
    assert refused.value.retry and not refused.value.uncertain

    with socket.socket() as server:  # reads the request, then hangs up without an answer
        server.bind(("127.0.0.1", 0))
        server.listen()

        def hang_up() -> None:
            conn, _ = server.accept()
            conn.recv(65536)
            conn.close()

        threading.Thread(target=hang_up, daemon=True).start()
        with pytest.raises(ChannelError) as dropped:
            http.request("POST", f"http://127.0.0.1:{server.getsockname()[1]}/feed", data="x")
    assert dropped.value.uncertain and not dropped.value.retry


def test_never_sent_reads_exception_types_not_their_text():
    import requests
    from urllib3.exceptions import MaxRetryError, NameResolutionError, ProtocolError

    from publisher.channels.base import _never_sent

    dns = NameResolutionError("graph.facebook.com", None, socket.gaierror(-2, "x"))  # type: ignore[arg-type]
    assert _never_sent(requests.ConnectionError(MaxRetryError(None, "/", dns)))  # type: ignore[arg-type]
    fooled = ProtocolError("Connection aborted: NewConnectionError Connection refused")
    assert not _never_sent(requests.ConnectionError(fooled))


# -- 5. an unreadable posts folder ---------------------------------------------------------------


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Folders that cannot be listed (as root, chmod cannot make one, so the fault is injected)."""
    import os

    blocked: set[str] = set()
    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if str(path) in blocked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    return blocked


def test_an_unreadable_folder_is_an_error_and_cancels_nothing(invoke, site, unreadable):
    site.write_post("sub/later.md", 'title = "Later"\npublish_at = 2027-07-01T10:00:00')
    assert invoke(site, "run", "--once").exit_code == 0
    unreadable.add(str(site.posts / "sub"))

    for command in (["check"], ["run", "--once"]):
        result = invoke(site, *command)
        assert result.exit_code == 2, result.stderr
        assert "posts/sub/: cannot read this folder (Permission denied)" in result.stderr
    assert states(site) == {"sub/later/en/rss/post": "pending"}


def test_the_daemon_watcher_keeps_the_posts_of_an_unreadable_folder(site, clock, unreadable):
    from publisher.app.runner import Runner
    from publisher.channels import build_channels
    from publisher.core.watch import PostWatcher

    site.write_post("sub/later.md", 'title = "Later"\npublish_at = 2027-07-01T10:00:00')
    config = site.config()
    ledger = Ledger.open(config.state_url)
    runner = Runner(config, ledger, build_channels(config), clock)
    watcher = PostWatcher(config)
    watcher.scan()
    runner.sync(watcher.result())
    unreadable.add(str(site.posts / "sub"))
    changes = watcher.scan()
    assert [e.path for e in changes.errors] == ["posts/sub/"]
    runner.sync(watcher.result())
    assert states(site) == {"sub/later/en/rss/post": "pending"}
    unreadable.clear()
    assert watcher.scan().errors == ()
    runner.sync(watcher.result())
    assert states(site) == {"sub/later/en/rss/post": "pending"}


# -- 1. the ledger is never silently replaced ----------------------------------------------------


def test_an_emptied_ledger_is_refused_by_every_command(invoke, site):
    due_post(site)
    assert invoke(site, "run", "--once").exit_code == 0
    ledger = site.root / "state/publisher.db"
    ledger.write_bytes(b"")  # `: > state/publisher.db`
    for command in (["run", "--once"], ["status"], ["preview"], ["retry", "--failed"]):
        result = invoke(site, *command)
        assert result.exit_code == 2, (command, result.stderr)
        assert f"the ledger {ledger} is an empty file (0 bytes)" in result.stderr
        assert "restore" in result.stderr
    assert ledger.read_bytes() == b""


def test_a_ledger_folder_that_cannot_be_written_is_a_clear_error(invoke, site):
    (site.root / "state").write_text("a file where the ledger's folder should be")
    due_post(site)
    result = invoke(site, "run", "--once")
    assert result.exit_code == 2
    assert "state" in result.stderr and "unexpected" not in result.stderr
    assert "writable" in result.stderr


def test_a_new_ledger_looks_for_overdue_posts_before_sending(invoke, site, graph):
    site.write_config(site_config(RSS_CHANNELS + facebook(graph)))
    due_post(site)
    env = {ENV: graph.token}
    assert invoke(site, "run", "--once", env=env).exit_code == 0
    feed = (site.root / "public/feed.xml").read_text(encoding="utf-8")
    assert [r.method for r in graph.requests] == ["GET", "POST"]

    for ledger in (site.root / "state").iterdir():  # the ledger is lost
        ledger.unlink()
    graph.requests.clear()
    result = invoke(site, "run", "--once", env=env)
    assert result.exit_code == 0, result.stderr
    assert [r.method for r in graph.requests] == ["GET"]  # found on the Page: not sent again
    assert len(graph.posts) == 1
    rows = {r.id: r for r in Ledger.open(site.config().state_url).rows()}
    assert rows["news/en/facebook/post"].state.value == "sent"
    assert rows["news/en/facebook/post"].remote_id == graph.posts[0]["id"]
    assert rows["news/en/rss/post"].state.value == "sent"  # found in the feed file
    assert (site.root / "public/feed.xml").read_text(encoding="utf-8") == feed


def test_a_new_ledger_sends_what_it_does_not_find_and_waits_when_it_cannot_look(
    invoke, site, graph
):
    site.write_config(site_config(facebook(graph)))
    due_post(site)
    graph.fail_next(2, status=500, method="GET")  # the look-up fails: nothing is sent
    first = invoke(site, "run", "--once", env={ENV: graph.token})
    assert graph.posts == [] and states(site) == {"news/en/facebook/post": "pending"}
    assert first.exit_code == 0
    second = invoke(site, "run", "--once", env={ENV: graph.token})
    assert second.exit_code == 0, second.stderr
    assert len(graph.posts) == 1 and states(site) == {"news/en/facebook/post": "sent"}


# -- 8. images are checked by their bytes where they are named -----------------------------------

PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def png(width: int = 1, height: int = 1) -> bytes:
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return PNG_HEAD + ihdr + zlib.crc32(b"IHDR" + ihdr).to_bytes(4, "big") + b"\x00" * 16


SOCIAL = """
[channels.facebook]
type = "facebook"
page_id = "100000000000001"
token_env = "HARDEN_FB_TOKEN"
languages = ["en"]

[channels.linkedin]
type = "linkedin"
organization_id = "10000001"
token_env = "HARDEN_LI_TOKEN"
languages = ["en"]
"""


def image_post(site: Site, image: str, data: bytes | None) -> None:
    path = site.posts / "media" / image
    path.parent.mkdir(parents=True, exist_ok=True)
    if data is None:
        path.mkdir()
    else:
        path.write_bytes(data)
    site.write_post("pic.md", f'title = "Pic"\npublish_at = 2027-07-01T10:00:00\n'
                    f'image = "media/{image}"\nimage_alt = "A picture"')  # fmt: skip


@pytest.mark.parametrize(
    ("name", "data", "facebook_error", "linkedin_error"),
    [
        ("photo.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 40, "is WEBP", "is WEBP"),
        (
            "logo.svg",
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
            "is SVG",
            "is SVG",
        ),
        ("notes.jpg", b"just some text, not a JPEG at all", "not an image", "not an image"),
        ("empty.png", b"", "empty file (0 bytes)", "empty file (0 bytes)"),
        ("scan.bmp", b"BM" + b"\x00" * 60, None, "is BMP; LinkedIn takes JPEG/PNG/GIF"),
        ("huge.png", png(7000, 6000), None, "42,000,000 pixels; LinkedIn takes at most 36,152,320"),
    ],
)
def test_check_reports_image_problems_per_channel_by_their_bytes(
    invoke, site, name, data, facebook_error, linkedin_error
):
    site.write_config(site_config(SOCIAL))
    image_post(site, name, data)
    result = invoke(site, "check")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    linkedin = [line for line in lines if "pic/en/linkedin/post" in line]
    facebook = [line for line in lines if "pic/en/facebook/post" in line]
    assert linkedin and linkedin_error in linkedin[0]
    assert (facebook_error in facebook[0]) if facebook_error else not facebook
    assert "shorten the text" not in result.stderr

    preview = invoke(site, "preview").stdout
    assert "will not be sent: pic/en/linkedin/post: " in preview and linkedin_error in preview


def test_facebook_refuses_photos_over_10_mb(tmp_path):
    from publisher.channels.facebook import image_problems

    big = tmp_path / "big.png"
    with big.open("wb") as handle:
        handle.write(png(100, 100))
        handle.truncate(11 * 1024 * 1024)
    assert image_problems(big) == ["the image big.png has 11.0 MB; Facebook takes at most 10 MB"]
    ok = tmp_path / "ok.png"
    ok.write_bytes(png(100, 100))
    assert image_problems(ok) == []


def test_an_image_that_is_a_folder_is_named_as_such(invoke, site):
    site.write_config(site_config(SOCIAL))
    image_post(site, "folder.png", None)
    result = invoke(site, "check")
    assert result.exit_code == 2
    assert "image 'media/folder.png' is a folder, not an image file" in result.stderr


def test_queue_refuses_an_image_the_channel_cannot_take_with_an_image_hint(invoke, site, tmp_path):
    site.write_config(site_config(SOCIAL))
    outside = tmp_path / "incoming"
    (outside / "media").mkdir(parents=True)
    (outside / "media/photo.jpg").write_bytes(b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 40)
    (outside / "news.md").write_text('+++\ntitle = "Pic"\npublish_at = 2027-07-01T10:00:00\n'
                                     'image = "media/photo.jpg"\n+++\nText.\n')  # fmt: skip
    result = invoke(site, "queue", str(outside / "news.md"))
    assert result.exit_code == 2
    assert "is WEBP" in result.stderr and "shorten" not in result.stderr
    assert not (site.posts / "news.md").exists()


def test_run_fails_an_unusable_image_before_any_request(invoke, site, graph):
    site.write_config(site_config(facebook(graph)))
    image_post(site, "empty.png", b"")
    site.write_post(
        "pic.md", 'title = "Pic"\npublish_at = 2027-06-01T13:55:00\nimage = "media/empty.png"'
    )
    result = invoke(site, "run", "--once", env={ENV: graph.token})
    assert result.exit_code == 1
    assert "empty file (0 bytes)" in result.stderr
    assert graph.requests == []
    assert states(site) == {"pic/en/facebook/post": "failed"}


# -- 9, 10, 11. uncertain sends, Facebook 368, a slow listing ------------------------------------


def test_an_uncertain_send_waits_60_s_and_reconciles_from_its_draft_without_the_file(
    invoke, site, graph, clock
):
    site.write_config(site_config(facebook(graph)))
    due_post(site)
    env = {ENV: graph.token}
    graph.fail_next(2, status=500, method="POST")  # a 500; this time nothing was created
    assert invoke(site, "run", "--once", env=env).exit_code == 1
    assert states(site) == {"news/en/facebook/post": "uncertain"}
    (site.posts / "news.md").unlink()  # the post file is gone: the recorded draft is enough

    clock.advance(seconds=30)  # the listing may lag: not re-sent yet
    invoke(site, "run", "--once", env=env)
    assert states(site) == {"news/en/facebook/post": "uncertain"}
    assert [r.method for r in graph.requests].count("POST") == 1

    clock.advance(seconds=31)
    invoke(site, "run", "--once", env=env)
    # Read 61 s after the attempt, still not there: no longer uncertain; as its file is gone
    # it waits for the file (and is cancelled by the next sync) instead of being sent.
    assert states(site)["news/en/facebook/post"] in ("retrying", "pending", "cancelled")
    assert [r.method for r in graph.requests].count("POST") == 1


def test_an_uncertain_send_is_found_from_its_draft_when_the_file_is_gone(
    invoke, site, graph, clock
):
    site.write_config(site_config(facebook(graph)))
    due_post(site)
    env = {ENV: graph.token}
    graph.fail_next(2, status=500, create=True, method="POST")
    assert invoke(site, "run", "--once", env=env).exit_code == 1
    (site.posts / "news.md").unlink()
    result = invoke(site, "run", "--once", env=env)
    assert result.exit_code == 0, result.stderr
    assert states(site) == {"news/en/facebook/post": "sent"}
    assert len(graph.posts) == 1


def test_facebook_368_blocked_is_retried_no_sooner_than_an_hour(invoke, site, graph, clock):
    site.write_config(site_config(facebook(graph)))
    due_post(site)
    env = {ENV: graph.token}
    graph.fail_next(368, method="POST")
    invoke(site, "run", "--once", env=env)
    row = Ledger.open(site.config().state_url).get("news/en/facebook/post")
    assert row is not None and row.state.value == "retrying"
    assert row.next_attempt_at is not None
    assert (
        row.next_attempt_at.replace(tzinfo=None) - clock().replace(tzinfo=None)
    ).total_seconds() >= 3600
    clock.advance(minutes=59)
    invoke(site, "run", "--once", env=env)
    assert graph.posts == []
    clock.advance(minutes=2)
    assert invoke(site, "run", "--once", env=env).exit_code == 0
    assert len(graph.posts) == 1


# -- 7, 12 and feed errors: RSS ----------------------------------------------------------------


def test_rss_images_with_the_same_name_do_not_overwrite_each_other(invoke, site):
    (site.posts / "media").mkdir()
    (site.posts / "media/x.gif").write_bytes(b"GIF89a" + b"\x01\x00\x01\x00" + b"one")
    (site.posts / "x.gif").write_bytes(b"GIF89a" + b"\x01\x00\x01\x00" + b"two")
    site.write_post("a.md", 'title = "A"\npublish_at = 2027-06-01T09:00:00\nimage = "media/x.gif"')
    site.write_post("b.md", 'title = "B"\npublish_at = 2027-06-01T09:00:00\nimage = "x.gif"')
    assert invoke(site, "run", "--once").exit_code == 0
    public = site.root / "public/media"
    assert (public / "media/x.gif").read_bytes().endswith(b"one")
    assert (public / "x.gif").read_bytes().endswith(b"two")
    xml = (site.root / "public/feed.xml").read_text(encoding="utf-8")
    assert 'url="https://example.org/s3chem/media/media/x.gif"' in xml
    assert 'url="https://example.org/s3chem/media/x.gif"' in xml


def test_rss_description_is_html_text_and_empty_tags_are_dropped(invoke, site):
    import feedparser

    site.write_post("amp.md", 'title = "R&D"\npublish_at = 2027-06-01T09:00:00\n'
                    'tags = ["S3Chem", "", "  "]', "Research & development in 3 < 4 regions.")  # fmt: skip
    assert invoke(site, "run", "--once").exit_code == 0
    xml = (site.root / "public/feed.xml").read_text(encoding="utf-8")
    assert "<description>Research &#x26;amp; development in 3 &#x26;lt; 4 regions." in xml
    assert "<category></category>" not in xml and "<category>  </category>" not in xml
    entry = feedparser.parse(xml).entries[0]
    assert entry.summary == "Research &amp; development in 3 &lt; 4 regions."
    assert [t.term for t in entry.tags] == ["S3Chem"]


def test_a_feed_that_cannot_be_written_leaves_its_items_unsent(invoke, site, clock):
    (site.root / "public").write_text("a file where the feed's folder should be")
    due_post(site)
    result = invoke(site, "run", "--once")
    assert result.exit_code == 1
    assert "cannot write the feed" in result.stderr and "public/feed.xml" in result.stderr
    assert "unexpected" not in result.stderr
    assert states(site)["news/en/rss/post"] == "retrying"

    (site.root / "public").unlink()  # fixed: the next pass writes it
    clock.advance(minutes=5)
    assert invoke(site, "run", "--once").exit_code == 0
    assert states(site)["news/en/rss/post"] == "sent"
    assert "News" in (site.root / "public/feed.xml").read_text(encoding="utf-8")


# -- 13. queue as strict as check; language suffixes ---------------------------------------------


def test_queue_refuses_a_post_naming_an_unknown_channel_like_check(invoke, site, tmp_path):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    post = incoming / "news.md"
    post.write_text('+++\ntitle = "News"\npublish_at = 2027-07-01T10:00:00\n'
                    'channels = ["rss", "mastodon"]\n+++\nText.\n')  # fmt: skip
    result = invoke(site, "queue", str(post))
    assert result.exit_code == 2
    assert "unknown channel 'mastodon'" in result.stderr
    assert not (site.posts / "news.md").exists()
    site.write_post("news.md", 'title = "News"\npublish_at = 2027-07-01T10:00:00\n'
                    'channels = ["rss", "mastodon"]')  # fmt: skip
    assert "unknown channel 'mastodon'" in invoke(site, "check").stderr


def test_a_suffix_that_is_not_a_configured_language_is_an_error(invoke, site):
    site.write_post("greeting.klingon.md", 'title = "Qapla"\npublish_at = 2027-07-01T10:00:00')
    site.write_post("v1.2-release.md", 'title = "Release"\npublish_at = 2027-07-01T10:00:00')
    result = invoke(site, "check")
    assert result.exit_code == 2
    assert (
        "posts/greeting.klingon.md: language 'klingon' (from the file name) is not configured"
        in result.stderr
    )
    assert "greeting-klingon.md" in result.stderr  # the way out when it is not a language
    assert "v1.2-release" not in result.stderr


# -- the less harmful list ---------------------------------------------------------------------


def test_resolve_takes_only_an_http_url_and_status_shows_ids_escaped(invoke, site, graph, clock):
    site.write_config(site_config(facebook(graph)))
    site.write_post(
        "evil.md", 'id = "evil\\u001b[2Jx"\ntitle = "E"\npublish_at = 2027-06-01T13:55:00'
    )
    graph.fail_next(2, status=500, method="POST")
    assert invoke(site, "run", "--once", env={ENV: graph.token}).exit_code == 2  # bad id
    site.write_post("evil.md", 'title = "E"\npublish_at = 2027-06-01T13:55:00')
    invoke(site, "run", "--once", env={ENV: graph.token})
    row_id = "evil/en/facebook/post"
    assert states(site) == {row_id: "uncertain"}
    for bad in ("javascript:alert(1)", "https://x.example/\nfaked line", "ftp://x.example/a", "x"):
        result = invoke(site, "resolve", row_id, "--sent", bad)
        assert result.exit_code == 2, bad
        assert "is not an http(s) URL" in result.stderr
        assert "\nfaked line" not in result.stderr
    assert states(site) == {row_id: "uncertain"}
    ok = invoke(site, "resolve", row_id, "--sent", "https://www.facebook.com/1_2")
    assert ok.exit_code == 0


def test_status_escapes_control_characters_in_what_it_prints(site):
    from publisher.app.status import status_text
    from publisher.core.models import LedgerRow, State

    row = LedgerRow(id="a\nfailed    2027-01-01 00:00  1x  fake/en/rss/post", post="a", language="en",
                    channel="rss", kind="post", due_at=clock_now(), state=State.FAILED,
                    error="boom\x1b[31m")  # fmt: skip
    text = status_text([row], {("a", "en"): "A\nfake title"}, site.config(), filtered=False)
    assert "\\nfailed" in text and "\\x1b[31m" in text and "A\\nfake title" in text
    assert not any(line.startswith(("failed ", "fake title")) for line in text.splitlines())


def clock_now():
    from datetime import UTC, datetime

    return datetime(2027, 6, 1, 12, 0, tzinfo=UTC)


def test_a_publish_at_years_ago_is_a_warning(invoke, site, tmp_path):
    site.write_post("old.md", 'title = "Old"\npublish_at = 2025-06-01T10:00:00')
    for command in (["check"], ["preview"]):
        result = invoke(site, *command)
        assert (
            "posts/old.md: publish_at 2025-06-01 10:00 is more than 365 days ago" in result.stderr
        )
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "older.md").write_text(
        '+++\ntitle = "Older"\npublish_at = 2024-06-01T10:00:00\n+++\nx\n'
    )
    result = invoke(site, "queue", str(incoming / "older.md"))
    assert result.exit_code == 0 and "more than 365 days ago" in result.stdout


def test_max_attempts_0_is_a_config_error(invoke, site):
    site.write_config(site_config(extra="max_attempts = 0"))
    result = invoke(site, "check")
    assert result.exit_code == 2
    assert "publisher.max_attempts: must be at least 1, got 0" in result.stderr


def test_an_apprise_failure_says_why(site, clock, caplog):
    pytest.importorskip("apprise")
    import logging

    from publisher.app.notify import Notifier

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    site.write_config(site_config(extra="") + '\n[notify]\nurls_env = ["ALERTS"]\n')
    config = site.config()
    secret = f"json://user:s3cretpass@127.0.0.1:{port}/hook"
    notifier = Notifier(config, Ledger.open(config.state_url), clock, {"ALERTS": secret})
    assert notifier.setup()
    with caplog.at_level(logging.DEBUG, logger="publisher"):
        ok, error = notifier._attempt("title", "body")
    assert not ok and error is not None
    assert error.startswith("Apprise reported a failure: ") and "logged no reason" not in error
    assert "s3cretpass" not in error and "s3cretpass" not in caplog.text
    assert "apprise: " in caplog.text
