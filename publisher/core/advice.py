"""Warnings about posts that are valid but probably not what the writer meant."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from publisher.core.models import Post

#: A publish_at further back than this is most likely a typo in the year.
LONG_AGO = timedelta(days=365)


def long_ago(posts: Iterable[Post], now: datetime) -> list[str]:
    """One warning per post whose ``publish_at`` is more than 365 days before ``now``."""
    return [
        f"{post.source}: publish_at {post.publish_at:%Y-%m-%d %H:%M} is more than 365 days ago; "
        "a feed takes it at once, social channels let it expire (check the year)"
        for post in posts
        if not post.draft and now - post.publish_at > LONG_AGO
    ]
