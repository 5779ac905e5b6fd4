"""Mastodon's text rules: how a status is counted, and a status's HTML read back as plain text.

Mastodon counts a status in grapheme clusters, every http(s) URL as 23 characters whatever its
length, and a mention ``@user@domain`` as ``@user`` (the server's ``StatusLengthValidator``).
Reconcile compares a listed status's ``content`` (HTML) with the text sent, so that HTML is turned
back into folded plain text here.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

URL_LENGTH = 23
#: An http(s) URL as Mastodon's linkifier sees it, without trailing punctuation.
_URL = re.compile(r"https?://[^\s<>\"]+?(?=[.,;:!?)\]]*(?:\s|$))", re.IGNORECASE)
#: ``@user@domain``: only ``@user`` counts.
_MENTION = re.compile(r"(?<![\w@])(@[A-Za-z0-9_]+)@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_ZWJ = "\u200d"


def _extends(char: str) -> bool:
    """True for a code point that belongs to the cluster before it (marks, modifiers, tags)."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0x1F3FB <= code <= 0x1F3FF  # skin tones
        or 0xE0020 <= code <= 0xE007F  # emoji tag sequences
        or char == _ZWJ
    )


def graphemes(text: str) -> int:
    """The number of user-perceived characters (extended grapheme clusters, the common cases)."""
    count = 0
    previous = ""
    regional_open = False
    for char in text:
        regional = 0x1F1E6 <= ord(char) <= 0x1F1FF
        if previous == _ZWJ or _extends(char) or (previous == "\r" and char == "\n"):
            pass
        elif regional and regional_open:
            regional_open = False  # the second half of a flag
            previous = char
            continue
        else:
            count += 1
        regional_open = regional and not regional_open if regional else False
        previous = char
    return count


def status_length(text: str) -> int:
    """A status's length as Mastodon counts it against ``max_characters``."""
    counted = _URL.sub("x" * URL_LENGTH, text)
    counted = _MENTION.sub(r"\1", counted)
    return graphemes(counted)


class _Plain(HTMLParser):
    """Collects the text of a status's HTML; ``<br>`` and paragraphs become spaces."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "p"):
            self.parts.append(" ")
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def content_text(html: str) -> tuple[str, list[str]]:
    """A status's ``content`` as folded plain text (tags stripped, entities decoded), and its links."""
    parser = _Plain()
    parser.feed(html)
    parser.close()
    return " ".join("".join(parser.parts).split()), parser.hrefs
