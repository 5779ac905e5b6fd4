"""LinkedIn's "little" text format: escape the commentary so LinkedIn shows it as written.

LinkedIn reads ``\\ | { } @ [ ] ( ) < > # * _ ~`` in a post's ``commentary`` as markup and
silently cuts the text at the first one it cannot parse.  Every such character is therefore
backslash-escaped, except the hashtags the program itself appends from the post's ``tags``:
those stay ``#Word`` so LinkedIn links them.  Which ``#`` are generated is not guessed from the
text: the text is rendered once with and once without the tags, and only the inserted block is
left unescaped.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from publisher.channels.base import normalize_text

if TYPE_CHECKING:
    from publisher.config import ChannelConfig, Config
    from publisher.models import Delivery

RESERVED = "\\|{}@[]()<>#*_~"
_RESERVED_RE = re.compile(r"([\\|{}@\[\]()<>#*_~])")
_ESCAPED_RE = re.compile(r"\\(.)", re.DOTALL)
_HASHTAG_TEMPLATE = re.compile(r"\{hashtag\|\\?#\|([^}]*)\}")


def escape(text: str) -> str:
    """Backslash-escape every reserved character (one pass, so the backslash goes first)."""
    return _RESERVED_RE.sub(r"\\\1", text)


def unescape(text: str) -> str:
    """Plain text of an escaped commentary (``\\x`` -> ``x``), for reconciling."""
    return _ESCAPED_RE.sub(r"\1", text)


def plain(text: str) -> str:
    """A commentary as LinkedIn stores or returns it, read as whitespace-folded plain text.

    LinkedIn reads hashtags back as ``{hashtag|\\#|Word}``; both forms compare equal.
    """
    return normalize_text(unescape(_HASHTAG_TEMPLATE.sub(r"#\1", text)))


def commentary(
    delivery: Delivery, cfg: ChannelConfig, config: Config, *, link_in_payload: bool
) -> tuple[str, list[str]]:
    """The escaped commentary and the render warnings.

    The post is rendered with and without its tags; what the tags inserted (the generated
    hashtags and the blank line before them) is kept verbatim and all the rest is escaped.
    """
    from publisher.render import hashtags, social_text

    text, warnings = social_text(delivery, cfg, config, link_in_payload=link_in_payload)
    generated = hashtags(delivery.post.tags)
    if not generated:
        return escape(text), warnings
    bare_post = dataclasses.replace(delivery.post, tags=())
    bare, _ = social_text(
        dataclasses.replace(delivery, post=bare_post), cfg, config, link_in_payload=link_in_payload
    )
    split = _insertion(bare, text)
    if split is None:
        return escape(text), warnings
    start, end = split
    inserted = text[start:end]
    if inserted.split() != generated:
        return escape(text), warnings
    escaped = escape(text[:start]) + inserted + escape(text[end:])
    return escaped, warnings


def _insertion(bare: str, full: str) -> tuple[int, int] | None:
    """Where ``full`` is ``bare`` with one block inserted: that block's (start, end) in ``full``."""
    extra = len(full) - len(bare)
    if extra <= 0:
        return None
    prefix = 0
    while prefix < len(bare) and bare[prefix] == full[prefix]:
        prefix += 1
    suffix = len(bare) - prefix
    if full[len(full) - suffix :] != bare[prefix:]:
        return None
    return prefix, prefix + extra
