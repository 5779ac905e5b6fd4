"""A planned delivery in the shape the ledger stores, with a digest of what its payload is made from.

Pure (no SQL): the runner builds these rows and the store's sync writes them.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from publisher.core.config import ChannelConfig
    from publisher.core.models import Delivery


def content_hash(delivery: Delivery, cfg: ChannelConfig) -> str:
    """A digest of everything of the post that this delivery's payload is made from."""
    post = delivery.post
    over = post.override(cfg.name, cfg.type)
    image_stamp = ""
    image = over.image or post.image
    if image is not None:
        try:
            stat = image.stat()
            image_stamp = f"{image}:{stat.st_size}:{stat.st_mtime_ns}"
        except OSError:
            image_stamp = str(image)
    parts: list[Any] = [
        delivery.kind,
        post.title,
        post.body,
        post.link,
        image_stamp,
        post.image_alt,
        post.tags,
        over,
        post.event if delivery.is_reminder else None,
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def planned_row(delivery: Delivery, cfg: ChannelConfig) -> dict[str, Any]:
    """A delivery in the shape sync stores."""
    return {
        "id": delivery.id,
        "post": delivery.post.id,
        "language": delivery.language,
        "channel": delivery.channel,
        "kind": delivery.kind,
        "source": delivery.post.source,
        "due_at": delivery.due_at,
        "expires_at": delivery.expires_at,
        "content_hash": content_hash(delivery, cfg),
    }
