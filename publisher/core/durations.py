"""Offsets and durations written ``<int><s|m|h|d|w>`` (DESIGN §1)."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: object) -> tuple[int, str]:
    """Split ``"7d"`` into ``(7, "d")``; raise ValueError with a readable reason."""
    if not isinstance(text, str):
        raise ValueError(f'{text!r} is not a duration; write it as a string like "7d" or "2h"')
    match = _DURATION.match(text.strip())
    if not match:
        if text.strip().startswith("-"):
            raise ValueError(f"{text!r} is negative; offsets count back from the event start")
        raise ValueError(f'{text!r} is not a duration; use <number><s|m|h|d|w>, e.g. "7d", "2h"')
    return int(match.group(1)), match.group(2)


def to_timedelta(text: object) -> timedelta:
    """An elapsed duration (``d`` and ``w`` count as 24 h days here)."""
    amount, unit = parse_duration(text)
    return timedelta(seconds=amount * _SECONDS[unit])


def is_calendar(unit: str) -> bool:
    """Day and week offsets are calendar days at ``reminder_time``, not elapsed hours."""
    return unit in ("d", "w")
