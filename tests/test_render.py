"""Rendering: plain text with absolute links for social channels, sanitized HTML for feeds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.core.config import Config, parse_config
from publisher.core.models import Delivery, Post
from publisher.core.render import (
    effective,
    feed_html,
    hashtags,
    length_bound,
    markdown_text,
    social_text,
)

try:
    from helpers import CHANNELS, EVENT, Site, config_text, delivery, make_site
except ImportError:  # tests/ run as a package
    from tests.helpers import CHANNELS, EVENT, Site, config_text, delivery, make_site

PARTNER = """
[channels.fb-partner]
type = "facebook"
page_id = "100000000000002"
token_env = "PUBLISHER_PARTNER_TOKEN"
languages = ["en"]
"""
LINK = "https://example.org/s3chem/final-conference"
FRONT = f"""
title = "Final conference"
publish_at = 2027-05-02T10:00:00
link = "{LINK}"
tags = ["S3Chem", "Interreg Europe"]
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return make_site(tmp_path_factory.mktemp("render"), config_text(CHANNELS + PARTNER))


@pytest.fixture(scope="module")
def config(folder: Site) -> Config:
    return folder.config()


def write(folder: Site, body: str, front: str = FRONT, name: str = "post.md") -> Post:
    folder.post(name, front, body)
    return folder.read(name)


def text_for(
    post: Post, config: Config, channel: str = "facebook", *, link_in_payload: bool = False
) -> str:
    text, _ = social_text(
        delivery(post, channel), config.channels[channel], config, link_in_payload=link_in_payload
    )
    return text


# --- social text ------------------------------------------------------------------------------


def test_social_text_is_title_body_tags_then_link(folder: Site, config: Config) -> None:
    post = write(folder, "We meet in **Maastricht** on *17 June*.\n\nJoin ~~them~~ us!")
    assert text_for(post, config) == (
        "Final conference\n\nWe meet in Maastricht on 17 June.\n\nJoin them us!\n\n"
        f"#S3Chem #InterregEurope\n\n{LINK}"
    )


def test_inline_html_is_stripped_to_its_text(folder: Site, config: Config) -> None:
    post = write(folder, 'A <span class="hl">bright</span> <b>idea</b><script>alert(1)</script>.')
    text = text_for(post, config)
    assert "A bright idea." in text
    assert "<" not in text and "alert" not in text


def test_links_become_text_and_url(folder: Site, config: Config) -> None:
    post = write(folder, "Read [the agenda](https://example.org/agenda.pdf) or <https://x.org/a>.")
    text = text_for(post, config)
    assert "Read the agenda (https://example.org/agenda.pdf) or https://x.org/a." in text


def test_relative_links_are_made_absolute_against_the_posts_link(
    folder: Site, config: Config
) -> None:
    post = write(folder, "See the [programme](programme.html) and [venue](/venue).")
    text = text_for(post, config)
    assert "the programme (https://example.org/s3chem/programme.html)" in text
    assert "venue (https://example.org/venue)" in text


def test_a_relative_link_without_a_post_link_is_a_warning(folder: Site, config: Config) -> None:
    post = write(
        folder, "See the [programme](programme.html).", FRONT.replace(f'link = "{LINK}"', "")
    )
    text, warnings = social_text(
        delivery(post, "facebook"), config.channels["facebook"], config, link_in_payload=False
    )
    assert any("'programme.html'" in w and "relative link" in w for w in warnings)


def test_a_javascript_link_never_reaches_the_text(folder: Site, config: Config) -> None:
    post = write(folder, 'Click <a href="javascript:alert(1)">here</a>.')
    text = text_for(post, config)
    assert "here." in text and "javascript" not in text


def test_hashtags_keep_only_letters_and_digits() -> None:
    tags = ["S3Chem", "Interreg Europe", "green-chemistry", "Région Grand Est", "S3Chem", "!!"]
    assert hashtags(tags) == ["#S3Chem", "#InterregEurope", "#greenchemistry", "#RégionGrandEst"]


def test_the_link_is_left_out_when_the_payload_carries_it(folder: Site, config: Config) -> None:
    post = write(folder, "Body.")
    text = text_for(post, config, link_in_payload=True)
    assert LINK not in text
    assert text.endswith("#S3Chem #InterregEurope")


def test_the_link_is_not_repeated_when_the_text_already_has_it(
    folder: Site, config: Config
) -> None:
    post = write(folder, f"Details: {LINK}")
    assert text_for(post, config).count(LINK) == 1


def test_an_override_text_is_taken_verbatim_by_name_else_by_type(
    folder: Site, config: Config
) -> None:
    front = FRONT + '\n[facebook]\ntext = "By *type*: see [this](x)"\n'
    post = write(folder, "Body.", front)
    assert text_for(post, config, "fb-partner") == (
        f"By *type*: see [this](x)\n\n#S3Chem #InterregEurope\n\n{LINK}"
    )
    named = write(folder, "Body.", front + '\n[fb-partner]\ntext = "Partner text"\n')
    assert text_for(named, config, "fb-partner").startswith("Partner text\n\n")
    assert text_for(named, config, "facebook").startswith("By *type*")
    assert text_for(named, config, "linkedin").startswith("Final conference\n\nBody.")


def test_an_override_link_is_used_and_made_the_base(folder: Site, config: Config) -> None:
    other = "https://partner.example.eu/events/s3chem"
    post = write(folder, "The [map](map.html).", FRONT + f'\n[linkedin]\nlink = "{other}"\n')
    view = effective(delivery(post, "linkedin"), config.channels["linkedin"])
    assert view.link == other
    text = text_for(post, config, "linkedin")
    assert "map (https://partner.example.eu/events/map.html)" in text
    assert text.endswith(other)
    assert effective(delivery(post, "facebook"), config.channels["facebook"]).link == LINK


def test_a_reminder_is_rendered_from_its_template(folder: Site, config: Config) -> None:
    post = write(folder, "Body.", 'tags = ["S3Chem"]\n' + EVENT, "conf.it.md")
    reminder = Delivery(post, "facebook", "reminder-7d", post.publish_at, None, "7d")
    text, warnings = social_text(
        reminder, config.channels["facebook"], config, link_in_payload=False
    )
    assert text == (
        "La prossima settimana: S3Chem final conference in Maastricht, 17 giugno 2027 a "
        f"Maastricht, NL.\n\n#S3Chem\n\n{LINK}"
    )
    assert warnings == []


def test_a_line_break_between_inline_elements_keeps_the_words_apart() -> None:
    text, _ = markdown_text(
        "Speakers: **Anna**\n**Bert**\n[Agenda](https://x.org/a)\n[Map](https://x.org/m)"
    )
    assert "AnnaBert" not in text and ")Map" not in text


def test_the_link_is_appended_when_the_text_only_has_a_longer_url(
    folder: Site, config: Config
) -> None:
    front = FRONT.replace(LINK, "https://example.org/events/")
    post = write(folder, "See the [programme](programme.html).", front)
    text = text_for(post, config)
    assert text.endswith("\n\nhttps://example.org/events/")


# --- feed HTML --------------------------------------------------------------------------------


def test_feed_html_keeps_formatting_and_drops_scripts_handlers_and_javascript() -> None:
    html = feed_html(
        'Hi **there** <script>alert(1)</script><img src="x.png" onerror="alert(1)" alt="X">'
        ' <a href="javascript:alert(1)">bad</a> <a href="JaVaScRiPt:alert(1)">bad2</a>'
        '<iframe src="https://evil.example"></iframe>',
        LINK,
    )
    assert "<strong>there</strong>" in html
    lowered = html.lower()
    assert "<script" not in lowered and "alert" not in lowered
    assert "onerror" not in lowered and "javascript" not in lowered and "iframe" not in lowered
    assert '<img src="https://example.org/s3chem/x.png" alt="X">' in html


def test_feed_html_makes_relative_links_and_images_absolute() -> None:
    html = feed_html(
        "[programme](programme.html) ![Map](media/map.png) [ext](https://a.org/b)", LINK
    )
    assert 'href="https://example.org/s3chem/programme.html"' in html
    assert 'src="https://example.org/s3chem/media/map.png"' in html
    assert 'href="https://a.org/b"' in html


class _Inspector(HTMLParser):
    """Collects the tags and attributes a feed reader would see in the output."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend((name, value or "") for name, value in attrs)


DANGER = [
    "<script>alert(1)</script>", "<SCRIPT SRC=//evil/x.js>", "<script", "</script>",
    '<img src=x onerror="alert(1)">', "<svg onload=alert(1)>", '<a href="javascript:alert(1)">',
    '<a href=" JaVaScRiPt:alert(1)">', '<a href="jav&#x09;ascript:alert(1)">', "</a>",
    "[x](javascript:alert(1))", "<javascript:alert(1)>", '<p style="x" onclick=\'y\'>',
    '<a href="data:text/html,<script>x</script>">', "<iframe src=x>", "<style>", " onmouseover=",
    "<img src=media/a.png>", "[rel](a/b.html)", "**", "_", "\n\n", "<", ">", '"', "'", "=",
    "&#106;avascript:", "<a href='vbscript:x'>", "<object data=x>", "<!--", "-->", "<![CDATA[",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(DANGER) | st.text(max_size=12), max_size=25).map("".join))
def test_feed_html_is_safe_for_any_input(text: str) -> None:
    html = feed_html(text, LINK)
    # Text is escaped, so a literal "<script" can only be a tag.
    assert "<script" not in html.lower()
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    assert not {"script", "style", "iframe", "svg", "object"} & set(inspector.tags)
    for name, value in inspector.attributes:
        assert not name.startswith("on"), (name, html)
        if name in ("href", "src"):
            # The words may stay as text, but never as a link a reader would follow.
            assert value.startswith(("https://", "http://", "mailto:")), (value, html)


# --- the length bound check uses to skip renders ----------------------------------------------

_PIECES = st.sampled_from(
    ["word", " ", "\n", "\n\n", "**b**", "_i_", "[t](rel/page)", "[t](https://x.org/a)",
     "<https://x.org/auto>", "&amp;", "<b>x</b>", '<a href="p">h</a>', "![alt](img.png)",
     "- item\n", "1. one\n", "# head\n", "`code`", "(", ")", "#", "\\(", "> quote\n", "é",
     "[a(b)](x_y/(z))", "@", "{}", "~~s~~", "<i>*</i>"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(body=st.lists(_PIECES, max_size=40).map("".join))
def test_the_length_bound_is_never_below_the_real_text(body: str) -> None:
    config = parse_config(
        {"channels": {"fb": {"type": "facebook", "page_id": "1", "token_env": "T"}}},
        Path("/tmp/config.toml"),
    )
    post = Post(id="p", language="en", path=Path("p.md"), source="p.md", title="Title",
                body=body, publish_at=datetime(2027, 1, 1, tzinfo=UTC), timezone="UTC",
                link="https://example.org/base/", tags=("S3Chem", "Inter reg"))  # fmt: skip
    from publisher.channels.little import RESERVED, commentary

    for d in (delivery(post, "fb"), delivery(replace(post, link=""), "fb")):
        bound = length_bound(d, config.channels["fb"], config)
        text, _ = social_text(d, config.channels["fb"], config, link_in_payload=False)
        assert bound is None or bound >= len(text), (bound, len(text), text)
        escaped_bound = length_bound(d, config.channels["fb"], config, RESERVED)
        escaped, _ = commentary(d, config.channels["fb"], config, link_in_payload=False)
        assert escaped_bound is None or escaped_bound >= len(escaped), (escaped_bound, escaped)
