"""Wall-clock times in IANA zones, with DST gaps and overlaps made explicit."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from publisher.core.errors import UsageError


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The zone for an IANA name; ValueError with a readable reason otherwise."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{name!r} is not a known time zone") from None


def localize(wall: datetime, tz: ZoneInfo) -> tuple[datetime, str | None]:
    """Make a naive wall time aware in ``tz``; the second value warns of a DST gap or overlap.

    A time in a gap moves forward by the gap (02:30 -> 03:30); one in an overlap takes the
    first occurrence.  Either way the warning names the instant chosen.
    """
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first, None
    round_trip = first.astimezone(UTC).astimezone(tz)
    if round_trip.replace(tzinfo=None) != wall:
        chosen = round_trip
        return chosen, (
            f"{wall:%Y-%m-%d %H:%M} does not exist in {tz.key} (clocks jump forward); "
            f"using {chosen:%H:%M} local = {chosen.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        )
    return first, (
        f"{wall:%Y-%m-%d %H:%M} happens twice in {tz.key} (clocks go back); using the first, "
        f"{first.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    )


def at_wall_time(day: date, at: time, tz: ZoneInfo) -> tuple[datetime, str | None]:
    """The instant of a local wall time on a calendar day."""
    return localize(datetime.combine(day, at), tz)


def utc(value: datetime) -> datetime:
    """Aware UTC; a naive value is taken as UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the second: the form JSON output uses."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_utc() -> datetime:
    """The real clock; the only place the pipeline reads it."""
    return datetime.now(UTC)


def local_text(value: datetime, timezone: str, *, seconds: bool = False) -> str:
    """The one form people read a time in: wall time in ``timezone`` with its abbreviation."""
    local = utc(value).astimezone(zone(timezone))
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


#: What ``--from``/``--until``/``--since`` accept, for help texts and error hints.
WINDOW_FORMS = "2027-05-01, 2027-05-01T10:00, 2027-05, today, tomorrow, now, -7d, +2w, +12h"
_RELATIVE = re.compile(r"^([+-])(\d+)([smhdw])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def option_time(
    value: str | None, timezone: str, option: str, now: datetime | None = None
) -> datetime | None:
    """A time a person typed (DESIGN §8): ISO date or date-time (wall time in ``timezone``
    unless it carries an offset), ``YYYY-MM``, ``today``, ``tomorrow``, ``now``, or a signed
    duration from now (``-7d``, ``+2w``, ``+12h``)."""
    if value is None:
        return None
    text = value.strip().lower()
    current = utc(now) if now is not None else now_utc()
    tz = zone(timezone)
    if text == "now":
        return current
    if text in ("today", "tomorrow"):
        day = current.astimezone(tz).date() + timedelta(days=1 if text == "tomorrow" else 0)
        return utc(at_wall_time(day, time(0, 0), tz)[0])
    relative = _RELATIVE.match(text)
    if relative:
        sign, amount, unit = relative.groups()
        seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit] * int(amount)
        return current + timedelta(seconds=seconds if sign == "+" else -seconds)
    month = _MONTH.match(text)
    try:
        if month:
            parsed = datetime(int(month.group(1)), int(month.group(2)), 1)
        else:
            parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(
            f"{option} {value!r} is not a time this option understands (ISO 8601 or relative)",
            f"e.g. {WINDOW_FORMS}",
        ) from None
    if parsed.tzinfo is None:
        parsed = localize(parsed, tz)[0]
    return utc(parsed)
