"""What an image file really is, by its bytes: type, size and pixel dimensions.

Channels check their own limits with these facts (``image_problems`` in each channel
module); the name's extension is never trusted.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

#: Bytes read to tell the type and dimensions (a JPEG's SOF may come after large EXIF data).
HEAD = 256 * 1024


@dataclass(frozen=True)
class ImageFacts:
    """An image as its bytes tell it; ``mime`` is None for a type no channel takes."""

    path: Path
    size: int
    mime: str | None
    kind: str
    width: int | None = None
    height: int | None = None

    @property
    def pixels(self) -> int | None:
        return self.width * self.height if self.width and self.height else None


class ImageProblem(Exception):
    """The image cannot be used at all: missing, a folder, empty or unreadable."""


def inspect(path: Path) -> ImageFacts:
    """Read the image's first bytes; raise ``ImageProblem`` saying why it is unusable.

    The answer is kept per file version (path, size, mtime), so the several channels and
    checks that ask about one image read it once.
    """
    import stat

    try:
        st = path.stat()
    except FileNotFoundError:
        raise ImageProblem(f"the image {path} does not exist") from None
    except OSError as exc:
        raise ImageProblem(f"the image {path} cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ImageProblem(f"the image {path.name} is a folder, not an image file")
    return _inspect(path, st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=1024)
def _inspect(path: Path, size: int, mtime_ns: int) -> ImageFacts:
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD)
    except FileNotFoundError:
        raise ImageProblem(f"the image {path} does not exist") from None
    except OSError as exc:
        raise ImageProblem(f"the image {path} cannot be read ({exc.strerror or exc})") from None
    if size == 0 or not head:
        raise ImageProblem(f"the image {path.name} is an empty file (0 bytes)")
    mime, kind = _sniff(head)
    width, height = _dimensions(kind, head)
    return ImageFacts(path, size, mime, kind, width, height)


def _sniff(head: bytes) -> tuple[str | None, str]:
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", "GIF"
    if head.startswith(b"BM"):
        return "image/bmp", "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff", "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return None, "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"avif", b"msf1"):
        return None, "HEIC/AVIF"
    text = head[:1024].lstrip().lower()
    if text.startswith((b"<?xml", b"<svg")) and b"<svg" in head.lower():
        return None, "SVG"
    if head.startswith(b"%PDF"):
        return None, "PDF"
    return None, "not an image (unknown content)"


def _dimensions(kind: str, head: bytes) -> tuple[int | None, int | None]:
    """Width and height from the header, for the types with a pixel limit."""
    try:
        if kind == "PNG" and head[12:16] == b"IHDR":
            width, height = struct.unpack(">II", head[16:24])
            return width, height
        if kind == "GIF":
            width, height = struct.unpack("<HH", head[6:10])
            return width, height
        if kind == "JPEG":
            return _jpeg_dimensions(head)
    except struct.error:
        pass
    return None, None


def _jpeg_dimensions(data: bytes) -> tuple[int | None, int | None]:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            index += 1
            continue
        marker = data[index + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            index += 1 if marker == 0xFF else 2
            continue
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        index += 2 + length
    return None, None


def problems_for(
    path: Path,
    channel: str,
    types: dict[str, str],
    max_bytes: int | None = None,
    max_pixels: int | None = None,
) -> list[str]:
    """One channel's image problems: ``types`` maps the MIME types it takes to their names."""
    try:
        facts = inspect(path)
    except ImageProblem as exc:
        return [str(exc)]
    found: list[str] = []
    if facts.mime not in types:
        found.append(
            f"the image {path.name} is {facts.kind}; {channel} takes "
            f"{'/'.join(types.values())} images"
        )
    if max_bytes is not None and facts.size > max_bytes:
        found.append(
            f"the image {path.name} has {facts.size / 1024 / 1024:.1f} MB; {channel} "
            f"takes at most {max_bytes // 1024 // 1024} MB"
        )
    pixels = facts.pixels
    if max_pixels is not None and pixels is not None and pixels > max_pixels:
        found.append(
            f"the image {path.name} has {facts.width}x{facts.height} = {pixels:,} "
            f"pixels; {channel} takes at most {max_pixels:,}"
        )
    return found


def draft_hint(message: str) -> str:
    """The way out of a draft error: fix the image, or shorten the text."""
    if "image" in message:
        return "use an image the channel takes (README: Images), or fix the file"
    return "shorten the text or its override"


def has_image(delivery: Any) -> bool:
    """Whether a delivery's post names an image (then ``check`` renders it to test it)."""
    post = delivery.post
    return post.image is not None or any(o.image for o in post.overrides.values())
