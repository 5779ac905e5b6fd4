"""Pure planning: (posts, config, now) -> deliveries, with event reminders and catch-up rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from publisher.core.config import Config
from publisher.core.durations import is_calendar, parse_duration, to_timedelta
from publisher.core.models import Delivery, Post
from publisher.core.times import at_wall_time, utc, zone


@dataclass(frozen=True)
class Plan:
    """Every delivery the current post files ask for, and what planning had to drop."""

    deliveries: list[Delivery] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def by_id(self) -> dict[str, Delivery]:
        return {d.id: d for d in self.deliveries}


def reminder_instant(post: Post, offset: str) -> tuple[datetime, str | None]:
    """When a reminder goes out: day offsets at ``reminder_time`` local, hour offsets exact.

    Calendar arithmetic happens in the event's zone, so a DST change between the reminder
    and the event does not shift a "7d" reminder by an hour.
    """
    assert post.event is not None
    amount, unit = parse_duration(offset)
    if is_calendar(unit):
        tz = zone(post.timezone)
        day = post.event.start.astimezone(tz).date() - timedelta(
            days=amount * (7 if unit == "w" else 1)
        )
        at, warning = at_wall_time(day, post.event.reminder_time, tz)
        return utc(at), warning
    return utc(post.event.start) - to_timedelta(offset), None


def plan_post(post: Post, config: Config) -> tuple[list[Delivery], list[str]]:
    """The deliveries of one post file (one language), across its channels."""
    deliveries: list[Delivery] = []
    warnings: list[str] = []
    if post.draft:
        return deliveries, warnings
    for name in tuple(config.channels) if post.channels is None else post.channels:
        cfg = config.channels[name]
        if post.language not in cfg.languages:
            if post.channels is not None:
                warnings.append(
                    f"{post.source}: channel {name!r} does not take language {post.language!r}; "
                    "nothing is sent there"
                )
            continue
        over = post.override(name, cfg.type)
        if over.enabled is False:
            continue
        announce = utc(over.publish_at or post.publish_at)
        deliveries.append(Delivery(post, name, "post", announce, post.expires_at))
        if post.event is None or not cfg.reminders:
            continue
        start = utc(post.event.start)
        expires = min(start, utc(post.expires_at)) if post.expires_at else start
        for offset in post.event.reminders:
            at, warning = reminder_instant(post, offset)
            if warning:
                warnings.append(f"{post.source}: reminder {offset}: {warning}")
            if at < announce:
                warnings.append(
                    f"{post.source}: reminder {offset} for {name!r} would go out before the "
                    f"announcement ({at:%Y-%m-%d %H:%M} UTC); dropped"
                )
                continue
            if at >= start:
                warnings.append(
                    f"{post.source}: reminder {offset} for {name!r} would go out at or after the "
                    "event start; dropped"
                )
                continue
            deliveries.append(Delivery(post, name, f"reminder-{offset}", at, expires, offset))
    return deliveries, warnings


def plan(posts: list[Post], config: Config, now: datetime | None = None) -> Plan:
    """Plan every post; ``now`` is accepted so callers pass one clock (planning ignores it)."""
    del now
    deliveries: list[Delivery] = []
    warnings: list[str] = []
    for post in posts:
        warnings.extend(post.warnings)
        found, dropped = plan_post(post, config)
        deliveries.extend(found)
        warnings.extend(dropped)
    deliveries.sort(key=lambda d: (d.due_at, d.id))
    return Plan(deliveries, warnings)


def expiry_reason(
    due_at: datetime,
    expires_at: datetime | None,
    now: datetime,
    catch_up: timedelta,
    *,
    is_reminder: bool,
    honours_catch_up: bool = True,
) -> str | None:
    """Why a delivery must not go out any more at ``now``, or None if it still may."""
    if expires_at is not None and now >= expires_at:
        if is_reminder:
            return f"the event started or the post expired at {expires_at:%Y-%m-%d %H:%M} UTC"
        return f"the post expired at {expires_at:%Y-%m-%d %H:%M} UTC (expires_at)"
    if honours_catch_up and now - due_at > catch_up:
        late = now - due_at
        return f"{_human(late)} late, more than catch_up ({_human(catch_up)})"
    return None


def preview_state(delivery: Delivery, channel_type: str, now: datetime, catch_up: timedelta) -> str:
    """What preview calls a not-yet-sent delivery: pending, overdue or will expire."""
    reason = expiry_reason(
        delivery.due_at,
        delivery.expires_at,
        now,
        catch_up,
        is_reminder=delivery.is_reminder,
        honours_catch_up=channel_type != "rss",
    )
    if reason:
        return "will expire"
    return "overdue" if delivery.due_at <= now else "pending"


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}{'' if seconds % size == 0 else '+'}"
    return f"{seconds}s"
