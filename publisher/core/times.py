"""Wall-clock times in IANA zones, with DST gaps and overlaps made explicit."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


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


def option_time(value: str | None, timezone: str, option: str) -> datetime | None:
    """``--from``/``--until``: ISO 8601, wall time in ``timezone`` unless it carries an offset."""
    from publisher.core.errors import UsageError

    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{option} {value!r} is not an ISO 8601 date or date-time",
            "e.g. 2027-05-01 or 2027-05-01T10:00",
        ) from None
    if parsed.tzinfo is None:
        parsed = localize(parsed, zone(timezone))[0]
    return utc(parsed)
