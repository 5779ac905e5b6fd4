"""The per-file cache kept across runs: a warm ``check``/``preview``/``run`` re-reads only what changed.

One file beside the ledger (``<ledger>.posts-cache``; with a PostgreSQL ledger,
``.publisher-cache/posts.cache`` next to the config) holds each good post file's parsed
``Post``, keyed by its path and stamp (mtime_ns, size, inode) and the stamps of the images it
uses.  The whole file is also keyed by a digest of the config, the publisher and Python
versions: a cache that is missing, stale, corrupt or from another version is rebuilt, never
trusted.  It is written only where the ledger's folder already exists (``check`` and
``preview`` never create folders).  Files with errors are not kept (they are parsed again on every run, so an image
added later clears the error).  ``PUBLISHER_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from publisher import __version__
from publisher.core.config import Config
from publisher.core.models import Post
from publisher.core.walk import Stamp

#: Bumped whenever what is stored changes shape.
FORMAT = 3
#: Entries per pickled chunk: a pickle remembers every object it wrote (or read) until it
#: ends, so one pickle of 100,000 posts would hold a second copy of the references.
CHUNK = 2000
#: One file's entry as kept on disk, by path: (stamp, ((image, stamp), ...), post, memo); the
#: memo holds results derived from the post alone, e.g. ``check``'s verdict.
Entry = tuple[Stamp, tuple[tuple[str, Stamp | None], ...], Post, dict[str, Any]]
Entries = dict[str, Entry]


def cache_file(config: Config) -> Path:
    """Where the cache lives: beside the ledger file, or next to the config for PostgreSQL."""
    if config.state_is_url:
        return config.path.parent / ".publisher-cache" / "posts.cache"
    state = Path(config.state)
    return state.with_name(state.name + ".posts-cache")


def enabled() -> bool:
    return os.environ.get("PUBLISHER_NO_CACHE", "") in ("", "0")


def key(config: Config) -> str:
    """What every entry depends on besides its own files: the config and the versions."""
    text = f"{FORMAT}\n{__version__}\n{sys.version}\n{config!r}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def load(config: Config) -> Entries:
    """The stored entries, or none when the cache is missing, corrupt or for other settings."""
    if not enabled():
        return {}
    try:
        with open(cache_file(config), "rb") as handle:
            header = pickle.load(handle)
            if header != ("publisher-posts", key(config)):
                return {}
            entries: Entries = {}
            while chunk := pickle.load(handle):
                entries.update(chunk)
    except Exception:  # noqa: BLE001 - missing, truncated, garbage, old classes: rebuild
        return {}
    return entries


def save(config: Config, entries: Iterable[tuple[str, Entry]]) -> None:
    """Write the entries atomically (a crash leaves the old cache or none); errors are ignored."""
    if not enabled():
        return
    target = cache_file(config)
    temp = None
    try:
        if config.state_is_url:
            target.parent.mkdir(exist_ok=True)
        elif not target.parent.is_dir():
            return
        fd, temp = tempfile.mkstemp(prefix=".posts-cache-", dir=target.parent)
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(("publisher-posts", key(config)), handle, protocol=5)
            chunk: Entries = {}
            for name, entry in entries:
                chunk[name] = entry
                if len(chunk) >= CHUNK:
                    pickle.dump(chunk, handle, protocol=5)
                    chunk = {}
            if chunk:
                pickle.dump(chunk, handle, protocol=5)
            pickle.dump({}, handle, protocol=5)  # the end: a cut-off file fails to load
        os.replace(temp, target)
        temp = None
    except OSError:  # a read-only folder: run without a cache, as before
        pass
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def size_of(config: Config) -> int | None:
    """The cache file's size in bytes (for the benchmarks), None if there is none."""
    try:
        return cache_file(config).stat().st_size
    except OSError:
        return None
