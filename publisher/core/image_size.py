"""An image's width and height (PNG, GIF, JPEG), for "smaller than recommended" advice.

The header is read by ``publisher.core.images.inspect``, the one reader of image headers;
this module turns its answer (kept there per file version) into advice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from publisher.core.images import ImageProblem, inspect


def dimensions(path: Path) -> tuple[int, int] | None:
    """(width, height) in pixels, or None when the file is missing or not PNG/GIF/JPEG."""
    try:
        facts = inspect(path)  # kept per file version there: each image is read once
    except ImageProblem:
        return None
    if facts.width is None or facts.height is None:
        return None
    return facts.width, facts.height


def small_image_warning(channel: Any, image: Path | None) -> str | None:
    """The channel's advice when ``image`` is smaller than its network recommends, else None."""
    advice = getattr(channel, "image_advice", None)
    if image is None or advice is None:
        return None
    size = dimensions(image)
    if size is None:
        return None
    said = advice(*size)
    return f"image {image.name} is {size[0]} x {size[1]} px: {said}" if said else None


def image_warnings(deliveries: Any, channels: Any) -> list[str]:
    """One warning per (channel, image) that is smaller than its network recommends."""
    from publisher.core.render import effective

    seen: set[tuple[str, Path]] = set()
    out: list[str] = []
    for delivery in deliveries:
        post = delivery.post
        if post.image is None and not post.overrides:
            continue  # the common case, without building the channel's view
        channel = channels.get(delivery.channel)
        if channel is None:
            continue
        image = effective(delivery, channel.config).image
        if image is None or (delivery.channel, image) in seen:
            continue
        seen.add((delivery.channel, image))
        said = small_image_warning(channel, image)
        if said:
            out.append(f"{delivery.post.source}: {delivery.channel}: {said}")
    return out
