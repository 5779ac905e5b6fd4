"""Channels: one module per network, all speaking the ``Channel`` protocol in ``base``.

Types are found through the ``publisher.channels`` entry points (see ``publisher.core.plugins``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from publisher.channels.base import Channel, Http
    from publisher.core.config import ChannelConfig, Config


def build_channel(cfg: ChannelConfig, config: Config, http: Http | None = None) -> Channel:
    """Construct the channel object for one ``[channels.<name>]`` table."""
    from publisher.channels.base import Http
    from publisher.core.plugins import channel_type

    factory: Any = channel_type(cfg.type)
    channel: Channel = factory(cfg, config, http or Http())
    return channel


def build_channels(config: Config, http: Http | None = None) -> dict[str, Channel]:
    """Every configured channel, sharing one HTTP session."""
    from publisher.channels.base import Http

    shared = http or Http()
    return {name: build_channel(cfg, config, shared) for name, cfg in config.channels.items()}
