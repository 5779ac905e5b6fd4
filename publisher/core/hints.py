"""Hints that tell a person the form a value is expected in, from what they wrote."""

from __future__ import annotations

import re

#: ``publish_at = 2026-12-20 10:00``: a date and time the way people write them.
_LOOSE_TIME = re.compile(
    r"^\s*([\w.-]+)\s*=\s*(\d{4}-\d{1,2}-\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*(#.*)?$"
)
_TIME_ONLY = re.compile(r"^\s*([\w.-]+)\s*=\s*(\d{1,2}):(\d{2})\s*(#.*)?$")
GENERIC = 'check quotes and "=" on that line'


def toml_hint(front: str, line: int | None) -> str:
    """The hint for a TOML error: the expected form when the line holds a loose date or time.

    ``line`` counts from the file's first line (the ``+++`` line is line 1).
    """
    if line is None:
        return GENERIC
    lines = front.split("\n")
    index = line - 2
    if not 0 <= index < len(lines):
        return GENERIC
    text = lines[index]
    loose = _LOOSE_TIME.match(text)
    if loose:
        key, day, hour, minute, second = loose.groups()[:5]
        y, m, d = (int(p) for p in day.split("-"))
        stamp = f"{y:04d}-{m:02d}-{d:02d}"
        if hour is not None:
            stamp += f"T{int(hour):02d}:{minute}:{second or '00'}"
        return f"write {key} as {key} = {stamp} (date, a T, then the time with seconds; no quotes)"
    short = _TIME_ONLY.match(text)
    if short:
        key, hour, minute = short.groups()[:3]
        return f"write {key} as {key} = {int(hour):02d}:{minute}:00 (with seconds; no quotes)"
    return GENERIC
