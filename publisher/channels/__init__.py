"""Channels: one module per network, all speaking the ``Channel`` protocol in ``base``."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.channels.base import Channel, Http
    from publisher.core.config import ChannelConfig, Config

#: Channel type -> "module:class"; modules are imported only when a channel of the type is used.
CHANNEL_TYPES = {
    "rss": "publisher.channels.rss:RssChannel",
    "facebook": "publisher.channels.facebook:FacebookChannel",
    "linkedin": "publisher.channels.linkedin:LinkedInChannel",
}


def build_channel(cfg: ChannelConfig, config: Config, http: Http | None = None) -> Channel:
    """Construct the channel object for one ``[channels.<name>]`` table."""
    from publisher.channels.base import Http

    module, _, cls = CHANNEL_TYPES[cfg.type].partition(":")
    factory = getattr(import_module(module), cls)
    return factory(cfg, config, http or Http())


def build_channels(config: Config, http: Http | None = None) -> dict[str, Channel]:
    """Every configured channel, sharing one HTTP session."""
    from publisher.channels.base import Http

    shared = http or Http()
    return {name: build_channel(cfg, config, shared) for name, cfg in config.channels.items()}
