"""Front-matter fields: typed values, times, images, the [event] table and override tables.

Each check raises ``PostError`` naming the file, the key and the line where it is written.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

from publisher.core.config import FRONT_MATTER_KEYS, Config
from publisher.core.durations import to_timedelta
from publisher.core.errors import PostError
from publisher.core.models import Event, Override
from publisher.core.times import localize, zone

TOP_KEYS = FRONT_MATTER_KEYS
EVENT_KEYS = frozenset(["start", "end", "location", "online_url", "reminders", "reminder_time"])
#: Times outside these years are refused: they cannot be placed in UTC or planned around.
FIRST_YEAR, LAST_YEAR = 1900, 9000
#: A reminder at most this long before its event (and so always a plannable date).
LONGEST_OFFSET_DAYS = 3660


class Fields:
    """What a parse needs to say where a problem is."""

    def __init__(self, source: str, front: str) -> None:
        self.source = source
        self.lines = front.split("\n")

    def line_of(self, key: str, table: str | None = None) -> int | None:
        """The file line where ``key =`` is written (front matter starts on line 2)."""
        in_table = table is None
        for number, line in enumerate(self.lines, start=2):
            stripped = line.strip()
            if stripped.startswith("["):
                in_table = table is not None and stripped.strip("[] ") == table
                if table is None:
                    break
                continue
            if in_table and re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
                return number
        for number, line in enumerate(self.lines, start=2):
            if line.strip() == f"[{key}]":
                return number
        return None

    def fail(self, key: str, message: str, hint: str = "", table: str | None = None) -> PostError:
        where = f"{table}.{key}" if table else key
        return PostError(self.source, f"{where}: {message}", hint, self.line_of(key, table))


def wall_time(
    ctx: Fields, key: str, value: Any, tz: str, table: str | None
) -> tuple[datetime, str | None]:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = (
                datetime.fromisoformat(value)
                if re.search(r"\d[T ]\d", value)
                else date.fromisoformat(value)
            )
    if isinstance(value, datetime):
        warning = None
        aware = value
        try:
            if value.tzinfo is None:
                aware, warning = localize(value, zone(tz))
            placed = aware.astimezone(UTC)
        except (OverflowError, ValueError):
            placed = None
        if placed is None or not FIRST_YEAR <= placed.year <= LAST_YEAR:
            raise ctx.fail(
                key,
                f"{value} cannot be placed in time (UTC)",
                f"use a date between the years {FIRST_YEAR} and {LAST_YEAR}, "
                "e.g. 2027-05-02T10:00:00",
                table,
            )
        where = f"{table}.{key}" if table else key
        return aware, f"{where}: {warning}" if warning else None
    if isinstance(value, date):
        raise ctx.fail(key, f"{value} has no time of day", f"write e.g. {value}T10:00:00", table)
    raise ctx.fail(
        key, f"{value!r} is not a date and time", "write e.g. 2027-05-02T10:00:00", table
    )


def typed(
    ctx: Fields,
    key: str,
    value: Any,
    kind: type | tuple[type, ...],
    example: str,
    table: str | None = None,
) -> Any:
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise ctx.fail(key, f"expected {example}, got {value!r}", f"e.g. {key} = {example}", table)
    return value


def strings(ctx: Fields, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ctx.fail(
            key, f"expected a list of strings, got {value!r}", f'e.g. {key} = ["a", "b"]'
        )
    return tuple(value)


def image_path(
    ctx: Fields, key: str, value: Any, path: Path, config: Config, table: str | None
) -> Path:
    typed(ctx, key, value, str, '"media/photo.jpg"', table)
    image = _resolved(os.path.join(path.parent, value))
    if not _inside(str(image), str(config.posts_dir)):
        raise ctx.fail(
            key,
            f"{value!r} is outside posts_dir ({config.posts_dir})",
            "keep images inside the posts folder, e.g. posts/media/",
            table,
        )
    if not os.path.isfile(image):  # one stat for the usual case; a folder is named as such
        if os.path.isdir(image):
            raise ctx.fail(
                key,
                f"image {value!r} is a folder, not an image file",
                "name the image file inside it",
                table,
            )
        raise ctx.fail(
            key,
            f"image {value!r} not found (looked for {image})",
            "check the path; it is relative to the post file",
            table,
        )
    return image


def _inside(name: str, folder: str) -> bool:
    """``Path.is_relative_to`` for resolved paths, by string prefix (no path parsing)."""
    return name == folder or name.startswith(folder if folder.endswith(os.sep) else folder + os.sep)


def _resolved(name: str) -> Path:
    """``Path(name).resolve()``, resolving each folder once per run (many posts share one)."""
    folder, base = os.path.split(name)
    if not base or base in (".", ".."):
        return Path(name).resolve()
    real = Path(_real_folder(folder or "."), base)
    return real.resolve() if real.is_symlink() else real


@lru_cache(maxsize=4096)
def _real_folder(folder: str) -> str:
    return os.path.realpath(folder)


def forget_folders() -> None:
    """Drop the resolved folders: a later scan must see a folder link that changed."""
    _real_folder.cache_clear()


def event_table(ctx: Fields, data: Any, tz: str, config: Config, warnings: list[str]) -> Event:
    if not isinstance(data, dict):
        raise ctx.fail("event", "expected a table [event]", "write [event] and start = ...")
    unknown = sorted(set(data) - EVENT_KEYS)
    if unknown:
        raise ctx.fail(
            unknown[0],
            "unknown key in [event]",
            f"known keys: {', '.join(sorted(EVENT_KEYS))}",
            "event",
        )
    if "start" not in data:
        raise ctx.fail("event", "[event] has no start", "add start = 2027-06-17T09:00:00")
    start, warning = wall_time(ctx, "start", data["start"], tz, "event")
    warnings.extend([warning] if warning else [])
    end = None
    if "end" in data:
        end, warning = wall_time(ctx, "end", data["end"], tz, "event")
        warnings.extend([warning] if warning else [])
        if end < start:
            raise ctx.fail("end", "the event ends before it starts", "check start and end", "event")
    reminders = config.reminder_offsets
    if "reminders" in data:
        reminders = strings(ctx, "reminders", data["reminders"])
    for offset in reminders:
        try:
            try:
                too_far = to_timedelta(offset).days > LONGEST_OFFSET_DAYS
            except OverflowError:
                too_far = True
            if too_far:
                raise ValueError(f"{offset!r} is more than 10 years before the event")
        except ValueError as exc:
            raise ctx.fail(
                "reminders", str(exc), 'e.g. reminders = ["30d", "7d", "1d", "2h"]', "event"
            ) from None
    at = data.get("reminder_time", config.reminder_time)
    if not isinstance(at, time):
        raise ctx.fail(
            "reminder_time",
            f"expected a time like 09:00:00, got {at!r}",
            "write it without quotes",
            "event",
        )
    return Event(
        start=start,
        end=end,
        location=typed(ctx, "location", data.get("location", ""), str, '"Maastricht, NL"', "event"),
        online_url=typed(
            ctx, "online_url", data.get("online_url", ""), str, '"https://..."', "event"
        ),
        reminders=tuple(dict.fromkeys(reminders)),
        reminder_time=at,
    )


def override_tables(
    ctx: Fields,
    tables: Mapping[str, Any],
    path: Path,
    tz: str,
    config: Config,
    warnings: list[str],
    problems: list[PostError],
) -> dict[str, Override]:
    from publisher.core.plugins import channel_type, type_names

    types = {c.type: c for c in config.channels.values()}
    installed = type_names()
    out: dict[str, Override] = {}
    for name, data in tables.items():
        channel = config.channels.get(name) or types.get(name)
        kind = channel.type if channel is not None else name
        if kind not in installed:
            known = ", ".join(sorted(set(config.channels) | set(installed)))
            if isinstance(data, dict):  # a table: maybe a channel since removed; the rest goes on
                problems.append(
                    ctx.fail(
                        name,
                        "unknown key or channel (this table is ignored)",
                        f"override tables: {known}",
                    )
                )
                continue
            raise ctx.fail(
                name,
                "unknown key or channel",
                f"front-matter keys: {', '.join(sorted(TOP_KEYS))}; override tables: {known}",
            )
        if not isinstance(data, dict):
            raise ctx.fail(name, f"expected a table [{name}]", f"write [{name}] and text = ...")
        allowed = channel_type(kind).override_keys
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ctx.fail(
                unknown[0],
                f"not an override key for a {kind} channel",
                f"allowed: {', '.join(sorted(allowed))}",
                name,
            )
        publish_at = None
        if "publish_at" in data:
            publish_at, warning = wall_time(ctx, "publish_at", data["publish_at"], tz, name)
            warnings.extend([warning] if warning else [])
        image = (
            image_path(ctx, "image", data["image"], path, config, name) if "image" in data else None
        )
        out[name] = Override(
            text=typed(ctx, "text", data["text"], str, '"..."', name) if "text" in data else None,
            publish_at=publish_at,
            link=url(ctx, "link", data["link"], name) if "link" in data else None,
            image=image,
            image_alt=typed(ctx, "image_alt", data["image_alt"], str, '"..."', name)
            if "image_alt" in data
            else None,
            enabled=typed(ctx, "enabled", data["enabled"], bool, "false", name)
            if "enabled" in data
            else None,
            summary=typed(ctx, "summary", data["summary"], str, '"..."', name)
            if "summary" in data
            else None,
        )
    return out


def url(ctx: Fields, key: str, value: Any, table: str | None = None) -> str:
    """A full http(s) URL (or empty): links go out as they are, so a typo must not."""
    text = typed(ctx, key, value, str, '"https://..."', table)
    if text and not re.match(r"^https?://[^\s/]+\.[^\s]*$|^https?://[^\s/]+(:\d+)?(/\S*)?$", text):
        raise ctx.fail(
            key,
            f"{text!r} is not a full http(s) URL",
            'write it with https://, e.g. link = "https://example.org/news"',
            table,
        )
    return text
