"""Images for the preview page: ``data:`` URIs small enough that a month of posts stays light.

A small image (up to ``EMBED_AS_IS`` bytes) is embedded as it is: the browser scales it.  A
bigger one becomes a JPEG/PNG thumbnail when Pillow is installed (the optional ``thumbnails``
extra); without Pillow it is not embedded, and the page shows a placeholder of the same shape
with its alt text.  The size of every image is read from its header bytes, so the page can crop
it as the network does whether or not it is embedded.  Each file is read once per page.
"""

from __future__ import annotations

import base64
import io
import struct
from dataclasses import dataclass
from pathlib import Path

#: Images up to this size are embedded unchanged.
EMBED_AS_IS = 256 * 1024
#: Thumbnails are at most this many pixels wide (a card is at most ~600 CSS px wide, 2x screens).
THUMB_WIDTH = 960
MIME = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


@dataclass(frozen=True)
class PageImage:
    """One image as the page shows it; ``uri`` is empty when it could not be embedded."""

    key: str
    width: int
    height: int
    uri: str
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.width / self.height if self.width and self.height else 1.91


def sniff(data: bytes) -> tuple[str, int, int] | None:
    """The format and pixel size from an image's first bytes (PNG, GIF, JPEG, WebP), or None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return "gif", width, height
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", 0, 0
    return None


def _jpeg_size(data: bytes) -> tuple[str, int, int] | None:
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return "jpeg", width, height
        at += 2 + length
    return None


def _thumbnail(data: bytes, kind: str) -> tuple[bytes, str] | None:
    """A smaller copy made with Pillow, or None when Pillow is not installed or cannot read it."""
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 4))
            out = io.BytesIO()
            if kind == "png" and image.mode in ("RGBA", "LA", "P"):
                image.save(out, "PNG", optimize=True)
                return out.getvalue(), "image/png"
            image.convert("RGB").save(out, "JPEG", quality=78, optimize=True)
            return out.getvalue(), "image/jpeg"
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


class ImageTable:
    """The images of one page, each read and encoded once however many cards show it."""

    def __init__(self) -> None:
        self.images: dict[str, PageImage] = {}

    def get(self, path: str | Path | None) -> PageImage | None:
        if not path:
            return None
        name = str(path)
        if name not in self.images:
            self.images[name] = self._load(Path(name), f"img{len(self.images) + 1}")
        return self.images[name]

    def _load(self, path: Path, key: str) -> PageImage:
        try:
            data = path.read_bytes()
        except OSError:
            return PageImage(key, 0, 0, "", f"{path.name} cannot be read")
        found = sniff(data)
        if found is None:
            return PageImage(key, 0, 0, "", f"{path.name} is not a PNG, GIF, JPEG or WebP image")
        kind, width, height = found
        if len(data) <= EMBED_AS_IS:
            return PageImage(key, width, height, _uri(data, MIME[kind]))
        small = _thumbnail(data, kind)
        if small is None:
            note = (
                f"{path.name} ({len(data) / 1e6:.1f} MB) is too big to embed; install the "
                "`thumbnails` extra (Pillow) to see a thumbnail here"
            )
            return PageImage(key, width, height, "", note)
        return PageImage(key, width, height, _uri(*small))


def _uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
