"""``[sources.<name>]`` tables: news feeds polled into post files (DESIGN §10); errors name the key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from publisher.core.config_values import (
    LANGUAGE,
    REQUIRED,
    Key,
    _duration,
    _int,
    _str,
    _strings,
)
from publisher.core.errors import ConfigError
from publisher.core.plugins import capabilities

if TYPE_CHECKING:
    from publisher.core.config import ChannelConfig

MODES = ("review", "publish")


def _feed_url(path: str, value: Any) -> str:
    from publisher.core.urls import url_problem

    text = _str(path, value)
    problem = url_problem(text)
    if problem:
        raise ConfigError(f"{path}: {problem}", "use the feed's https:// address")
    return text


def _language(path: str, value: Any) -> str:
    text = _str(path, value)
    if not LANGUAGE.match(text):
        raise ConfigError(f"{path}: {text!r} is not a language code", 'e.g. "en" or "pt-BR"')
    return text


def _mode(path: str, value: Any) -> str:
    text = _str(path, value)
    if text not in MODES:
        raise ConfigError(
            f"{path}: {text!r} is not a mode",
            'use "review" (drafts to check) or "publish" (scheduled after delay)',
        )
    return text


def _positive_duration(path: str, value: Any) -> timedelta:
    span = _duration(path, value)
    if span <= timedelta(0):
        raise ConfigError(f"{path}: must be longer than 0", 'e.g. "30m"')
    return span


SOURCE_KEYS: dict[str, Key] = {
    "type": Key(_str, REQUIRED),
    "url": Key(_feed_url, REQUIRED),
    "language": Key(_language, None),
    "every": Key(_positive_duration, timedelta(minutes=30)),
    "mode": Key(_mode, "review"),
    "delay": Key(_duration, timedelta(hours=1)),
    "channels": Key(_strings, None),
    "dir": Key(_str, None),
    "tags": Key(_strings, ()),
    "max_new": Key(_int, 5),
    "timeout": Key(_positive_duration, timedelta(seconds=20)),
}


@dataclass(frozen=True)
class SourceConfig:
    """One validated ``[sources.<name>]`` table; ``dir`` is relative to posts_dir."""

    name: str
    url: str
    language: str
    every: timedelta
    mode: str
    delay: timedelta
    channels: tuple[str, ...]
    dir: str
    tags: tuple[str, ...]
    max_new: int
    timeout: timedelta


def parse_sources(
    table: Any, languages: tuple[str, ...], channels: Mapping[str, ChannelConfig]
) -> dict[str, SourceConfig]:
    """Validate every ``[sources.<name>]`` table against the languages and channels."""
    if not isinstance(table, dict):
        raise ConfigError("sources: expected tables [sources.<name>]", "[sources.website]")
    return {name: _source(name, t, languages, channels) for name, t in table.items()}


def _source(
    name: str, table: Any, languages: tuple[str, ...], channels: Mapping[str, ChannelConfig]
) -> SourceConfig:
    from publisher.core.config import CHANNEL_NAME, _section

    prefix = f"sources.{name}"
    if not CHANNEL_NAME.match(name):
        raise ConfigError(f"{prefix}: bad source name", "use lowercase letters, digits, - and _")
    if isinstance(table, dict) and "type" in table and table["type"] != "feed":
        raise ConfigError(
            f"{prefix}.type: {table['type']!r} is not a source type",
            'use type = "feed" (RSS or Atom)',
        )
    values = _section(table, SOURCE_KEYS, prefix)
    language = values["language"] or languages[0]
    if language not in languages:
        raise ConfigError(
            f"{prefix}.language: {language!r} is not in publisher.languages",
            "add it to [publisher].languages or change it here",
        )
    chosen = values["channels"]
    if chosen is None:
        chosen = tuple(
            n
            for n, c in channels.items()
            if not capabilities(c.type).feed and language in c.languages
        )
        if not chosen:
            raise ConfigError(
                f"{prefix}: no social channel takes language {language!r}",
                f"set {prefix}.channels to the channels its items go to",
            )
    for channel in chosen:
        if channel not in channels:
            raise ConfigError(
                f"{prefix}.channels: unknown channel {channel!r}",
                f"configured channels: {', '.join(channels) or '(none)'}",
            )
        if language not in channels[channel].languages:
            raise ConfigError(
                f"{prefix}.channels: channel {channel!r} does not take language {language!r}",
                "remove it, or add the language to that channel",
            )
    folder = values["dir"] or f"imported/{name}"
    parts = folder.replace("\\", "/").split("/")
    if folder.startswith("/") or ".." in parts:
        raise ConfigError(
            f"{prefix}.dir: {folder!r} must stay inside posts_dir",
            f'a relative folder, e.g. dir = "imported/{name}"',
        )
    return SourceConfig(
        name=name,
        url=values["url"],
        language=language,
        every=values["every"],
        mode=values["mode"],
        delay=values["delay"],
        channels=tuple(dict.fromkeys(chosen)),
        dir=folder,
        tags=values["tags"],
        max_new=values["max_new"],
        timeout=values["timeout"],
    )
