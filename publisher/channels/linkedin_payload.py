"""A LinkedIn post's pure parts (payload types, image facts, article text), apart from requests."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from publisher.core.models import Post


IMAGE_URN = "<image URN, filled in after the upload>"
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif"}
#: LinkedIn's largest image (DESIGN §7), in pixels.
MAX_PIXELS = 36_152_320


class LinkedInImage(TypedDict):
    """The image to upload before the post: path, size, MIME type and alt text."""

    path: str
    bytes: int
    type: str
    alt: str


class LinkedInPayload(TypedDict):
    """A Posts API request; ``body.content`` names ``IMAGE_URN`` until the image is uploaded."""

    method: str
    endpoint: str
    headers: dict[str, str]
    body: dict[str, Any]
    image: LinkedInImage | None


def image_problems(path: Path) -> list[str]:
    """Why LinkedIn would refuse this image, judged by its bytes (empty when it is fine)."""
    from publisher.core.images import problems_for

    types = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF"}
    return problems_for(path, "LinkedIn", types, max_pixels=MAX_PIXELS)


def image_info(path: Path, alt: str, delivery_id: str, errors: list[str]) -> LinkedInImage | None:
    """What preview shows of the image to upload; problems go to the draft's errors."""
    from publisher.core.images import ImageProblem, inspect

    errors.extend(image_problems(path))
    try:
        facts = inspect(path)
    except ImageProblem:
        return None
    mime = facts.mime or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return {"path": str(path), "bytes": facts.size, "type": mime, "alt": alt}


def article_description(post: Post, link: str) -> str:
    """The article card's description: the body's first paragraph as plain text, shortened."""
    from publisher.core.render import markdown_text

    text, _ = markdown_text(post.body, link)
    first = text.split("\n\n", 1)[0].strip()
    if len(first) <= 250:
        return first
    return first[:250].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
