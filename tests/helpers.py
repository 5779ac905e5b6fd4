"""Kept for tests written before ``tests/support/``: the same names, from there."""

from __future__ import annotations

try:
    from support import CHANNELS, EVENT, NEWS, Site, config_text, delivery, make_site, post_text
except ImportError:  # tests/ run as a package
    from tests.support import (
        CHANNELS,
        EVENT,
        NEWS,
        Site,
        config_text,
        delivery,
        make_site,
        post_text,
    )

__all__ = ["CHANNELS", "EVENT", "NEWS", "Site", "config_text", "delivery", "make_site", "post_text"]
