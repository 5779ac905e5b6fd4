"""Keeping secrets out of what people read: redaction for errors and logs, token expiry."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.core.config import ChannelConfig


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret (and its URL-encoded form) in ``text`` with ``***``."""
    from urllib.parse import quote, quote_plus

    for secret in secrets:
        if secret and len(secret) >= 4:
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(form, "***")
    return text


_BEARER = re.compile(r"(?i)(bearer\s+|access_token=)[^\s&\"']+")


def scrub(text: str) -> str:
    """Belt and braces: blank anything that looks like a bearer token or access_token param."""
    return _BEARER.sub(r"\1***", text)


def check_expiry(cfg: ChannelConfig, today: date) -> list[str]:
    """A warning when the configured ``token_expires_at`` is within 14 days."""
    expires = cfg.options.get("token_expires_at")
    if not expires:
        return []
    days = (expires - today).days
    if days < 0:
        return [f"channel {cfg.name!r}: the token expired on {expires} (token_expires_at)"]
    if days <= 14:
        return [f"channel {cfg.name!r}: the token expires in {days} days, on {expires}; renew it"]
    return []
