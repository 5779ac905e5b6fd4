"""The RSS channel: golden feeds, feedparser and xmllint acceptance, sanitizing, exactly once."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import feedparser
import pytest

try:
    from support import IN_CI, Site, site_config
except ImportError:  # tests/ run as a package
    from tests.support import IN_CI, Site, site_config

GOLDEN = Path(__file__).parent / "golden"


def _run(invoke, site: Site) -> None:
    result = invoke(site, "run", "--once")
    assert result.exit_code == 0, result.stderr


def _golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs; UPDATE_GOLDEN=1 to accept"


def test_sample_feeds_match_golden_files(invoke, sample_site: Site) -> None:
    _run(invoke, sample_site)
    _golden("feed.en.xml", (sample_site.root / "public/feed.xml").read_text(encoding="utf-8"))
    _golden("feed.it.xml", (sample_site.root / "public/feed.it.xml").read_text(encoding="utf-8"))


def test_feedparser_reads_the_feed_without_complaint(invoke, sample_site: Site) -> None:
    _run(invoke, sample_site)
    feed = feedparser.parse(str(sample_site.root / "public/feed.it.xml"))
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.feed.language == "it"
    assert [e.title for e in feed.entries] == [
        "Conferenza finale di S3Chem a Maastricht",
        "13ª riunione del Gruppo di lavoro interregionale a Magdeburgo",
    ]
    conference = feed.entries[0]
    assert conference.link == "https://www.interregeurope.eu/s3chem/events/final-conference"
    assert conference.guidislink is False
    assert conference.published_parsed[:4] == (2027, 5, 3, 8)
    enclosure = conference.enclosures[0]
    image = sample_site.posts / "media/maastricht.png"
    # Copied under media/ with its path relative to posts_dir (posts/media/x -> media/media/x).
    assert enclosure.href == "https://example.org/s3chem/media/media/maastricht.png"
    assert int(enclosure.length) == image.stat().st_size
    assert enclosure.type == "image/png"
    copied = sample_site.root / "public/media/media/maastricht.png"
    assert copied.read_bytes() == image.read_bytes()
    assert "Maastricht" in conference.content[0].value
    assert len({e.id for e in feed.entries}) == len(feed.entries)


def test_xmllint_accepts_the_feed(invoke, sample_site: Site) -> None:
    if shutil.which("xmllint") is None:
        if IN_CI:
            pytest.fail("xmllint is not installed, and PUBLISHER_CI=1")
        pytest.skip("xmllint is not installed (apt-get install libxml2-utils)")
    _run(invoke, sample_site)
    for name in ("feed.xml", "feed.it.xml"):
        done = subprocess.run(
            ["xmllint", "--noout", str(sample_site.root / "public" / name)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr


def test_second_run_publishes_nothing_and_leaves_the_feed_alone(invoke, sample_site: Site) -> None:
    _run(invoke, sample_site)
    feed = sample_site.root / "public/feed.xml"
    first = feed.read_bytes()
    stamp = feed.stat().st_mtime_ns
    before = invoke(sample_site, "status", "--json", "--all").stdout
    result = invoke(sample_site, "run", "--once")
    assert result.exit_code == 0
    assert "state=sent" not in result.stderr
    assert feed.read_bytes() == first and feed.stat().st_mtime_ns == stamp
    assert invoke(sample_site, "status", "--json", "--all").stdout == before


def test_feed_html_is_sanitized_and_links_absolute(invoke, site: Site) -> None:
    site.write_post(
        "evil.en.md",
        'title = "Careful"\npublish_at = 2027-06-01T09:00:00',
        '<script>alert("x")</script>\n\n<p onclick="steal()">Hi</p>\n\n[bad](javascript:alert(1)) '
        '<a href="javascript:alert(2)">worse</a> [rel](events/2027) ![pic](img/a.png)',
    )
    _run(invoke, site)
    xml = (site.root / "public/feed.xml").read_text(encoding="utf-8")
    content = feedparser.parse(xml).entries[0].content[0].value
    assert "<script" not in content and "onclick" not in content
    assert "javascript:" not in content.replace("[bad](javascript:alert(1))", "")
    assert 'href="javascript' not in content and "<a>worse</a>" in content
    assert 'href="https://example.org/s3chem/events/2027"' in content
    assert 'src="https://example.org/s3chem/img/a.png"' in content


def test_feed_keeps_newest_max_items(invoke, site: Site) -> None:
    site.write_config(
        site_config().replace(
            'description = "News of S3Chem"', 'description = "News"\nmax_items = 3'
        )
    )
    for day in range(1, 6):
        site.write_post(
            f"n{day}.en.md", f'title = "News {day}"\npublish_at = 2027-05-3{day % 2}T0{day}:00:00'
        )
    _run(invoke, site)
    feed = feedparser.parse(str(site.root / "public/feed.xml"))
    dates = [e.published_parsed for e in feed.entries]
    assert len(feed.entries) == 3
    assert dates == sorted(dates, reverse=True)


def test_no_temporary_files_are_left_beside_the_feed(invoke, sample_site: Site) -> None:
    _run(invoke, sample_site)
    leftovers = [p.name for p in (sample_site.root / "public").rglob(".*")]
    assert leftovers == []


def test_editing_a_sent_post_updates_its_item_and_does_not_repost(
    invoke, clock, site: Site
) -> None:
    post = site.write_post("a.en.md", 'title = "First"\npublish_at = 2027-06-01T09:00:00')
    _run(invoke, site)
    post.write_text(post.read_text().replace("Some text.", "Edited text."), encoding="utf-8")
    clock.advance(hours=1)
    result = invoke(site, "run", "--once")
    assert "state=sent" not in result.stderr
    rows = __import__("json").loads(invoke(site, "status", "--json", "--all").stdout)
    assert [(r["state"], r["changed"]) for r in rows] == [("sent", False)]  # DESIGN §9
    [entry] = feedparser.parse(str(site.root / "public/feed.xml")).entries
    assert "Edited text." in entry.content[0].value


def test_plain_text_is_encoded_the_way_validators_want(invoke, site: Site) -> None:
    site.write_post(
        "amp.en.md", 'title = "Chemistry & <Regions>"\npublish_at = 2027-06-01T09:00:00'
    )
    _run(invoke, site)
    xml = (site.root / "public/feed.xml").read_text(encoding="utf-8")
    assert "<title>Chemistry &#x26; &#x3C;Regions&#x3E;</title>" in xml
    assert feedparser.parse(xml).entries[0].title == "Chemistry & <Regions>"
