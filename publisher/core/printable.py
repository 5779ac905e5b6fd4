"""Text shown to a person with its control characters escaped, so a name cannot fake lines."""

from __future__ import annotations

import re

#: C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every control character written as an escape (``\\n``, ``\\x1b``)."""
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in "\n\r\t":
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def web_url(text: str) -> bool:
    """An http(s) URL with a host and nothing unprintable: what ``resolve --sent`` accepts."""
    from urllib.parse import urlsplit

    if printable(text) != text or any(c.isspace() for c in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
