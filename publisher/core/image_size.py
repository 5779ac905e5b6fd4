"""An image's width and height from its first bytes (PNG, GIF, JPEG), for size advice.

No imaging library: the header says the size, and reading a few kilobytes keeps ``check``
and ``preview`` fast.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from pathlib import Path
from typing import Any

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def dimensions(path: Path) -> tuple[int, int] | None:
    """(width, height) in pixels, or None when the file is missing or not PNG/GIF/JPEG."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _dimensions(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=1024)
def _dimensions(path: str, size: int, mtime: int) -> tuple[int, int] | None:
    try:
        with open(path, "rb") as handle:
            head = handle.read(32)
            if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
                width, height = struct.unpack(">II", head[16:24])
                return width, height
            if head[:6] in (b"GIF87a", b"GIF89a"):
                width, height = struct.unpack("<HH", head[6:10])
                return width, height
            if head.startswith(b"\xff\xd8"):
                handle.seek(2)
                return _jpeg(handle)
    except (OSError, struct.error):
        return None
    return None


def _jpeg(handle: Any) -> tuple[int, int] | None:
    """Walk the JPEG segments to the first frame header (SOFn), which holds the size."""
    for _ in range(1000):
        marker = handle.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        kind = marker[1]
        if kind in (0xD8, 0x01) or 0xD0 <= kind <= 0xD7:
            continue
        length = struct.unpack(">H", handle.read(2))[0]
        if kind in _JPEG_SOF:
            height, width = struct.unpack(">xHH", handle.read(5))
            return width, height
        handle.seek(length - 2, 1)
    return None


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
