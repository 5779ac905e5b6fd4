"""A post's text as readers see it on a network: links and hashtags marked, folded like the feed.

These helpers know no network: the card templates say where a network folds (characters,
lines), whether its text carries backslash escapes that readers never see, and whether every
``#word`` is a hashtag or only the unescaped ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

_URL = re.compile(r"https?://[^\s<>\"]+")
_TAG = re.compile(r"(?<![\w&#])#\w+")
_TRAILING = ".,;:!?'\""


@dataclass(frozen=True)
class ReaderText:
    """The whole text (``plain``), and its HTML split at the fold (``tail`` empty: no fold)."""

    plain: str
    head: Markup
    tail: Markup

    @property
    def folded(self) -> bool:
        return bool(self.tail)


def unescape(text: str) -> tuple[str, frozenset[int]]:
    """Drop backslash escapes (``\\x`` -> ``x``); also the positions of the escaped characters."""
    out: list[str] = []
    escaped: set[int] = set()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            escaped.add(len(out))
            out.append(text[i + 1])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out), frozenset(escaped)


def fold_point(text: str, chars: int | None, lines: int | None) -> int | None:
    """Where a feed cuts a text behind its "see more", or None when it shows all of it.

    A text longer than ``chars`` characters, or with more than ``lines`` lines, is cut at the
    earlier of the two, at the last space before the cut so that no word is split.
    """
    cut = len(text)
    if chars is not None and len(text) > chars:
        cut = chars
    if lines is not None:
        starts = [m.start() for m in re.finditer("\n", text)]
        if len(starts) >= lines:
            cut = min(cut, starts[lines - 1])
    if cut >= len(text):
        return None
    space = max(text.rfind(" ", 0, cut + 1), text.rfind("\n", 0, cut + 1))
    return space if space > 0 else cut


def _tokens(plain: str, escaped: frozenset[int], all_tags: bool) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    for m in _URL.finditer(plain):
        url = m.group(0).rstrip(_TRAILING)
        if url.endswith(")") and url.count(")") > url.count("("):
            url = url[:-1].rstrip(_TRAILING)
        found.append((m.start(), m.start() + len(url), "url"))
    for m in _TAG.finditer(plain):
        inside = any(a <= m.start() < b for a, b, _ in found)
        if not inside and (all_tags or m.start() not in escaped):
            found.append((m.start(), m.end(), "tag"))
    return sorted(found)


def _html(plain: str, start: int, end: int, tokens: list[tuple[int, int, str]]) -> Markup:
    parts: list[str] = []
    at = start
    for a, b, kind in tokens:
        if a < start or b > end:
            continue
        parts.append(str(escape(plain[at:a])))
        word = escape(plain[a:b])
        if kind == "url":
            parts.append(f'<a class="url" href="{word}" rel="noopener noreferrer">{word}</a>')
        else:
            parts.append(f'<span class="tag">{word}</span>')
        at = b
    parts.append(str(escape(plain[at:end])))
    return Markup("".join(parts))


def reader_text(
    text: str,
    chars: int | None = None,
    lines: int | None = None,
    *,
    escapes: bool = False,
    all_tags: bool = True,
) -> ReaderText:
    """A text as a network shows it: escapes removed, links and hashtags marked, folded.

    ``escapes``: the text as sent carries backslash escapes readers never see.  ``all_tags``:
    every ``#word`` is a hashtag; otherwise only those not written as ``\\#``.
    """
    plain, escaped = unescape(text) if escapes else (text, frozenset[int]())
    tokens = _tokens(plain, escaped, all_tags)
    cut = fold_point(plain, chars, lines)
    if cut is not None:
        for a, b, _ in tokens:
            if a < cut < b:
                cut = a
                break
    if cut is None or cut <= 0:
        return ReaderText(plain, _html(plain, 0, len(plain), tokens), Markup(""))
    head = _html(plain, 0, cut, tokens)
    return ReaderText(plain, head, _html(plain, cut, len(plain), tokens))


def initials(name: str) -> str:
    """Up to two letters for an avatar: the first of two words, else the first two of one."""
    words = [w for w in re.split(r"[\s_-]+", name) if w]
    if len(words) >= 2:
        return (words[0][0] + words[1][0]).upper()
    return (words[0][:2] if words else "?").upper()


def domain(url: str) -> str:
    """The host a link card names (without ``www.``)."""
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")
