"""XML escaping as ``xml.sax.saxutils`` does it, without that module's import of urllib.request.

Channel modules are imported when a config is read (their classes declare the config keys), so
what they import at the top is paid by every command; saxutils alone pulled in the HTTP client.
"""

from __future__ import annotations


def escape(data: str) -> str:
    """``&``, ``<`` and ``>`` as entities (``saxutils.escape``)."""
    return data.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def quoteattr(data: str) -> str:
    """An attribute value with its quotes, escaped as ``saxutils.quoteattr`` does."""
    data = escape(data).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if '"' in data:
        if "'" in data:
            return '"{}"'.format(data.replace('"', "&quot;"))
        return f"'{data}'"
    return f'"{data}"'
