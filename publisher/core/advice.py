"""Warnings about posts that are valid but probably not what the writer meant."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from publisher.core.models import Post

#: A publish_at further back than this is most likely a typo in the year.
LONG_AGO = timedelta(days=365)


def long_ago(posts: Iterable[Post], now: datetime) -> list[str]:
    """Warnings for posts that will never go out as meant: a year-old ``publish_at``, or an
    ``expires_at`` that comes before it."""
    said = []
    for post in posts:
        if post.draft:
            continue
        if now - post.publish_at > LONG_AGO:
            said.append(
                f"{post.source}: publish_at {post.publish_at:%Y-%m-%d %H:%M} is more than 365 "
                "days ago; a feed takes it at once, social channels let it expire (check the year)"
            )
        if post.expires_at is not None and post.expires_at <= post.publish_at:
            said.append(
                f"{post.source}: expires_at {post.expires_at:%Y-%m-%d %H:%M} is not after "
                f"publish_at {post.publish_at:%Y-%m-%d %H:%M}, so this post never goes out "
                "(check both dates)"
            )
    return said
