"""LinkedIn's "little" text format: escape the commentary so LinkedIn shows it as written.

LinkedIn reads ``\\ | { } @ [ ] ( ) < > # * _ ~`` in a post's ``commentary`` as markup and
silently cuts the text at the first one it cannot parse.  Every such character is therefore
backslash-escaped, except the hashtags the program itself appends from the post's ``tags``:
those stay ``#Word`` so LinkedIn links them.  Which ``#`` are generated is not guessed from the
text: the text is rendered once with and once without the tags, and only the inserted block is
left unescaped.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from publisher.channels.base import normalize_text

if TYPE_CHECKING:
    from publisher.core.config import ChannelConfig, Config
    from publisher.core.models import Delivery

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

    Everything is escaped except the hashtags the program generated from ``tags``: LinkedIn
    must read those as hashtags, while a ``#`` the writer typed stays a plain character.
    """
    from publisher.core.render import social_parts

    parts = social_parts(delivery, cfg, config, link_in_payload=link_in_payload)
    pieces = (escape(parts.main), parts.tags, escape(parts.link))
    return "\n\n".join(p for p in pieces if p), list(parts.warnings)
