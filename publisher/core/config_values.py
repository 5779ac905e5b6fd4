"""Checks of single config values: each takes the key path and the value, and names the path."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from publisher.core.durations import to_timedelta
from publisher.core.errors import ConfigError

LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")


@dataclass(frozen=True)
class Key:
    """One config key: its check and its default (``REQUIRED`` for none)."""

    check: Callable[[str, Any], Any]
    default: Any = None


REQUIRED = object()


def _str(path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{path}: expected a string, got {value!r}", f'write {path} = "..."')
    return value


def _url(path: str, value: Any) -> str:
    text = _str(path, value)
    if not re.match(r"^https?://[^/\s]+", text):
        raise ConfigError(f"{path}: {text!r} is not an http(s) URL", "write the full URL")
    return text.rstrip("/") if path.endswith("api_url") else text


def _int(path: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{path}: expected a whole number >= 0, got {value!r}", "e.g. 5")
    return value


def _bool(path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: expected true or false, got {value!r}", "write true or false")
    return value


def _duration(path: str, value: Any) -> timedelta:
    try:
        return to_timedelta(value)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}", 'e.g. "2d", "60s"') from None


def _time(path: str, value: Any) -> time:
    if not isinstance(value, time):
        raise ConfigError(f"{path}: expected a time like 09:00:00, got {value!r}", "no quotes")
    return value


def _date(path: str, value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        raise ConfigError(f"{path}: expected a date like 2027-01-20, got {value!r}", "no quotes")
    return value


def _timezone(path: str, value: Any) -> str:
    from publisher.core.times import zone

    name = _str(path, value)
    try:
        zone(name)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}", 'use an IANA name like "Europe/Berlin"') from None
    return name


def _languages(path: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: expected a list of language codes", 'e.g. ["en", "it"]')
    for lang in value:
        if not LANGUAGE.match(lang):
            raise ConfigError(f"{path}: {lang!r} is not a language code", 'e.g. "it" or "pt-BR"')
    return tuple(value)


def _strings(path: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: expected a list of strings", '["..."]')
    return tuple(value)


def _offsets(path: str, value: Any) -> tuple[str, ...]:
    offsets = _strings(path, value)
    for offset in offsets:
        _duration(path, offset)
    return offsets


def _api_version_fb(path: str, value: Any) -> str:
    text = _str(path, value)
    if not re.match(r"^v\d+\.\d+$", text):
        raise ConfigError(f"{path}: {text!r} is not a Graph API version", 'e.g. "v26.0"')
    return text


def _api_version_li(path: str, value: Any) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    text = _str(path, text)
    if not re.match(r"^\d{6}(\.\d+)?$", text):
        raise ConfigError(
            f"{path}: {text!r} is not a LinkedIn-Version", 'use YYYYMM, e.g. "202608"'
        )
    return text


def _env_name(path: str, value: Any) -> str:
    """The NAME of an environment variable; the value is never echoed (it may be a secret)."""
    if not isinstance(value, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
        raise ConfigError(
            f"{path}: must be the name of an environment variable (letters, digits, _)",
            f'write e.g. {path.rsplit(".", 1)[-1]} = "PUBLISHER_FACEBOOK_TOKEN" and put the '
            "secret itself in that variable, never in the config",
        )
    return value


def _path(path: str, value: Any) -> str:
    return _str(path, value)
