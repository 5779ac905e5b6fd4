"""What tests share: one Site and config builder, one Clock, the end-to-end process helpers.

Tests import from here (``from support import Site``), never from conftest or another test.
"""

from .clock import Clock
from .site import (
    CHANNELS,
    EVENT,
    IN_CI,
    NEWS,
    REPO,
    RSS_CHANNELS,
    Site,
    config_text,
    delivery,
    make_site,
    post_text,
    site_config,
)

__all__ = [
    "CHANNELS",
    "EVENT",
    "IN_CI",
    "NEWS",
    "REPO",
    "RSS_CHANNELS",
    "Clock",
    "Site",
    "config_text",
    "delivery",
    "make_site",
    "post_text",
    "site_config",
]
