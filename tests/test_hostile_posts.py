"""Property test: whatever a post file holds, reading it gives a Post or an error naming it.

Hostile files (random TOML of every type, extreme dates, deep nesting, random bytes, control
characters in names) sit beside one good post; the good one is always read and planned.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher.channels import build_channels
from publisher.core.errors import PostError
from publisher.core.plan import plan
from publisher.core.posts import read_posts

try:
    from support import config_text, make_site, post_text
except ImportError:  # tests/ run as a package
    from tests.support import config_text, make_site, post_text

RSS_ONLY = """
[channels.rss]
type = "rss"
path = "public/feed.xml"
title = "S3Chem news"
link = "https://example.org/s3chem"
feed_url = "https://example.org/s3chem/feed.xml"
languages = ["en"]
reminders = true
"""

GOOD = post_text('title = "The good one"\npublish_at = 2027-02-10T10:00:00\nid = "good"')
KEYS = ["id", "title", "publish_at", "timezone", "expires_at", "channels", "link", "image",
        "image_alt", "tags", "draft", "event", "rss", "start", "reminders", "reminder_time",
        "x"]  # fmt: skip


def toml_key(key: str) -> str:
    return json.dumps(key)


def toml_value(value: Any) -> str:
    """A TOML literal for ``value`` (json's string escapes are TOML's, bar surrogates)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        text = repr(value)
        return {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(text, text)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


zones = st.sampled_from([None, UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12))])
scalars = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.booleans(),
    st.datetimes(min_value=datetime.min, max_value=datetime.max, timezones=zones),
    st.dates(),
    st.times(),
    st.sampled_from(
        [
            "7d",
            "99999999999999w",
            "0s",
            "-1d",
            "Europe/Berlin",
            "Nowhere/Else",
            "https://example.org/x",
            "../../etc/passwd",
            "rss",
            "",
        ]
    ),  # fmt: skip
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def front_matter(draw: st.DrawFn) -> str:
    data = draw(st.dictionaries(st.sampled_from(KEYS), values, max_size=8))
    if draw(st.booleans()):
        data.setdefault("title", "A title")
        data.setdefault("publish_at", draw(scalars))
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in data.items()]
    return post_text("\n".join(lines) or "x = 1")


deep = st.integers(min_value=100, max_value=20000).map(
    lambda n: post_text(f'title = "Deep"\npublish_at = 2027-01-01T00:00:00\nx = {"[" * n}{"]" * n}')
)
contents = st.one_of(
    front_matter(),
    deep,
    st.binary(max_size=200),
    st.binary(max_size=200).map(lambda b: b"+++\n" + b + b"\n+++\n"),
    st.text(max_size=200).map(lambda t: f"+++\n{t}\n+++\n"),
)
names = st.text(
    st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=12,
).map(lambda n: f"{n}.md")


def as_bytes(content: str | bytes) -> bytes:
    return content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.lists(st.tuples(names, contents), min_size=1, max_size=4))
def test_hostile_post_files_never_stop_the_good_one(files: list[tuple[str, str | bytes]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        site = make_site(Path(folder), config_text(RSS_ONLY, languages='["en"]'))
        written = []
        for name, content in files:
            try:
                site.write(f"bad/{name}", as_bytes(content))
            except (OSError, ValueError):  # a name the file system refuses: nothing to read
                continue
            written.append(name)
        site.write("good.md", GOOD)
        config = site.config()

        read = read_posts(config)
        result = plan(read.posts, config)
        channels = build_channels(config)
        for delivery in result.deliveries:
            channels[delivery.channel].render(delivery)

    assert "good" in {d.post.id for d in result.deliveries}
    for error in read.errors:
        assert isinstance(error, PostError)
        assert error.path.startswith("posts/bad/"), error.path
        assert "\n" not in error.message
    assert len(read.posts) + len(read.bad_paths) >= 1
