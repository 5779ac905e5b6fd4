"""Recurring posts: an RFC 5545 RRULE in ``repeat``, expanded on local wall times, DST-correct.

The rule is expanded by ``dateutil.rrule`` on naive wall times in the post's zone (so "10:00
every first Monday" stays 10:00 local all year), then each occurrence is placed in UTC with the
gap and overlap rules of ``times.localize``.  Each occurrence is a delivery of kind
``repeat-YYYYMMDD`` whose text has ``{date}`` replaced by that day, in the post's language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING, Any

from publisher.core.models import Delivery, Override, Post
from publisher.core.times import localize, zone

if TYPE_CHECKING:
    from publisher.core.fields import Fields

MAX_OCCURRENCES = 1000
PLACEHOLDER = "{date}"
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
PARTS = frozenset(
    [
        "FREQ",
        "INTERVAL",
        "COUNT",
        "UNTIL",
        "BYDAY",
        "BYMONTHDAY",
        "BYYEARDAY",
        "BYWEEKNO",
        "BYMONTH",
        "BYSETPOS",
        "WKST",
    ]
)
HINTS = {
    "BYDAY": "days are MO TU WE TH FR SA SU, with an optional number: BYDAY=1MO is the first "
    "Monday, BYDAY=-1FR the last Friday",
    "INTERVAL": "INTERVAL is a whole number: INTERVAL=2 is every other time",
    "WKST": "WKST is a day: MO TU WE TH FR SA SU",
}
EXAMPLE = 'e.g. repeat = "FREQ=MONTHLY;BYDAY=1MO;COUNT=12" (the first Monday of 12 months)'


class RuleError(ValueError):
    """A repeat rule that cannot be used, said for a person: ``message`` and ``hint``."""

    def __init__(self, message: str, hint: str = EXAMPLE) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Occurrence:
    """One time a recurring post goes out: its local day, its instant, and any DST warning."""

    day: date
    at: datetime
    warning: str | None = None


def _parts(rule: str) -> dict[str, str]:
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text:
        raise RuleError("the rule is empty")
    parts: dict[str, str] = {}
    for item in text.split(";"):
        name, sep, value = item.partition("=")
        name, value = name.strip().upper(), value.strip().upper()
        if not sep or not name or not value:
            raise RuleError(f"{item.strip()!r} is not written NAME=VALUE (parts are split by ';')")
        if name in ("BYHOUR", "BYMINUTE", "BYSECOND"):
            raise RuleError(
                f"{name} cannot be used: a recurring post goes out at most once a "
                "day, at the time of publish_at",
                "remove " + name,
            )
        if name not in PARTS:
            raise RuleError(
                f"{name} is not a part of a repeat rule", "parts: " + ", ".join(sorted(PARTS))
            )
        if name in parts:
            raise RuleError(f"{name} is written twice", f"keep one {name}")
        parts[name] = value
    freq = parts.get("FREQ")
    if freq is None:
        raise RuleError("FREQ is missing: say how often, e.g. FREQ=MONTHLY")
    if freq not in FREQUENCIES:
        raise RuleError(
            f"FREQ={freq} is not possible: a recurring post goes out at most once a day",
            "use FREQ=DAILY, WEEKLY, MONTHLY or YEARLY",
        )
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleError("the rule has both COUNT and UNTIL", "keep one of them")
    if "COUNT" not in parts and "UNTIL" not in parts:
        raise RuleError(
            "the rule never ends", "add COUNT=12 (how many times) or UNTIL=20271231 (the last day)"
        )
    if not parts.get("INTERVAL", "1").isdigit() or parts.get("INTERVAL") == "0":
        raise RuleError(
            f"INTERVAL={parts['INTERVAL']} is not a whole number from 1", HINTS["INTERVAL"]
        )
    if "COUNT" in parts and not (
        parts["COUNT"].isdigit() and 1 <= int(parts["COUNT"]) <= MAX_OCCURRENCES
    ):
        raise RuleError(f"COUNT={parts['COUNT']} is not a number from 1 to {MAX_OCCURRENCES}")
    return parts


def _until(value: str, tz: str) -> tuple[datetime, datetime]:
    """UNTIL as (a naive local bound for the expansion, the last allowed instant in UTC)."""
    if re.fullmatch(r"\d{8}", value):
        try:
            day = datetime.strptime(value, "%Y%m%d").date()
        except ValueError:
            raise RuleError(f"UNTIL={value} is not a real date") from None
        last = datetime.combine(day, time(23, 59, 59))
        return last, localize(last, zone(tz))[0].astimezone(UTC)
    if re.fullmatch(r"\d{8}T\d{6}Z", value):
        try:
            instant = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise RuleError(f"UNTIL={value} is not a real time") from None
        return instant.astimezone(zone(tz)).replace(tzinfo=None) + timedelta(days=1), instant
    raise RuleError(
        f"UNTIL={value} must be a date (UNTIL=20271231) or a UTC time ending in Z "
        "(UNTIL=20271231T230000Z)",
        "write the last day as YYYYMMDD",
    )


@lru_cache(maxsize=1024)
def occurrences(rule: str, anchor: datetime, tz: str) -> tuple[Occurrence, ...]:
    """Every occurrence of ``rule`` from ``anchor`` (always the first, as RFC 5545's DTSTART).

    Raises ``RuleError`` saying what is wrong with the rule in words a person understands.
    """
    from dateutil.rrule import rrulestr

    parts = _parts(rule)
    zone_info = zone(tz)
    start = anchor.astimezone(zone_info).replace(tzinfo=None, fold=0)
    until = None
    if "UNTIL" in parts:
        until = _until(parts.pop("UNTIL"), tz)
    text = "RRULE:" + ";".join(f"{k}={v}" for k, v in parts.items())
    try:
        expansion = rrulestr(text, dtstart=start)
        if until is not None:
            expansion = expansion.replace(until=until[0])  # type: ignore[union-attr]
        walls = list(islice(iter(expansion), MAX_OCCURRENCES + 2))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        bad = re.search(r"invalid '(\w+)': (\S+)", str(exc))
        if bad:
            name = bad.group(1).upper()
            raise RuleError(
                f"{name}={bad.group(2)} is not understood", HINTS.get(name, EXAMPLE)
            ) from None
        raise RuleError(f"the rule is not understood ({exc})") from None
    off_rule = not walls or walls[0] != start
    walls = [start, *(w for w in walls if w != start)]
    if "COUNT" in parts:
        walls = walls[: int(parts["COUNT"])]
    found: list[Occurrence] = []
    for wall in walls:
        at, warning = localize(wall, zone_info)
        at = at.astimezone(UTC)
        if until is not None and at > until[1]:
            break
        if off_rule and not found:
            note = (
                f"publish_at ({start:%a %Y-%m-%d}) is not one of the rule's days; it is the "
                "first time anyway"
            )
            warning = f"{warning}; {note}" if warning else note
        found.append(Occurrence(wall.date(), at, warning))
    if len(found) > MAX_OCCURRENCES:
        raise RuleError(
            f"the rule repeats more than {MAX_OCCURRENCES} times",
            "end it sooner with COUNT or UNTIL",
        )
    if len(found) == 1 and ("COUNT" not in parts or parts["COUNT"] != "1"):
        raise RuleError(
            "the rule gives no day after publish_at",
            "check UNTIL and the BY... parts (e.g. BYMONTHDAY=31 in a 30-day month)",
        )
    if not found:
        raise RuleError(
            "UNTIL is before publish_at, so the post never goes out",
            "UNTIL is the last day; make it later than publish_at",
        )
    return tuple(found)


@lru_cache(maxsize=4096)
def date_text(day: date, language: str) -> str:
    """The occurrence's date as the post's readers write it ("7 giugno 2027")."""
    from babel.dates import format_date

    from publisher.core.reminders import _known_locale, babel_locale

    locale = babel_locale(language)
    return format_date(day, format="long", locale=locale if _known_locale(locale) else "en")


def on_day(post: Post, day: date) -> Post:
    """The post as it goes out on one day: ``{date}`` replaced in its title, text and overrides."""
    words = date_text(day, post.language)

    def fill(text: str | None) -> str | None:
        return None if text is None else text.replace(PLACEHOLDER, words)

    overrides = {
        name: replace(over, text=fill(over.text), summary=fill(over.summary))
        for name, over in post.overrides.items()
    }
    return replace(
        post, title=fill(post.title) or post.title, body=fill(post.body) or "", overrides=overrides
    )


def repeat_deliveries(
    post: Post, channel: str, anchor: datetime
) -> tuple[list[Delivery], list[str]]:
    """One delivery per occurrence, kind ``repeat-YYYYMMDD``; warnings name DST instants."""
    assert post.repeat is not None
    deliveries: list[Delivery] = []
    warnings: list[str] = []
    try:
        found = occurrences(post.repeat, anchor, post.timezone)
    except RuleError as exc:  # a channel's own publish_at may start it where it cannot work
        return [], [f"{post.source}: repeat for {channel!r}: {exc.message}; nothing planned"]
    for item in found:
        if item.warning:
            warnings.append(f"{post.source}: repeat: {item.warning}")
        deliveries.append(
            Delivery(
                on_day(post, item.day),
                channel,
                f"repeat-{item.day:%Y%m%d}",
                item.at,
                post.expires_at,
            )
        )
    return deliveries, warnings


def checked_rule(
    ctx: Fields,
    value: Any,
    publish_at: datetime,
    tz: str,
    text: tuple[str, str, Mapping[str, Override]],
) -> str:
    """The ``repeat`` value of a post file, or ``PostError`` naming the file, key and line."""
    from publisher.core.fields import typed

    rule = typed(ctx, "repeat", value, str, '"FREQ=MONTHLY;BYDAY=1MO;COUNT=12"')
    try:
        occurrences(rule, publish_at, tz)
    except RuleError as exc:
        raise ctx.fail(
            "repeat", f"this repeat rule cannot be used: {exc.message}", exc.hint
        ) from None
    where = missing_placeholder(*text)
    if where is not None:
        raise ctx.fail(
            "repeat",
            f"a recurring post needs {PLACEHOLDER} in {where}, so that "
            "each time reads differently (LinkedIn refuses the same text twice)",
            f'e.g. title = "Our newsletter of {PLACEHOLDER}"',
        )
    return rule


def missing_placeholder(title: str, body: str, overrides: Mapping[str, Override]) -> str | None:
    """Where a recurring post lacks ``{date}`` (each occurrence's text must differ), or None."""
    if PLACEHOLDER not in title and PLACEHOLDER not in body:
        return "its title or text"
    for name, over in overrides.items():
        if over.text is not None and PLACEHOLDER not in over.text:
            return f"[{name}] text"
    return None
