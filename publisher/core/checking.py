"""``check``'s work after reading: plan each post and find texts over a channel's limit.

Post by post, without holding every delivery of the site at once (at 100,000 files that was
340,000 deliveries).  Only deliveries the cheap length bound (``render.length_bound``)
cannot clear are rendered.  The messages come out in the order ``plan`` gives: by due time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from publisher.core.config import Config
from publisher.core.models import Delivery, Post
from publisher.core.plan import plan_post
from publisher.core.posts import ReadResult, read_cached, read_posts
from publisher.core.render import length_bound

#: The key of a post's verdict in the per-file cache (a new shape gets a new key).
VERDICT = "check-3"


@dataclass(frozen=True)
class Due:
    """When a delivery is due on which channel (what the token-expiry warning needs)."""

    channel: str
    due_at: datetime


@dataclass
class Checked:
    """What ``check`` reports: deliveries planned, warnings, texts and images a channel refuses."""

    deliveries: int = 0
    warnings: list[str] = field(default_factory=list)
    #: (post file, message), by the delivery's due time: too long, or an image refused.
    too_long: list[tuple[str, str]] = field(default_factory=list)
    #: The deliveries on channels with a ``token_expires_at``, for the expiry warning.
    dues: list[Due] = field(default_factory=list)


def too_long(delivery: Delivery, channel: Any, config: Config) -> tuple[str, ...]:
    """The channel's errors for this delivery's text; empty when it fits (rendered if unsure)."""
    if bound_clears(delivery, channel, config):
        return ()
    return tuple(channel.render(delivery).errors)


def bound_clears(delivery: Delivery, channel: Any, config: Config) -> bool:
    """True when the text provably fits without rendering it (or the channel has no limit)."""
    limit = getattr(channel, "limit", None)
    if limit is None:
        return True  # no length limit: nothing to find by rendering (a feed item)
    bound = length_bound(delivery, channel.config, config, getattr(channel, "reserved", ""))
    return bound is not None and bound <= limit


def check_posts(
    posts: Iterable[Post],
    config: Config,
    channels: Mapping[str, Any],
    memos: Mapping[int, dict[str, Any]] | None = None,
) -> Checked:
    """Plan and length-check every post, one post at a time.

    With ``memos`` (``memos[id(post)]``, kept in the per-file cache), a post's verdict is
    taken from there when an earlier run stored it, and stored there when computed.
    """
    out = Checked()
    found: list[tuple[Any, str, str, str]] = []
    for post in posts:
        memo = memos.get(id(post)) if memos is not None else None
        verdict = memo.get(VERDICT) if memo is not None else None
        if verdict is None:
            verdict = _verdict(post, config, channels)
            if memo is not None:
                memo[VERDICT] = verdict
        count, dropped, problems, dues = verdict
        out.warnings.extend(post.warnings)
        out.warnings.extend(dropped)
        out.deliveries += count
        out.dues.extend(dues)
        found.extend(problems)
    found.sort(key=lambda item: (item[0], item[1]))  # stable: a delivery's messages keep order
    for _, delivery_id, source, message in found:
        where = message if delivery_id in message else f"{delivery_id}: {message}"
        out.too_long.append((source, where))
    return out


def _verdict(post: Post, config: Config, channels: Mapping[str, Any]) -> tuple[Any, ...]:
    """(deliveries planned, warnings, refused texts or images, dues) of one post.

    A text is rendered only when the cheap length bound cannot clear it; an image is judged
    by the channel's ``image_problems`` (its bytes), so a post with an image is not rendered
    for that either.  A channel without ``image_problems`` (a plugin) renders to tell.
    """
    from publisher.core.image_size import image_warnings
    from publisher.core.images import has_image
    from publisher.core.render import effective

    deliveries, dropped = plan_post(post, config)
    problems: list[tuple[Any, str, str, str]] = []
    fits: set[tuple[str, bool]] = set()  # a channel's reminders share one bound (no templates)
    judged: dict[tuple[str, str], list[str]] = {}  # (channel, image): its problems, once
    image = bool(deliveries) and has_image(deliveries[0])
    for delivery in deliveries:
        channel = channels[delivery.channel]
        judge = getattr(channel, "image_problems", None)
        messages: list[str] = []
        if image and judge is not None:
            path = effective(delivery, channel.config).image
            if path is not None:
                key = (delivery.channel, str(path))
                if key not in judged:
                    judged[key] = judge(path)
                    messages.extend(judged[key])
        kind = (delivery.channel, delivery.offset is None)
        if kind not in fits:
            if (image and judge is None) or not bound_clears(delivery, channel, config):
                messages.extend(m for m in channel.render(delivery).errors if m not in messages)
            else:
                fits.add(kind)  # the bound does not depend on which reminder it is
        problems.extend((delivery.due_at, delivery.id, post.source, m) for m in messages)
    warned = [*dropped, *image_warnings(deliveries, channels)]
    expiring = {n for n, c in config.channels.items() if c.options.get("token_expires_at")}
    dues = tuple(Due(d.channel, d.due_at) for d in deliveries if d.channel in expiring)
    return len(deliveries), tuple(warned), tuple(problems), dues


def check_site(config: Config, channels: Mapping[str, Any]) -> tuple[ReadResult, Checked]:
    """Read every post file and check it; unchanged files reuse their verdict from the cache."""
    checked = Checked()

    def derive(read: ReadResult, memos: dict[int, dict[str, Any]]) -> bool:
        nonlocal checked
        before = sum(1 for m in memos.values() if VERDICT in m)
        checked = check_posts(read.posts, config, channels, memos)
        return sum(1 for m in memos.values() if VERDICT in m) != before

    if not config.posts_dir.is_dir():
        read_posts(config)  # raises the error that names posts_dir
    read = read_cached(config, derive)
    return read, checked
