"""The TOML config, validated once into frozen dataclasses; every error names its key path."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from publisher.core.config_values import (
    REQUIRED,
    Key,
    _bool,
    _duration,
    _env_name,
    _int,
    _languages,
    _offsets,
    _path,
    _str,
    _strings,
    _time,
    _timezone,
)
from publisher.core.errors import ConfigError
from publisher.core.sources import SourceConfig, parse_sources

CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
FRONT_MATTER_KEYS = frozenset(
    [
        "id",
        "title",
        "publish_at",
        "timezone",
        "expires_at",
        "channels",
        "link",
        "image",
        "image_alt",
        "tags",
        "draft",
        "event",
        "repeat",
    ]
)


PUBLISHER_KEYS: dict[str, Key] = {
    "timezone": Key(_timezone, "UTC"),
    "posts_dir": Key(_path, "posts"),
    "state": Key(_str, "state/publisher.db"),
    "languages": Key(_languages, ("en",)),
    "catch_up": Key(_duration, timedelta(days=2)),
    "tick": Key(_duration, timedelta(seconds=60)),
    "max_attempts": Key(_int, 5),
    "lease": Key(_duration, timedelta(minutes=5)),
    "retry_backoff": Key(_duration, timedelta(seconds=30)),
}
REMINDER_KEYS: dict[str, Key] = {
    "offsets": Key(_offsets, ("30d", "7d", "1d")),
    "time": Key(_time, time(9, 0)),
    "templates": Key(lambda p, v: v, None),
}
NOTIFY_KEYS: dict[str, Key] = {
    "urls_env": Key(lambda p, v: tuple(_env_name(p, x) for x in _strings(p, v)), ())
}

COMMON_CHANNEL_KEYS: dict[str, Key] = {
    "type": Key(_str, REQUIRED),
    "languages": Key(_languages, None),
    "max_per_hour": Key(_int, 0),
    "reminders": Key(_bool, None),
    "display_name": Key(_str, None),
}


@dataclass(frozen=True)
class ChannelConfig:
    """One ``[channels.<name>]`` table; type-specific keys live in ``options``."""

    name: str
    type: str
    languages: tuple[str, ...]
    reminders: bool
    max_per_hour: int = 0
    token_env: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def option(self, key: str) -> Any:
        return self.options[key]


@dataclass(frozen=True)
class Config:
    """The whole validated config; paths are already absolute."""

    path: Path
    timezone: str
    posts_dir: Path
    state: str
    languages: tuple[str, ...]
    catch_up: timedelta
    tick: timedelta
    max_attempts: int
    lease: timedelta
    retry_backoff: timedelta
    reminder_offsets: tuple[str, ...]
    reminder_time: time
    templates: Mapping[str, Mapping[str, str]]
    channels: Mapping[str, ChannelConfig]
    notify_urls_env: tuple[str, ...] = ()
    sources: Mapping[str, SourceConfig] = field(default_factory=dict)
    #: Doubts about the config that are not errors (shown by ``check`` and ``preview``).
    warnings: tuple[str, ...] = ()

    @property
    def state_is_url(self) -> bool:
        return "://" in self.state

    @property
    def state_url(self) -> str:
        """A SQLAlchemy URL for the ledger (a plain path becomes an SQLite URL)."""
        if self.state.startswith("postgresql://"):
            return "postgresql+psycopg://" + self.state[len("postgresql://") :]
        if self.state_is_url:
            return self.state
        return f"sqlite:///{self.state}"

    def resolve(self, relative: str) -> Path:
        return (self.path.parent / relative).resolve()


def _section(table: Any, keys: Mapping[str, Key], prefix: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{prefix}: expected a table [{prefix}]", f"write [{prefix}]")
    unknown = sorted(set(table) - set(keys))
    if unknown:
        known = ", ".join(sorted(keys))
        raise ConfigError(
            f"{prefix}.{unknown[0]}: unknown key", f"known keys in [{prefix}]: {known}"
        )
    values: dict[str, Any] = {}
    for name, key in keys.items():
        where = f"{prefix}.{name}"
        if name in table:
            values[name] = key.check(where, table[name])
        elif key.default is REQUIRED:
            raise ConfigError(f"{where}: missing", f"add {name} = ... to [{prefix}]")
        else:
            values[name] = key.default
    return values


def _templates(value: Any) -> dict[str, dict[str, str]]:
    from publisher.core.reminders import template_problem

    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError("reminders.templates: expected a table", "[reminders.templates.it]")
    out: dict[str, dict[str, str]] = {}
    for lang, table in value.items():
        where = f"reminders.templates.{lang}"
        if not isinstance(table, dict):
            raise ConfigError(
                f"{where}: expected a table of offset = text", f'[{where}] "7d" = "..."'
            )
        for offset, text in table.items():
            if offset != "default":
                _duration(f"{where}.{offset}", offset)
            _str(f"{where}.{offset}", text)
            problem = template_problem(text)
            if problem:
                raise ConfigError(f"{where}.{offset}: {problem}", "see [reminders] in README")
        out[lang] = dict(table)
    return out


def _channel(name: str, table: Any, languages: tuple[str, ...]) -> ChannelConfig:
    from publisher.core.plugins import channel_type, type_names

    prefix = f"channels.{name}"
    if not CHANNEL_NAME.match(name):
        raise ConfigError(f"{prefix}: bad channel name", "use lowercase letters, digits, - and _")
    if name in FRONT_MATTER_KEYS:
        raise ConfigError(
            f"{prefix}: a channel may not be named like a front-matter key", "rename it"
        )
    if not isinstance(table, dict):
        raise ConfigError(f"{prefix}: expected a table", f"write [{prefix}]")
    kind = table.get("type")
    if not isinstance(kind, str) or kind not in type_names():
        types = ", ".join(type_names())
        raise ConfigError(
            f"{prefix}.type: {kind!r} is not an installed channel type",
            f"use one of: {types} (a plugin type needs its package installed)",
        )
    declared = channel_type(kind)
    values = _section(table, {**COMMON_CHANNEL_KEYS, **declared.keys}, prefix)
    langs = values.pop("languages") or languages
    for lang in langs:
        if lang not in languages:
            raise ConfigError(
                f"{prefix}.languages: {lang!r} is not in publisher.languages",
                "add it to [publisher].languages or remove it here",
            )
    if declared.capabilities.one_language and len(langs) != 1:
        raise ConfigError(
            f"{prefix}.languages: a channel of type {kind} has exactly one language",
            f"make one {kind} channel per language",
        )
    prepare = getattr(declared, "prepare", None)
    if prepare is not None:
        values = prepare(values, prefix)
    reminders = values.pop("reminders")
    values.pop("type")
    return ChannelConfig(
        name=name,
        type=kind,
        languages=tuple(langs),
        reminders=declared.capabilities.reminders if reminders is None else reminders,
        max_per_hour=values.pop("max_per_hour"),
        token_env=values.pop("token_env", None),
        options=values,
    )


def parse_config(data: Mapping[str, Any], path: Path) -> Config:
    """Validate a parsed TOML document; ``path`` anchors the relative paths."""
    from publisher.core.plugins import channel_type

    unknown = sorted(set(data) - {"publisher", "reminders", "channels", "notify", "sources"})
    if unknown:
        raise ConfigError(
            f"{unknown[0]}: unknown section",
            "sections: publisher, reminders, channels, notify, sources",
        )
    pub = _section(data.get("publisher", {}), PUBLISHER_KEYS, "publisher")
    rem = _section(data.get("reminders", {}), REMINDER_KEYS, "reminders")
    notify = _section(data.get("notify", {}), NOTIFY_KEYS, "notify")
    channels_table = data.get("channels", {})
    if not isinstance(channels_table, dict):
        raise ConfigError("channels: expected tables [channels.<name>]", "[channels.news]")
    channels = {n: _channel(n, t, pub["languages"]) for n, t in channels_table.items()}
    sources = parse_sources(data.get("sources", {}), pub["languages"], channels)
    base = path.parent
    state = pub["state"]
    if "://" not in state:
        state = str((base / state).resolve())
    elif not state.startswith(("postgresql://", "postgresql+psycopg://", "sqlite://")):
        raise ConfigError(
            "publisher.state: only SQLite paths and postgresql:// URLs are supported",
            'e.g. "state/publisher.db"',
        )
    for name, channel in channels.items():
        outputs = channel_type(channel.type).output_keys
        if outputs:
            opts = dict(channel.options)
            for key in outputs:
                opts[key] = str((base / opts[key]).resolve())
            channels[name] = ChannelConfig(**{**channel.__dict__, "options": opts})
    config = Config(
        path=path.resolve(),
        timezone=pub["timezone"],
        posts_dir=(base / pub["posts_dir"]).resolve(),
        state=state,
        languages=pub["languages"],
        catch_up=pub["catch_up"],
        tick=pub["tick"],
        max_attempts=_at_least_one("publisher.max_attempts", pub["max_attempts"]),
        lease=pub["lease"],
        retry_backoff=pub["retry_backoff"],
        reminder_offsets=rem["offsets"],
        reminder_time=rem["time"],
        templates=_templates(rem["templates"]),
        channels=channels,
        notify_urls_env=notify["urls_env"],
        sources=sources,
    )
    from publisher.core.config_safety import safety_warnings

    return replace(config, warnings=tuple(safety_warnings(config)))


def config_path(explicit: str | None) -> Path:
    """``--config``, else ``$PUBLISHER_CONFIG``, else ``./config.toml``."""
    return Path(explicit or os.environ.get("PUBLISHER_CONFIG") or "config.toml")


def load_config(path: Path) -> Config:
    """Read and validate the config file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found",
            "pass --config FILE, set PUBLISHER_CONFIG, or copy config.example.toml to config.toml",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: cannot read the config file ({exc})", "check the file"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", "fix the line named above") from None
    try:
        return parse_config(data, path)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.message}", exc.hint) from None


def _at_least_one(path: str, value: int) -> int:
    """``max_attempts = 0`` would mean "never send": refused rather than silently 1."""
    if value < 1:
        raise ConfigError(
            f"{path}: must be at least 1, got {value}",
            "the number of attempts per delivery, e.g. 5",
        )
    return value
