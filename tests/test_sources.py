"""Feed sources: the ``[sources.*]`` config and what each real-world feed shape becomes.

The sample feeds in ``tests/data/feeds`` imitate what common generators write (each file's
header says which); these tests pin what publisher makes of them: identity, title, date,
tags, image and the Markdown text.
"""

from __future__ import annotations

import textwrap
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from publisher.app.feed_fetch import Fetched, SourceError
from publisher.app.feed_items import item_key, parse_feed, post_file
from publisher.core.config import parse_config
from publisher.core.errors import ConfigError
from publisher.core.posts import parse_post

DATA = Path(__file__).resolve().parent / "data" / "feeds"
FEED_URL = "https://news.example.org/feed"

BASE = """
[publisher]
timezone = "Europe/Berlin"
languages = ["en", "de"]
[channels.facebook]
type = "facebook"
page_id = "1"
token_env = "PUBLISHER_FACEBOOK_TOKEN"
languages = ["en"]
[channels.linkedin]
type = "linkedin"
organization_id = "2"
token_env = "PUBLISHER_LINKEDIN_TOKEN"
[channels.rss]
type = "rss"
path = "public/feed.xml"
title = "t"
link = "https://example.org"
feed_url = "https://example.org/feed.xml"
languages = ["en"]
"""


def config_with(source: str, tmp_path: Path):
    text = BASE + textwrap.dedent(source)
    return parse_config(tomllib.loads(text), tmp_path / "config.toml")


def test_a_source_gets_defaults_and_goes_to_the_social_channels_of_its_language(tmp_path):
    config = config_with('[sources.website]\ntype = "feed"\nurl = "https://e.org/rss"\n', tmp_path)
    source = config.sources["website"]
    assert source.channels == ("facebook", "linkedin")  # not the RSS feed: it is feed-like
    assert (source.language, source.mode, source.dir, source.max_new) == (
        "en", "review", "imported/website", 5)  # fmt: skip
    assert source.every.total_seconds() == 1800 and source.timeout.total_seconds() == 20
    german = config_with('[sources.de]\ntype = "feed"\nurl = "https://e.org/de"\nlanguage = "de"\n',
                         tmp_path)  # fmt: skip
    assert german.sources["de"].channels == ("linkedin",)


@pytest.mark.parametrize(
    ("table", "where", "hint"),
    [
        ('url = "http://example.org/rss"', "sources.web.url", "https://"),
        ('url = "https://e.org/rss"\nmode = "auto"', "sources.web.mode", "review"),
        ('url = "https://e.org/rss"\nevery = "soon"', "sources.web.every", "60s"),
        ('url = "https://e.org/rss"\nfrequency = "1h"', "sources.web.frequency", "known keys"),
        ('url = "https://e.org/rss"\nchannels = ["mastodon"]', "sources.web.channels", "facebook"),
        ('url = "https://e.org/rss"\nlanguage = "it"', "sources.web.language", "languages"),
        ('url = "https://e.org/rss"\ndir = "../elsewhere"', "sources.web.dir", "relative"),
        ('url = "https://e.org/rss"\nmax_new = -1', "sources.web.max_new", "e.g."),
        ("", "sources.web.url", "add url"),
    ],
)
def test_a_bad_source_table_is_an_error_naming_its_key(tmp_path, table, where, hint):
    with pytest.raises(ConfigError) as caught:
        config_with(f'[sources.web]\ntype = "feed"\n{table}\n', tmp_path)
    assert caught.value.message.startswith(where)
    assert hint in caught.value.hint


def test_only_feed_sources_exist_and_loopback_http_is_allowed(tmp_path):
    with pytest.raises(ConfigError, match=r"sources.web.type: 'mail'"):
        config_with('[sources.web]\ntype = "mail"\nurl = "https://e.org"\n', tmp_path)
    local = config_with(
        '[sources.web]\ntype = "feed"\nurl = "http://127.0.0.1:8080/rss"\n', tmp_path
    )
    assert local.sources["web"].url == "http://127.0.0.1:8080/rss"


def items(name: str, content_type: str = "application/rss+xml"):
    body = (DATA / name).read_bytes()
    return parse_feed(Fetched(200, body, {"Content-Type": content_type}, FEED_URL), "source 'x'")


def test_wordpress_uses_the_guid_content_encoded_and_drops_scripts():
    first, second = items("wordpress.xml")
    assert first.identity == "https://news.example.org/?p=1187"
    assert first.key == item_key(first.identity) and len(first.key) == 12
    assert first.tags == ("NewsEvents", "Studyvisits")
    assert first.published == datetime(2026, 11, 26, 9, 12, 44, tzinfo=UTC)
    assert first.image_url is None  # WordPress core puts images only inside the HTML
    made = post_file(first, source=_source(), found_at=datetime(2026, 11, 27, tzinfo=UTC),
                     timezone="Europe/Berlin")  # fmt: skip
    assert "**Tarragona**" in made.text
    assert "[agenda](https://news.example.org/wp-content/uploads/2026/11/agenda.pdf)" in made.text
    assert "alert" not in made.text and "<script" not in made.text
    assert "- one page per practice" in post_file(second, source=_source(),
        found_at=datetime(2026, 11, 27, tzinfo=UTC), timezone="UTC").text  # fmt: skip


def test_drupal_relative_links_become_absolute_and_a_pdf_enclosure_is_no_image():
    plans, workshop = items("drupal.xml")
    assert plans.identity == "42 at https://news.example.org"
    assert plans.image_url == "https://news.example.org/sites/default/files/2026-11/plans.png"
    assert workshop.image_url is None
    assert plans.tags == ("Actionplans",)
    made = post_file(plans, source=_source(), found_at=datetime(2026, 11, 27, tzinfo=UTC),
                     timezone="UTC")  # fmt: skip
    body = made.text.split("+++\n", 2)[2]
    assert body.startswith("All eight *action plans*")  # Drupal's repeated title is dropped
    assert "(https://news.example.org/node/41)" in body


def test_rss_091_in_iso_8859_1_has_no_guid_so_the_link_is_the_identity():
    lyon, _ = items("rss091.xml")
    assert lyon.title == "Réunion des partenaires à Lyon"
    assert lyon.identity == "https://news.example.org/actualites/reunion-lyon.html"
    assert lyon.published is None


def test_rss_092_untitled_items_take_their_first_sentence_and_the_text_tells_them_apart():
    newsletter, thanks = items("rss092.xml")
    assert newsletter.image_url == "https://news.example.org/weblog/images/newsletter7.jpg"
    made = post_file(newsletter, source=_source(), found_at=datetime(2026, 11, 27, tzinfo=UTC),
                     timezone="UTC")  # fmt: skip
    assert made.title == "The seventh newsletter is out."
    assert thanks.identity.startswith("title+date:") and thanks.link == ""
    assert thanks.key != newsletter.key


def test_rss_10_rdf_about_is_the_identity_and_dc_subjects_are_tags():
    plant, skills = items("rss10.rdf")
    assert plant.identity == "https://news.example.org/news/2026/11/biobased"
    assert plant.published == datetime(2026, 11, 20, 15, 45, tzinfo=UTC)
    assert plant.tags == ("Bioeconomy", "Pilotplants")
    assert "**bio-based**" in post_file(plant, source=_source(), found_at=plant.published,
                                        timezone="UTC").text  # fmt: skip


def test_rss_20_media_content_wins_over_the_thumbnail_and_handlers_are_stripped():
    conference, newsletter = items("rss20.xml")
    assert conference.image_url == "https://news.example.org/images/maastricht.jpg"
    assert newsletter.image_url == "https://news.example.org/images/newsletter.png"
    assert conference.tags == ("S3Chem", "Events")
    assert newsletter.identity == "https://news.example.org/news/newsletter-7/"
    text = post_file(conference, source=_source(), found_at=conference.published,
                     timezone="UTC").text  # fmt: skip
    assert "[here](https://news.example.org/news/final-conference/register)" in text
    assert "onclick" not in text and "steal" not in text


def test_atom_in_utf_16_resolves_xml_base_and_reads_both_html_and_xhtml_content():
    workshop, partners = items("atom-utf16.xml", "application/atom+xml")
    assert workshop.title == "Chemie & Klima: Workshop in Köln"
    assert workshop.link == "https://news.example.org/atom/beitraege/19"
    assert workshop.image_url == "https://news.example.org/atom/bilder/koeln.png"
    assert workshop.published == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    made = post_file(partners, source=_source(language="de"), found_at=workshop.published,
                     timezone="UTC")  # fmt: skip
    assert "Zwei *neue* Partner: Straße „Süd“." in made.text


def test_a_web_page_is_no_feed_and_the_error_names_the_feed_it_links_to():
    with pytest.raises(SourceError) as caught:
        items("news-page.html", "text/html; charset=utf-8")
    assert "is a web page, not a feed" in caught.value.message
    assert "https://news.example.org/news/rss.xml" in caught.value.hint
    with pytest.raises(SourceError, match="not a readable feed"):
        items("broken.xml")


def test_the_post_file_is_an_ordinary_post_with_a_toml_safe_title(tmp_path):
    config = config_with('[sources.web]\ntype = "feed"\nurl = "https://e.org/rss"\n'
                         'tags = ["S3Chem", "events"]\n', tmp_path)  # fmt: skip
    conference, _ = items("rss20.xml")
    tricky = conference.__class__(**{**conference.__dict__, "title": 'Say "hi" \\ +++ \x7f'})
    made = post_file(tricky, source=config.sources["web"], found_at=conference.published,
                     timezone=config.timezone)  # fmt: skip
    path = tmp_path / "posts" / "imported" / "web" / f"{made.stem}.en.md"
    post = parse_post(made.text, path, config)
    assert post.title == 'Say "hi" \\ +++ \x7f'
    assert post.id == f"web/{conference.key}"
    assert post.draft is True and post.channels == ("facebook", "linkedin")
    assert post.tags == ("S3Chem", "Events")  # the item's own spelling of a shared tag wins
    assert post.publish_at == conference.published  # review: the item's own date
    assert made.stem == "2026-11-25-say-hi"


def _source(language: str = "en"):
    from datetime import timedelta

    from publisher.core.sources import SourceConfig

    return SourceConfig(name="x", url=FEED_URL, language=language, every=timedelta(minutes=30),
                        mode="review", delay=timedelta(hours=1), channels=("facebook",),
                        dir="imported/x", tags=(), max_new=5, timeout=timedelta(seconds=20))  # fmt: skip


def test_the_example_configs_commented_source_is_valid_once_uncommented(tmp_path):
    from publisher.core.config import load_config

    example = (Path(__file__).resolve().parent.parent / "config.example.toml").read_text()
    assert "\n[sources." not in example  # commented out: the quick start stays offline
    block = example.split("# [sources.website]", 1)[1].split("\n\n", 1)[0]
    lines = ["[sources.website]"] + [ln.removeprefix("# ") for ln in block.strip().splitlines()]
    path = tmp_path / "config.toml"
    path.write_text(example + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    source = load_config(path).sources["website"]
    assert source.channels == ("facebook", "linkedin") and source.mode == "review"
