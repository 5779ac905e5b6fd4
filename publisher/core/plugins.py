"""Channel types as plugins, found through the ``publisher.channels`` entry-point group.

A channel type is a class that declares everything about itself (``ChannelType``): its config
keys, its override keys, its length rule and its capabilities.  The built-in types register
through the same entry points as a separately installed package would, so no module outside a
channel's own names its type.  Entry points are listed once and a type's module is imported
only when a config uses it, which keeps the CLI's start fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Protocol, cast

from publisher.core.config_values import REQUIRED, Key, _bool, _date, _env_name
from publisher.core.errors import ConfigError

ENTRY_POINT_GROUP = "publisher.channels"

#: Config keys every social channel (one that posts with a token) has; a type adds its own.
SOCIAL_KEYS: dict[str, Key] = {
    "token_env": Key(_env_name, REQUIRED),
    "token_expires_at": Key(_date, None),
    "update_published": Key(_bool, False),  # DESIGN §9: edit live posts on the next pass
}
#: Override keys a social channel takes in a post's ``[<channel>]`` table.
SOCIAL_OVERRIDE_KEYS = frozenset(["text", "publish_at", "link", "image", "image_alt", "enabled"])
#: Every override key the post reader knows; a type picks its own among these.
KNOWN_OVERRIDE_KEYS = SOCIAL_OVERRIDE_KEYS | {"summary"}


@dataclass(frozen=True)
class Capabilities:
    """What the rest of the program may rely on a channel type for."""

    #: Its output is a file rebuilt from everything it has sent (the runner calls ``rebuild``).
    feed: bool = False
    #: A channel of this type publishes exactly one language.
    one_language: bool = False
    #: Whether event reminders go to it when its config does not say ``reminders``.
    reminders: bool = True
    #: Whether deliveries later than ``catch_up`` expire (a feed item is never too late).
    catch_up: bool = True
    #: Whether the service itself deduplicates a repeated send (an idempotency key).
    idempotent: bool = False
    #: It carries event posts only, each once (a calendar): no news posts, no repeated posts.
    events_only: bool = False


class ChannelType(Protocol):
    """The class-level declarations every channel type makes (see README "Writing a channel")."""

    #: Config keys of ``[channels.<name>]`` besides type, languages, max_per_hour, reminders.
    keys: Mapping[str, Key]
    #: Keys allowed in a post's override table for this channel.
    override_keys: frozenset[str]
    capabilities: Capabilities
    #: The maximum text length, or None for no limit (a feed).
    limit: int | None
    #: Config keys naming the URL the token is sent to, and that service's own host names.
    token_url_key: str | None
    service_hosts: tuple[str, ...]
    #: Config keys whose value must differ between two channels of this type (else a warning).
    unique_keys: tuple[str, ...]
    #: Config keys naming a file this channel writes (resolved against the config's folder).
    output_keys: tuple[str, ...]

    @staticmethod
    def text_length(text: str) -> int:
        """The length of a text as the service counts it against ``limit``."""
        ...


def default_length(text: str) -> int:
    """Length in Unicode code points, as most services count."""
    return len(text)


#: Declarations a type may leave out, with their defaults.
DEFAULTS: dict[str, Any] = {
    "override_keys": SOCIAL_OVERRIDE_KEYS,
    "capabilities": Capabilities(),
    "limit": None,
    "token_url_key": None,
    "service_hosts": (),
    "unique_keys": (),
    "output_keys": (),
    "text_length": staticmethod(default_length),
}


@dataclass(frozen=True)
class EntryPoint:
    """One ``name = module:attribute`` line of the ``publisher.channels`` group."""

    name: str
    value: str

    def load(self) -> Any:
        from importlib import import_module

        module, _, attribute = self.value.partition(":")
        found: Any = import_module(module.strip())
        for part in attribute.strip().split(".") if attribute.strip() else ():
            found = getattr(found, part)
        return found


@lru_cache(maxsize=1)
def installed() -> dict[str, EntryPoint]:
    """Every installed channel type by name (the first on ``sys.path`` wins); nothing imported.

    Reading the ``entry_points.txt`` files directly costs a directory listing per ``sys.path``
    folder, where ``importlib.metadata`` would first import the e-mail parser (~30 ms of every
    CLI start); it is still the fallback for what a listing cannot see (zipped paths).
    """
    import os
    import sys

    found: dict[str, EntryPoint] = {}
    for folder in sys.path:
        try:
            entries = list(os.scandir(folder or "."))
        except OSError:
            continue  # a zip file, or gone
        for entry in entries:
            if entry.name.endswith((".dist-info", ".egg-info")) and entry.is_dir():
                for name, value in _group(os.path.join(entry.path, "entry_points.txt")):
                    found.setdefault(name, EntryPoint(name, value))
    if not found:
        from importlib.metadata import entry_points

        found = {
            ep.name: EntryPoint(ep.name, ep.value) for ep in entry_points(group=ENTRY_POINT_GROUP)
        }
    return found


def _group(path: str) -> list[tuple[str, str]]:
    """The ``name = value`` lines of the ``[publisher.channels]`` section of one file."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError:
        return []
    lines, inside = [], False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            inside = line == f"[{ENTRY_POINT_GROUP}]"
        elif inside and "=" in line and not line.startswith(("#", ";")):
            name, _, value = line.partition("=")
            lines.append((name.strip(), value.split("[")[0].strip()))
    return lines


def type_names() -> list[str]:
    return sorted(installed())


@cache
def channel_type(name: str) -> type[ChannelType]:
    """The class of an installed channel type, imported on first use and then cached."""
    entry = installed().get(name)
    if entry is None:
        raise ConfigError(
            f"{name!r} is not an installed channel type",
            f"installed types: {', '.join(type_names()) or 'none'}; a plugin type needs its "
            "package installed in the same environment as publisher",
        )
    try:
        cls = entry.load()
    except Exception as exc:  # a broken plugin must not look like a bad config key
        raise ConfigError(
            f"the channel type {name!r} ({entry.value}) cannot be loaded: {exc}",
            "reinstall the package that provides it",
        ) from None
    if not isinstance(getattr(cls, "keys", None), Mapping):
        raise ConfigError(
            f"the channel type {name!r} ({entry.value}) declares no `keys`",
            "see README, Writing a channel",
        )
    for attribute, default in DEFAULTS.items():
        if not hasattr(cls, attribute):
            setattr(cls, attribute, default)
    return cast("type[ChannelType]", cls)


def capabilities(name: str) -> Capabilities:
    return channel_type(name).capabilities


def length_rule(name: str) -> Callable[[str], int]:
    return channel_type(name).text_length
