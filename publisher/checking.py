"""``check``'s work after reading: plan each post and find texts over a channel's limit.

Post by post, without holding every delivery of the site at once (at 100,000 files that was
340,000 deliveries).  Only deliveries the cheap length bound (``render.length_bound``)
cannot clear are rendered.  The messages come out in the order ``plan`` gives: by due time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from publisher.config import Config
from publisher.models import Delivery, Post
from publisher.plan import plan_post
from publisher.render import length_bound


@dataclass
class Checked:
    """What ``check`` reports: deliveries planned, plan warnings, texts that are too long."""

    deliveries: int = 0
    warnings: list[str] = field(default_factory=list)
    #: (post file, message), by the delivery's due time.
    too_long: list[tuple[str, str]] = field(default_factory=list)


def too_long(delivery: Delivery, channel: Any, config: Config) -> tuple[str, ...]:
    """The channel's errors for this delivery's text; empty when it fits (rendered if unsure)."""
    limit = getattr(channel, "limit", None)
    if limit is None:
        return ()  # no length limit: nothing to find by rendering (a feed item)
    bound = length_bound(delivery, channel.config, config, getattr(channel, "reserved", ""))
    if bound is not None and bound <= limit:
        return ()  # provably short enough, without the cost of rendering it
    return tuple(channel.render(delivery).errors)


def check_posts(posts: Iterable[Post], config: Config, channels: Mapping[str, Any]) -> Checked:
    """Plan and length-check every post, one post at a time."""
    out = Checked()
    found: list[tuple[Any, str, str, str]] = []
    for post in posts:
        out.warnings.extend(post.warnings)
        deliveries, dropped = plan_post(post, config)
        out.warnings.extend(dropped)
        out.deliveries += len(deliveries)
        for delivery in deliveries:
            for message in too_long(delivery, channels[delivery.channel], config):
                found.append((delivery.due_at, delivery.id, post.source, message))
    found.sort(key=lambda item: (item[0], item[1]))  # stable: a delivery's messages keep order
    for _, delivery_id, source, message in found:
        where = message if delivery_id in message else f"{delivery_id}: {message}"
        out.too_long.append((source, where))
    return out
