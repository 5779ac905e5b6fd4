"""The preview page as HTML: golden file, escaping, folds, counts, states, images, plugin cards."""

from __future__ import annotations

import base64
import dataclasses
import os
import re
import struct
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path

from support import Site

from publisher.app import page_images
from publisher.app.page_text import fold_point, reader_text
from publisher.app.preview import Entry
from publisher.app.preview_page import render_page
from publisher.core.config import ChannelConfig
from publisher.core.models import Delivery, Draft

GOLDEN = Path(__file__).parent / "golden" / "preview.html"

SOCIAL = """
[channels.facebook]
type = "facebook"
page_id = "100000000000001"
token_env = "PUBLISHER_FACEBOOK_TOKEN"
display_name = "S3Chem Interreg Europe"
languages = ["en", "it"]

[channels.linkedin]
type = "linkedin"
organization_id = "10000001"
token_env = "PUBLISHER_LINKEDIN_TOKEN"
languages = ["en"]

[channels.rss]
type = "rss"
path = "public/feed.xml"
title = "S3Chem news"
link = "https://example.org/s3chem"
feed_url = "https://example.org/s3chem/feed.xml"
languages = ["en"]
"""


def png(width: int, height: int, noise: bool = False) -> bytes:
    """A valid RGB PNG; with ``noise`` it does not compress, so it is big."""
    row = bytes(range(256)) * (width * 3 // 256 + 1)
    raw = b"".join(
        b"\x00" + (os.urandom(width * 3) if noise else row[: width * 3]) for _ in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def social_site(site: Site) -> Site:
    from support import site_config

    site.write_config(site_config(SOCIAL))
    return site


def page(invoke, site: Site, *args: str) -> str:
    out = site.root / "page.html"
    result = invoke(site, "preview", "--format", "html", "-o", str(out), *args)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def cards_of(html: str) -> dict[str, str]:
    """Each card's HTML by its delivery id."""
    found = re.findall(r'(<article class="card".*?</article>)', html, re.S)
    return {re.search(r'data-delivery="([^"]*)"', c).group(1): c for c in found}


def test_golden_page_of_a_small_site(invoke, clock, site: Site) -> None:
    clock.now = datetime(2027, 1, 1, 8, 0, tzinfo=UTC)
    social_site(site)
    (site.posts / "media").mkdir()
    (site.posts / "media" / "dot.png").write_bytes(png(4, 2))
    site.write_post(
        "news.en.md",
        """
        id = "news"
        title = "Working group in Magdeburg"
        publish_at = 2027-02-10T10:00:00
        link = "https://www.example.org/s3chem/news/magdeburg"
        tags = ["S3Chem"]
        """,
        "The partners met in **Magdeburg** (Saxony-Anhalt).",
    )
    site.write_post(
        "event.en.md",
        """
        id = "event"
        title = "Final conference"
        publish_at = 2027-05-03T10:00:00
        image = "media/dot.png"
        image_alt = "A dot"
        channels = ["facebook", "linkedin"]
        [event]
        start = 2027-06-17T09:00:00
        location = "Maastricht, NL"
        reminders = ["1d"]
        """,
        "See you in Maastricht.",
    )
    html = page(invoke, site)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(html, encoding="utf-8")
    assert html == GOLDEN.read_text(encoding="utf-8"), (
        "the page changed; if on purpose, run again with UPDATE_GOLDEN=1 and review "
        "the diff of tests/golden/preview.html"
    )


def test_every_text_from_a_post_file_is_escaped(invoke, clock, site: Site) -> None:
    clock.now = datetime(2027, 1, 1, tzinfo=UTC)
    social_site(site)
    site.write_post(
        "x.en.md",
        """
        title = "<script>alert('title')</script>"
        publish_at = 2027-02-10T10:00:00
        link = "https://example.org/a?b=1&c=<2>"
        tags = ["x\\"onmouseover=alert(1)"]
        """,
        "<img src=x onerror=alert(1)> <b onclick=alert(2)>bold</b> <script>alert(3)</script>",
    )
    html = page(invoke, site)
    assert "<script" not in html
    assert "onerror" not in html.replace("onerror=alert(1)&gt;", "")
    assert "onclick" not in html
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in html
    assert 'src="x"' not in html and "src=x" not in html.replace("&lt;img src=x", "")


def test_long_texts_fold_where_the_network_does_and_hold_the_whole_text(
    invoke, clock, site: Site
) -> None:
    clock.now = datetime(2027, 1, 1, tzinfo=UTC)
    social_site(site)
    body = " ".join(f"word{i}" for i in range(150))
    site.write_post("long.en.md", 'title = "Long"\npublish_at = 2027-02-10T10:00:00', body)
    site.write_post("short.en.md", 'title = "Short"\npublish_at = 2027-02-11T10:00:00', "Hi.")
    cards = cards_of(page(invoke, site))
    long_fb = cards["long/en/facebook/post"]
    assert 'data-label="… See more"' in long_fb and "word149" in long_fb
    assert 'data-label="…see more"' in cards["long/en/linkedin/post"]
    assert "see-more" not in cards["short/en/facebook/post"]
    assert "see-more" not in cards["short/en/linkedin/post"]


def test_linkedin_text_is_shown_without_escapes_and_typed_hashes_are_no_hashtags() -> None:
    r = reader_text("Lyon \\(AURA\\) \\#typed\n\n#S3Chem", escapes=True, all_tags=False)
    assert r.plain == "Lyon (AURA) #typed\n\n#S3Chem"
    assert '<span class="tag">#S3Chem</span>' in r.head
    assert '<span class="tag">#typed</span>' not in r.head
    fb = reader_text("More (https://example.org/a_b).\n#Tag")
    assert '<a class="url" href="https://example.org/a_b"' in fb.head
    assert '<span class="tag">#Tag</span>' in fb.head


def test_the_fold_never_splits_a_word_and_counts_lines() -> None:
    text = "alpha beta gamma delta"
    cut = fold_point(text, 8, None)
    assert text[:cut] == "alpha"
    assert fold_point("a\nb\nc\nd", None, 3) == 5
    assert fold_point("short", 100, 5) is None


def test_counts_against_the_limit_and_errors_beside_the_card(invoke, clock, site: Site) -> None:
    clock.now = datetime(2027, 1, 1, tzinfo=UTC)
    social_site(site)
    site.write_post(
        "big.en.md",
        f'title = "Big"\npublish_at = 2027-02-10T10:00:00\n[linkedin]\ntext = "{"(x) " * 800}"',
    )
    card = cards_of(page(invoke, site))["big/en/linkedin/post"]
    assert re.search(r'<p class="count over">4,799 / 3,000 .*over the limit of 3,000', card)
    assert re.search(r'<li data-role="warning" class="error">will not be sent: .*3000', card)


def test_reminders_link_their_announcement_and_translations_each_other(
    invoke, clock, sample_site: Site
) -> None:
    clock.now = datetime(2027, 1, 1, tzinfo=UTC)
    social_site(sample_site)
    html = page(invoke, sample_site)
    cards = cards_of(html)
    reminder = cards["2027-06-final-conference/en/facebook/reminder-7d"]
    announcement = cards["2027-06-final-conference/en/facebook/post"]
    anchor = re.search(r'id="(d\d+)"', announcement).group(1)
    assert "reminder · 7d before" in reminder
    assert f'<a href="#{anchor}">its announcement</a>' in reminder
    assert "Also in: <a href=" in announcement and "it · facebook" in announcement
    assert html.count("base64,") == 1, "one image, embedded once however many cards show it"


def _entry(delivery: Delivery, draft: Draft, state: str = "pending", url: str | None = None):
    return Entry(delivery, state, draft.payload, draft.warnings, delivery.due_at, url, draft.text)


def test_a_plugin_type_previews_in_the_generic_card_and_sent_shows_its_url(
    clock, sample_site: Site
) -> None:
    from publisher.core.posts import read_posts

    config = sample_site.config()
    pigeon = ChannelConfig(name="pigeon", type="carrier-pigeon", languages=("en",), reminders=False)
    config = dataclasses.replace(config, channels={**config.channels, "pigeon": pigeon})
    post = next(p for p in read_posts(config).posts if p.language == "en")
    d = Delivery(post, "pigeon", "post", post.publish_at)
    draft = Draft(d.id, "pigeon", {"note": "<coo>"}, text="Coo #coo <b>")

    class Pigeon:
        limit = 5

    html = render_page([_entry(d, draft, "sent", "https://pigeon.example/1")], {"pigeon": Pigeon()},
                       config, clock.now)  # fmt: skip
    card = cards_of(html)[d.id]
    assert 'data-channel="pigeon"' in card and 'data-state="sent"' in card
    assert (
        '<div class="text" data-role="text" lang="en">Coo <span class="tag">#coo</span> &lt;b&gt;'
        in card
    )
    assert "&#34;note&#34;: &#34;&lt;coo&gt;&#34;" in card
    assert '<p class="count over">12 / 5 characters' in card
    assert '<a href="https://pigeon.example/1"' in card


def test_small_images_embed_as_they_are_big_ones_as_thumbnails_or_a_placeholder(
    tmp_path: Path, monkeypatch
) -> None:
    small, big = tmp_path / "small.png", tmp_path / "big.png"
    small.write_bytes(png(30, 20))
    big.write_bytes(png(1600, 900, noise=True))
    assert big.stat().st_size > page_images.EMBED_AS_IS
    table = page_images.ImageTable()
    kept = table.get(small)
    assert (kept.width, kept.height) == (30, 20)
    assert base64.b64decode(kept.uri.split(",", 1)[1]) == small.read_bytes()
    monkeypatch.setitem(sys.modules, "PIL", None)  # as if Pillow were not installed
    missing = page_images.ImageTable().get(big)
    assert missing.uri == "" and (missing.width, missing.height) == (1600, 900)
    assert "thumbnails" in missing.note
    monkeypatch.undo()
    try:
        import PIL  # noqa: F401
    except ImportError:
        return
    thumb = page_images.ImageTable().get(big)
    data = base64.b64decode(thumb.uri.split(",", 1)[1])
    assert len(data) < big.stat().st_size / 4
    assert page_images.sniff(data)[1] == page_images.THUMB_WIDTH


def test_image_sizes_are_read_from_the_header_bytes(tmp_path: Path) -> None:
    jpeg = (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\xff\xc0\x00\x11\x08\x01\xe0\x02\x80\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    )
    assert page_images.sniff(jpeg) == ("jpeg", 640, 480)
    assert page_images.sniff(b"GIF89a\x10\x00\x08\x00") == ("gif", 16, 8)
    assert page_images.sniff(b"not an image") is None


def test_open_writes_a_file_and_hands_it_to_the_browser(invoke, clock, site: Site) -> None:
    clock.now = datetime(2027, 1, 1, tzinfo=UTC)
    site.write_post("a.en.md", 'title = "A"\npublish_at = 2027-02-10T10:00:00')
    opened = site.root / "opened.txt"
    script = site.root / "browser.py"
    script.write_text(f"import sys; open({str(opened)!r}, 'w').write(sys.argv[1])\n")
    env = {"BROWSER": f"{sys.executable} {script} %s"}
    result = invoke(site, "preview", "--format", "html", "--open", env=env)
    assert result.exit_code == 0, result.output
    url = opened.read_text()
    assert url.startswith("file:///") and url.endswith(".html")
    page_file = Path(url.removeprefix("file://"))
    assert 'data-delivery="a/en/rss/post"' in page_file.read_text(encoding="utf-8")
    assert f"wrote {page_file}" in result.stderr
    page_file.unlink()


def test_sent_deliveries_show_their_state_and_url_from_the_ledger(
    invoke, clock, site: Site
) -> None:
    site.write_post(
        "a.en.md",
        'title = "A"\npublish_at = 2027-02-10T10:00:00\nlink = "https://example.org/s3chem/a"',
    )
    site.write_post("b.en.md", 'title = "B"\npublish_at = 2027-03-10T10:00:00')
    clock.now = datetime(2027, 2, 10, 9, 30, tzinfo=UTC)
    assert invoke(site, "run", "--once").exit_code == 0
    cards = cards_of(page(invoke, site, "--from", "2027-02-01"))
    sent, pending = cards["a/en/rss/post"], cards["b/en/rss/post"]
    assert 'data-state="sent"' in sent
    assert 'Sent: <a href="https://example.org/s3chem/a"' in sent
    assert 'data-state="pending"' in pending and "Sent:" not in pending


def test_open_needs_the_html_format(invoke, site: Site) -> None:
    result = invoke(site, "preview", "--open")
    assert result.exit_code == 2
    assert "--open opens the page of --format html" in result.stderr
