"""The config file: the example loads, every bad key is named by its path, every key is documented."""

from __future__ import annotations

import re
import tomllib
from datetime import date, time, timedelta
from pathlib import Path

import pytest

from publisher.core.config import (
    CHANNEL_TYPE_KEYS,
    COMMON_CHANNEL_KEYS,
    NOTIFY_KEYS,
    PUBLISHER_KEYS,
    REMINDER_KEYS,
    load_config,
)
from publisher.core.errors import ConfigError
from publisher.core.posts import TOP_KEYS

try:
    from helpers import CHANNELS, config_text
except ImportError:  # tests/ run as a package
    from tests.helpers import CHANNELS, config_text

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
BASE = config_text(reminders='[reminders]\noffsets = ["30d", "7d", "1d"]\ntime = 09:00:00\n')


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    error = info.value
    assert error.message.startswith(f"{path}: "), "the error names the config file"
    assert error.hint.strip(), "every error says how to fix it"
    return error


def test_the_example_config_loads(tmp_path: Path) -> None:
    config = load_config(EXAMPLE)
    assert list(config.channels) == ["facebook", "linkedin", "rss", "rss-it"]
    assert config.timezone == "Europe/Berlin"
    assert config.languages == ("en", "it", "de", "nl")
    assert config.catch_up == timedelta(days=2)
    assert config.tick == timedelta(seconds=60)
    assert config.reminder_offsets == ("30d", "7d", "1d")
    assert config.reminder_time == time(9, 0)
    assert "1d" in config.templates["en"]
    facebook, linkedin = config.channels["facebook"], config.channels["linkedin"]
    assert facebook.option("api_url") == "https://graph.facebook.com"
    assert facebook.option("token_expires_at") == date(2027, 9, 30)
    assert linkedin.option("api_version") == "202608"
    assert config.channels["rss"].reminders is False
    assert config.channels["rss-it"].option("media_url") == (
        "https://www.interregeurope.eu/s3chem/media/"
    )
    assert config.notify_urls_env == ("PUBLISHER_NOTIFY_URL",)


def test_defaults_of_an_almost_empty_config(tmp_path: Path) -> None:
    rss = CHANNELS[CHANNELS.index("[channels.rss]") : CHANNELS.index("[channels.rss-it]")]
    config = load_config(write(tmp_path, rss))
    assert config.timezone == "UTC" and config.languages == ("en",)
    assert config.reminder_offsets == ("30d", "7d", "1d") and config.reminder_time == time(9)
    assert config.max_attempts == 5


def test_a_channel_without_languages_takes_every_language(tmp_path: Path) -> None:
    text = BASE.replace('languages = ["en", "it"]\n', "")
    assert load_config(write(tmp_path, text)).channels["facebook"].languages == (
        "en",
        "it",
        "de",
        "nl",
    )


def test_reminders_default_on_for_social_off_for_rss_and_can_be_switched(tmp_path: Path) -> None:
    text = BASE.replace(
        'feed.it.xml"\nlanguages = ["it"]', 'feed.it.xml"\nlanguages = ["it"]\nreminders = true'
    )
    channels = load_config(write(tmp_path, text)).channels
    assert channels["facebook"].reminders and channels["linkedin"].reminders
    assert not channels["rss"].reminders
    assert channels["rss-it"].reminders


def test_api_url_loses_its_trailing_slash_and_linkedin_version_may_be_a_number(
    tmp_path: Path,
) -> None:
    text = BASE.replace(
        'organization_id = "10000001"',
        'organization_id = "10000001"\napi_url = "http://127.0.0.1:8080/"\napi_version = 202608',
    )
    linkedin = load_config(write(tmp_path, text)).channels["linkedin"]
    assert linkedin.option("api_url") == "http://127.0.0.1:8080"
    assert linkedin.option("api_version") == "202608"


def test_paths_are_relative_to_the_config_file_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    path = folder / "config.toml"
    path.write_text(BASE, encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(Path("../site/config.toml"))
    assert config.posts_dir == folder / "posts"
    assert config.state == str(folder / "state/publisher.db")
    assert config.channels["rss"].option("path") == str(folder / "public/feed.xml")


def test_a_postgresql_state_url_is_kept(tmp_path: Path) -> None:
    text = BASE.replace('"state/publisher.db"', '"postgresql://db.example/publisher"')
    config = load_config(write(tmp_path, text))
    assert config.state_url == "postgresql+psycopg://db.example/publisher"


def test_secrets_come_only_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PUBLISHER_FACEBOOK_TOKEN", raising=False)
    config = load_config(write(tmp_path, BASE))  # loads fine with no token set
    assert config.channels["facebook"].token_env == "PUBLISHER_FACEBOOK_TOKEN"
    secret = "EAAGm0PX4ZCpsBAsecret"
    error = error_for(tmp_path, BASE.replace('page_id = "', f'token = "{secret}"\npage_id = "'))
    assert "channels.facebook.token: unknown key" in error.message
    assert secret not in error.message and secret not in error.hint


# (replace this, with this, the key path and reason the message must hold)
BAD = {
    "missing required key": (
        'page_id = "100000000000001"\n',
        "",
        "channels.facebook.page_id: missing",
    ),
    "missing token_env": (
        'token_env = "PUBLISHER_LINKEDIN_TOKEN"\n',
        "",
        "channels.linkedin.token_env: missing",
    ),
    "bad catch_up": ('catch_up = "2d"', 'catch_up = "two days"', "publisher.catch_up: "),
    "catch_up a number": ('catch_up = "2d"', "catch_up = 2", "publisher.catch_up: "),
    "unknown publisher key": (
        'catch_up = "2d"',
        'catch_up = "2d"\nfoo = 1',
        "publisher.foo: unknown key",
    ),
    "unknown section": ("[publisher]", "[publishers]", "publishers: unknown section"),
    "wrong type": (
        'catch_up = "2d"',
        'catch_up = "2d"\nmax_attempts = "5"',
        "publisher.max_attempts: expected",
    ),
    "languages not a list": (
        'languages = ["en", "it", "de", "nl"]',
        'languages = "en"',
        "publisher.languages: expected",
    ),
    "bad language code": (
        'languages = ["en", "it", "de", "nl"]',
        'languages = ["en", "italian"]',
        "publisher.languages: 'italian' is not a language code",
    ),
    "unknown timezone": (
        'timezone = "Europe/Berlin"',
        'timezone = "Mars/Olympus"',
        "publisher.timezone: ",
    ),
    "unsupported state URL": (
        '"state/publisher.db"',
        '"mysql://db/x"',
        "publisher.state: only SQLite",
    ),
    "reminder time in quotes": ("time = 09:00:00", 'time = "09:00"', "reminders.time: expected"),
    "bad reminder offset": ('"30d", "7d"', '"30 days", "7d"', "reminders.offsets: "),
    "unknown reminders key": (
        "time = 09:00:00",
        "time = 09:00:00\nhour = 9",
        "reminders.hour: unknown key",
    ),
    "bad template offset": (
        "time = 09:00:00",
        'time = 09:00:00\n[reminders.templates.it]\n"7x" = "..."',
        "reminders.templates.it.7x: ",
    ),
    "bad channel name": (
        "[channels.linkedin]",
        "[channels.Linked_In]",
        "channels.Linked_In: bad channel name",
    ),
    "unknown channel type": (
        'type = "linkedin"',
        'type = "twitter"',
        "channels.linkedin.type: 'twitter'",
    ),
    "missing channel type": ('type = "linkedin"\n', "", "channels.linkedin.type: None"),
    "unknown channel key": (
        'organization_id = "10000001"',
        'organization_id = "10000001"\npage_id = "1"',
        "channels.linkedin.page_id: unknown key",
    ),
    "rss with two languages": (
        'feed.xml"\nlanguages = ["en"]',
        'feed.xml"\nlanguages = ["en", "de"]',
        "channels.rss.languages: an RSS channel has exactly one language",
    ),
    "rss without languages in a multilingual setup": (
        'feed.xml"\nlanguages = ["en"]\n',
        'feed.xml"\n',
        "channels.rss.languages: an RSS channel",
    ),
    "channel language not configured": (
        'languages = ["en", "it"]\n',
        'languages = ["en", "fr"]\n',
        "channels.facebook.languages: 'fr' is not in publisher.languages",
    ),
    "bad graph version": (
        'page_id = "100000000000001"',
        'page_id = "100000000000001"\napi_version = "26.0"',
        "channels.facebook.api_version: '26.0'",
    ),
    "bad linkedin version": (
        'organization_id = "10000001"',
        'organization_id = "10000001"\napi_version = "2026-08"',
        "channels.linkedin.api_version: '2026-08'",
    ),
    "api_url not a URL": (
        'page_id = "100000000000001"',
        'page_id = "100000000000001"\napi_url = "graph.facebook.com"',
        "channels.facebook.api_url: ",
    ),
    "feed_url not a URL": (
        'feed_url = "https://example.org/s3chem/feed.xml"',
        'feed_url = "feed.xml"',
        "channels.rss.feed_url: ",
    ),
    "negative max_per_hour": (
        'page_id = "100000000000001"',
        'page_id = "100000000000001"\nmax_per_hour = -1',
        "channels.facebook.max_per_hour: ",
    ),
    "reminders not a boolean": (
        'feed.xml"\nlanguages = ["en"]',
        'feed.xml"\nlanguages = ["en"]\nreminders = "yes"',
        "channels.rss.reminders: expected true or false",
    ),
    "token expiry in quotes": (
        'page_id = "100000000000001"',
        'page_id = "100000000000001"\ntoken_expires_at = "soon"',
        "channels.facebook.token_expires_at: expected a date",
    ),
    "notify urls_env not a list": (
        "[channels.facebook]",
        '[notify]\nurls_env = "PUBLISHER_NOTIFY_URL"\n\n[channels.facebook]',
        "notify.urls_env: expected a list",
    ),
    "not TOML": ('catch_up = "2d"', 'catch_up = "2d', "not valid TOML"),
}


@pytest.mark.parametrize(("old", "new", "expected"), BAD.values(), ids=list(BAD))
def test_a_bad_config_names_the_key_path(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in BASE, "the test's replacement must apply"
    error = error_for(tmp_path, BASE.replace(old, new, 1))
    assert expected in error.message


@pytest.mark.parametrize("key", sorted(TOP_KEYS))
def test_a_channel_may_not_be_named_like_a_front_matter_key(tmp_path: Path, key: str) -> None:
    error = error_for(tmp_path, BASE.replace("[channels.linkedin]", f"[channels.{key}]"))
    assert f"channels.{key}: a channel may not be named like a front-matter key" in error.message


def test_a_missing_config_file_says_where_to_put_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert "config file not found" in info.value.message
    assert "--config" in info.value.hint


# --- config.example.toml is the documented reference of every key the code reads -------------

KEY_LINE = re.compile(r'^\s*"?([A-Za-z0-9_-]+)"?\s*=')


def _example_sections() -> list[tuple[str, list[str]]]:
    """(section header, its lines) for every table header in the example, in order."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        header = re.match(r"^\s*\[([^\]]+)\]", line)
        if header:
            sections.append((header.group(1).strip(), []))
        sections[-1][1].append(line)
    return sections


def _documented(lines: list[str], index: int) -> bool:
    """A key line is documented when the nearest line above its group of keys is a comment."""
    index -= 1
    while index >= 0 and KEY_LINE.match(lines[index]):
        index -= 1
    return index >= 0 and lines[index].lstrip().startswith("#")


def _where(section: str, example: dict) -> str:
    """The schema a section belongs to: publisher, reminders, notify or channel:<type>."""
    if section.startswith("channels."):
        return "channel:" + example["channels"][section.split(".", 1)[1]]["type"]
    return section.split(".")[0]


def _example_keys() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Keys per schema as written in the example, and those of them with a comment above."""
    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    present: dict[str, set[str]] = {}
    documented: dict[str, set[str]] = {}
    sections = _example_sections()
    for number, (section, lines) in enumerate(sections):
        if not section:
            continue
        where = _where(section, example)
        if section.startswith("reminders.templates"):
            # A templates table documents the `templates` key of [reminders].
            present.setdefault("reminders", set()).add("templates")
            previous = sections[number - 1][1] + lines[:1]
            if _documented(previous, len(previous) - 1):
                documented.setdefault("reminders", set()).add("templates")
            continue
        for index, line in enumerate(lines):
            match = KEY_LINE.match(line)
            if match:
                present.setdefault(where, set()).add(match.group(1))
                if _documented(lines, index):
                    documented.setdefault(where, set()).add(match.group(1))
    return present, documented


def _schema() -> dict[str, set[str]]:
    """Every key the code reads, per section, from the code's own tables."""
    schema = {
        "publisher": set(PUBLISHER_KEYS),
        "reminders": set(REMINDER_KEYS),
        "notify": set(NOTIFY_KEYS),
    }
    for kind, keys in CHANNEL_TYPE_KEYS.items():
        schema[f"channel:{kind}"] = set(COMMON_CHANNEL_KEYS) | set(keys)
    return schema


def _not_in(found: dict[str, set[str]]) -> set[str]:
    """Schema keys not in ``found``; keys common to all channels need to be there only once."""
    channels = set().union(*(v for k, v in found.items() if k.startswith("channel:")))
    return {
        f"{where}.{key}"
        for where, keys in _schema().items()
        for key in keys
        if key
        not in (
            channels
            if where.startswith("channel:") and key in COMMON_CHANNEL_KEYS
            else found.get(where, set())
        )
    }


def test_every_key_the_code_reads_is_in_the_example() -> None:
    missing = _not_in(_example_keys()[0])
    assert not missing, f"keys read by config.py but not shown in config.example.toml: {missing}"


def test_every_key_the_code_reads_has_a_comment_in_the_example() -> None:
    undocumented = _not_in(_example_keys()[1])
    assert not undocumented, f"keys without a comment in config.example.toml: {undocumented}"


def test_the_example_has_no_section_the_code_does_not_read() -> None:
    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert set(example) <= {"publisher", "reminders", "channels", "notify"}
    types = {table["type"] for table in example["channels"].values()}
    assert types == set(CHANNEL_TYPE_KEYS), "every channel type has an example section"


@pytest.mark.parametrize("template", ["{nope} {title}", "{title.upper}", "{title", "{0}"])
def test_a_bad_reminder_template_is_a_config_error(tmp_path: Path, template: str) -> None:
    text = BASE + f'\n[reminders.templates.it]\n"7d" = "{template}"\n'
    error = error_for(tmp_path, text)
    assert "reminders.templates.it.7d:" in error.message


def test_a_token_pasted_into_token_env_is_refused_without_echoing_it(tmp_path: Path) -> None:
    secret = "EAAGsecret.Page-Token|XYZ123"
    error = error_for(tmp_path, BASE.replace('"PUBLISHER_FACEBOOK_TOKEN"', f'"{secret}"', 1))
    assert "channels.facebook.token_env" in error.message
    assert secret not in error.message and secret not in error.hint
