"""Post files: every bad input gets a fixable error naming file and line; good ones parse exactly."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from publisher.core.errors import PostError
from publisher.core.posts import read_post

try:
    from helpers import EVENT, NEWS, Site, config_text, make_site, post_text
except ImportError:  # tests/ run as a package
    from tests.helpers import EVENT, NEWS, Site, config_text, make_site, post_text

GOOD = post_text(NEWS, "A good post.")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


@pytest.fixture
def folder(tmp_path: Path) -> Site:
    return make_site(tmp_path / "site")


def only_error(folder: Site, bad: str, content: str | bytes) -> PostError:
    """Write one bad file beside a good one; the good one must still be read."""
    folder.write("good.md", GOOD)
    folder.write(bad, content)
    result = folder.read_all()
    assert "good" in [p.id for p in result.posts], "a bad file stopped a good one"
    assert len(result.errors) == 1, [e.message for e in result.errors]
    error = result.errors[0]
    assert error.path == f"posts/{bad}", "the error must name the file"
    assert error.message.startswith(f"posts/{bad}")
    assert error.hint.strip(), "every error says how to fix it"
    return error


# (file name, content, words the message must hold, the line it must name or None)
BAD = {
    "no front matter": ("bad.md", "Just a text, no settings.\n", ["no front matter"], 1),
    "front matter not closed": (
        "bad.md",
        '+++\ntitle = "A"\npublish_at = 2027-05-02T10:00:00\nBody.\n',
        ["not closed"],
        1,
    ),
    "invalid TOML": (
        "bad.md",
        '+++\ntitle = "A"\npublish_at = 2027-05-02T10:00:00\nlink = "https://x\ntags = []\n+++\nBody\n',
        ["not valid TOML"],
        4,
    ),
    "key written twice": (
        "bad.md",
        '+++\ntitle = "A"\ntitle = "B"\npublish_at = 2027-05-02T10:00:00\n+++\nBody\n',
        ["not valid TOML"],
        3,
    ),
    "missing title": (
        "bad.md",
        post_text("publish_at = 2027-05-02T10:00:00", "Body"),
        ["title is missing"],
        None,
    ),
    "missing publish_at": ("bad.md", post_text('title = "A"'), ["publish_at is missing"], None),
    "publish_at not a date": (
        "bad.md",
        post_text('title = "A"\nlink = "https://x.org"\npublish_at = "next monday"'),
        ["publish_at", "'next monday' is not a date and time"],
        4,
    ),
    "publish_at a date without a time": (
        "bad.md",
        post_text('title = "A"\npublish_at = 2027-05-02'),
        ["publish_at", "no time of day"],
        3,
    ),
    "unknown timezone": (
        "bad.md",
        post_text('title = "A"\ntimezone = "Europe/Atlantis"\npublish_at = 2027-05-02T10:00:00'),
        ["timezone", "'Europe/Atlantis' is not a known time zone"],
        3,
    ),
    "override key a channel type does not take": (
        "bad.md",
        post_text(NEWS + '\n[rss]\ntext = "hi"'),
        ["rss.text", "not an override key for a rss channel"],
        7,
    ),
    "unconfigured language": ("news.fr.md", GOOD, ["language 'fr'", "not configured"], None),
    "event ends before it starts": (
        "bad.md",
        post_text(NEWS + "[event]\nstart = 2027-06-17T09:00:00\nend = 2027-06-16T17:00:00"),
        ["event.end", "ends before it starts"],
        7,
    ),
    "event without start": (
        "bad.md",
        post_text(NEWS + '[event]\nlocation = "Maastricht"'),
        ["no start"],
        None,
    ),
    "malformed reminder offset": (
        "bad.md",
        post_text(NEWS + '[event]\nstart = 2027-06-17T09:00:00\nreminders = ["7 days"]'),
        ["event.reminders", "'7 days' is not a duration"],
        7,
    ),
    "negative reminder offset": (
        "bad.md",
        post_text(NEWS + '[event]\nstart = 2027-06-17T09:00:00\nreminders = ["-7d"]'),
        ["event.reminders", "negative"],
        7,
    ),
    "missing image": (
        "bad.md",
        post_text(NEWS + 'image = "media/nope.png"'),
        ["image", "'media/nope.png' not found"],
        5,
    ),
    "wrong type": (
        "bad.md",
        post_text(NEWS + 'draft = "no"'),
        ["draft", "expected false, got 'no'"],
        5,
    ),
    "tags not a list": (
        "bad.md",
        post_text(NEWS + 'tags = "S3Chem"'),
        ["tags", "expected a list of strings"],
        5,
    ),
    "not UTF-8": (
        "bad.md",
        '+++\ntitle = "A"\npublish_at = 2027-05-02T10:00:00\n+++\nCaf\xe9\n'.encode("latin-1"),
        ["not UTF-8"],
        5,
    ),
    "binary file": ("bad.md", PNG, ["binary"], None),
    "nothing to say": ("bad.md", "+++\n+++\n\n", ["nothing to say"], None),
    "unknown front-matter key": (
        "bad.md",
        post_text(NEWS + 'summary = "short"'),
        ["summary", "unknown key"],
        5,
    ),
    "misspelt front-matter key": (
        "bad.md",
        post_text('titel = "A"\ntitle = "A"\npublish_at = 2027-05-02T10:00:00'),
        ["titel", "unknown key"],
        2,
    ),
    "unknown key in [event]": (
        "bad.md",
        post_text(NEWS + '[event]\nstart = 2027-06-17T09:00:00\nvenue = "Maastricht"'),
        ["event.venue", "unknown key"],
        7,
    ),
}


@pytest.mark.parametrize(("name", "content", "words", "line"), BAD.values(), ids=list(BAD))
def test_a_bad_file_gets_an_error_naming_file_line_and_fix(
    folder: Site, name: str, content: str | bytes, words: list[str], line: int | None
) -> None:
    error = only_error(folder, name, content)
    for word in words:
        assert word in error.message
    if line is not None:
        assert error.line == line
        assert error.message.startswith(f"posts/{name}:{line}: ")


def test_an_image_outside_posts_dir_is_refused_even_when_it_exists(folder: Site) -> None:
    (folder.root / "secret.png").write_bytes(PNG)
    error = only_error(folder, "bad.md", post_text(NEWS + 'image = "../secret.png"'))
    assert "outside posts_dir" in error.message
    assert error.line == 5


def test_an_image_inside_posts_dir_is_resolved_relative_to_the_post(folder: Site) -> None:
    folder.write("news/media/photo.png", PNG)
    folder.post("news/item.md", NEWS + 'image = "media/photo.png"\nimage_alt = "A photo"')
    post = folder.read("news/item.md")
    assert post.image == (folder.posts / "news/media/photo.png").resolve()
    assert post.image_alt == "A photo"


def test_two_files_with_one_id_and_language_are_an_error_naming_both(folder: Site) -> None:
    folder.post("a.md", NEWS + 'id = "same"')
    folder.post("b.md", NEWS + 'id = "same"')
    folder.post("c.md", NEWS)
    result = folder.read_all()
    assert [e.path for e in result.errors] == ["posts/a.md", "posts/b.md"]
    for error in result.errors:
        assert "posts/a.md" in error.message and "posts/b.md" in error.message
        assert error.hint
    assert [p.id for p in result.posts] == ["c"], "neither file may take over the other's post"
    assert result.bad_paths == {"posts/a.md", "posts/b.md"}


@pytest.mark.parametrize(
    ("front", "words", "line"),
    [
        ('channels = ["facebook", "twitter"]', ["channels", "unknown channel 'twitter'"], 5),
        ('\n[twitter]\ntext = "hi"', ["twitter", "unknown key or channel"], 6),
    ],
)
def test_an_unknown_channel_is_an_error_but_the_rest_of_the_post_goes_on(
    folder: Site, front: str, words: list[str], line: int
) -> None:
    folder.write("bad.md", post_text(NEWS + front))
    result = folder.read_all()
    [error] = result.errors
    assert error.path == "posts/bad.md" and error.line == line and error.hint
    assert all(w in error.message for w in words)
    assert [p.id for p in result.posts] == ["bad"]
    assert "twitter" not in (result.posts[0].channels or ())
    assert result.bad_paths == frozenset(), "its rows for other channels must follow the file"


def test_a_missing_posts_dir_is_a_config_error_not_an_empty_plan(folder: Site) -> None:
    import shutil

    from publisher.core.errors import ConfigError
    from publisher.core.posts import read_posts

    shutil.rmtree(folder.posts)
    with pytest.raises(ConfigError, match="posts_dir"):
        read_posts(folder.config())


@pytest.mark.parametrize("bad_id", ["x\ny", "/", "a//b", "a/../b", "/lead", "trail/", " pad"])
def test_an_unusable_id_is_an_error(folder: Site, bad_id: str) -> None:
    import json

    error = only_error(folder, "bad.md", post_text(NEWS + f"id = {json.dumps(bad_id)}"))
    assert "id" in error.message and "not a usable id" in error.message


def test_a_folder_named_like_a_post_is_an_error(folder: Site) -> None:
    folder.write("good.md", GOOD)
    (folder.posts / "folder.md").mkdir()
    result = folder.read_all()
    assert [p.id for p in result.posts] == ["good"]
    [error] = result.errors
    assert error.path == "posts/folder.md" and "folder" in error.message and error.hint


def test_translations_share_an_id_without_error(folder: Site) -> None:
    folder.post("events/conf.en.md", EVENT)
    folder.post("events/conf.it.md", EVENT.replace("S3Chem final", "Conferenza finale"))
    result = folder.read_all()
    assert result.errors == []
    assert sorted((p.id, p.language) for p in result.posts) == [
        ("events/conf", "en"),
        ("events/conf", "it"),
    ]


@pytest.mark.parametrize(
    ("name", "language", "post_id"),
    [
        ("news.it.md", "it", "news"),
        ("news.pt-BR.md", "pt-BR", "news"),
        ("news.md", "en", "news"),
        ("v1.2-release.md", "en", "v1.2-release"),
        ("2027/06/final-conference.de.md", "de", "2027/06/final-conference"),
    ],
)
def test_language_from_suffix_and_default_id_from_path(
    tmp_path: Path, name: str, language: str, post_id: str
) -> None:
    site = make_site(tmp_path, config_text(languages='["en", "it", "de", "pt-BR"]'))
    site.post(name, NEWS)
    post = site.read(name)
    assert (post.language, post.id) == (language, post_id)


def test_no_suffix_takes_the_first_configured_language(tmp_path: Path) -> None:
    site = make_site(tmp_path, config_text(languages='["it", "en"]'))
    site.post("news.md", NEWS)
    assert site.read("news.md").language == "it"


def test_an_explicit_id_wins_over_the_path(folder: Site) -> None:
    folder.post("x/y.it.md", NEWS + 'id = "2027-06-final-conference"')
    assert folder.read("x/y.it.md").id == "2027-06-final-conference"


def test_bom_and_crlf_parse_like_a_clean_file(folder: Site) -> None:
    front = 'tags = ["S3Chem"]\n' + EVENT + '\n[facebook]\ntext = "Hi"'
    text = post_text(front, "Line one.\nLine two.")
    folder.write("clean.md", text)
    folder.write("dirty.md", b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    clean, dirty = folder.read("clean.md"), folder.read("dirty.md")
    assert dirty.body == "Line one.\nLine two."
    same = dataclasses.replace(dirty, id=clean.id, path=clean.path, source=clean.source)
    assert same == clean


def test_times_without_offset_are_wall_clock_in_the_files_timezone(folder: Site) -> None:
    folder.post("ny.md", NEWS + 'timezone = "America/New_York"')
    folder.post("default.md", NEWS)
    ny, default = folder.read("ny.md"), folder.read("default.md")
    assert ny.publish_at.astimezone(UTC) == datetime(2027, 2, 10, 15, 0, tzinfo=UTC)
    assert ny.timezone == "America/New_York"
    assert default.publish_at.astimezone(UTC) == datetime(2027, 2, 10, 9, 0, tzinfo=UTC)
    assert default.timezone == "Europe/Berlin"


def test_event_and_override_times_use_the_files_timezone(folder: Site) -> None:
    front = EVENT.replace("[event]", "[linkedin]\npublish_at = 2027-05-02T11:30:00\n\n[event]")
    folder.post("conf.md", 'timezone = "Europe/Amsterdam"\n' + front)
    post = folder.read("conf.md")
    assert post.event is not None
    assert post.event.start.astimezone(UTC) == datetime(2027, 6, 17, 7, 0, tzinfo=UTC)
    assert post.event.end is not None
    assert post.event.end.astimezone(UTC) == datetime(2027, 6, 18, 15, 0, tzinfo=UTC)
    linkedin = post.overrides["linkedin"].publish_at
    assert linkedin is not None and linkedin.astimezone(UTC) == datetime(
        2027, 5, 2, 9, 30, tzinfo=UTC
    )


def test_an_explicit_offset_is_kept(folder: Site) -> None:
    folder.post("x.md", 'title = "A"\npublish_at = 2027-05-02T10:00:00+05:30')
    post = folder.read("x.md")
    assert post.publish_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert post.publish_at.astimezone(UTC) == datetime(2027, 5, 2, 4, 30, tzinfo=UTC)


def test_event_defaults_come_from_the_config(tmp_path: Path) -> None:
    site = make_site(
        tmp_path, config_text(reminders='[reminders]\noffsets = ["7d", "2h"]\ntime = 10:30:00\n')
    )
    site.post("conf.md", EVENT)
    site.post("none.md", EVENT + "reminders = []")
    event = site.read("conf.md").event
    assert event is not None
    assert (event.reminders, event.reminder_time) == (("7d", "2h"), time(10, 30))
    none = site.read("none.md").event
    assert none is not None and none.reminders == ()


def test_a_wall_time_in_the_spring_gap_moves_forward_with_a_warning(folder: Site) -> None:
    folder.post("gap.md", 'title = "A"\npublish_at = 2027-03-28T02:30:00')
    post = folder.read("gap.md")
    assert post.publish_at.replace(tzinfo=None) == datetime(2027, 3, 28, 3, 30)
    assert post.publish_at.astimezone(UTC) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    [warning] = post.warnings
    assert "posts/gap.md" in warning and "publish_at" in warning
    assert "does not exist" in warning and "2027-03-28 01:30 UTC" in warning


def test_a_wall_time_in_the_autumn_overlap_takes_the_first_with_a_warning(folder: Site) -> None:
    folder.post("twice.md", NEWS + "[event]\nstart = 2027-10-31T02:30:00")
    post = folder.read("twice.md")
    assert post.event is not None
    assert post.event.start.astimezone(UTC) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    [warning] = post.warnings
    assert "event.start" in warning and "happens twice" in warning
    assert "2027-10-31 00:30 UTC" in warning


def test_an_ordinary_time_has_no_warning(folder: Site) -> None:
    folder.post("x.md", EVENT)
    assert folder.read("x.md").warnings == ()


def test_overrides_by_channel_name_and_by_type(folder: Site) -> None:
    folder.post(
        "x.md",
        NEWS + '\n[facebook]\ntext = "FB"\nenabled = false\n\n[rss]\nsummary = "Short"\n',
    )
    post = folder.read("x.md")
    assert post.override("facebook", "facebook").text == "FB"
    assert post.override("facebook", "facebook").enabled is False
    assert post.override("rss-it", "rss").summary == "Short"
    assert post.override("linkedin", "linkedin").text is None


def test_a_quoted_date_without_time_is_an_error_too(folder: Site) -> None:
    folder.post("x.md", 'title = "A"\npublish_at = "2027-05-02"')
    with pytest.raises(PostError, match="no time of day"):
        read_post(folder.posts / "x.md", folder.config())


@pytest.mark.parametrize(
    "link", ["www.example.org/x", "example", "https://exa mple.org", "ftp://x.org"]
)
def test_a_link_must_be_a_full_http_url(folder: Site, link: str) -> None:
    front = NEWS.replace('"https://example.org/s3chem/news/magdeburg"', f'"{link}"')
    error = only_error(folder, "bad.md", post_text(front))
    assert "link" in error.message and "not a full http(s) URL" in error.message


def test_a_huge_file_is_refused_without_stopping_the_others(folder: Site) -> None:
    error = only_error(folder, "huge.md", post_text(NEWS, "x" * (1024 * 1024 + 1)))
    assert "larger than 1024 KiB" in error.message
