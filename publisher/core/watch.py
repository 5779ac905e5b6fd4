"""Post-file change detection: a cheap stat scan, parsing only what changed.

Each file's stamp (mtime, size, inode) and parse outcome are cached, with the stamps of the
images the post uses, so a scan over thousands of unchanged files costs one ``stat`` each and
no parsing.  The daemon scans on file-system events and on its tick; ``read_posts`` scans
once, starting from the entries ``publisher.core.postcache`` kept from the last run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from publisher.core.config import Config
from publisher.core.errors import ConfigError, PostError
from publisher.core.fields import forget_folders
from publisher.core.models import Post
from publisher.core.posts import ReadResult, collect, folder_error, parse_safely, read_post
from publisher.core.walk import Stamp, path_order, post_entries, stamp

if TYPE_CHECKING:
    from publisher.core.postcache import Entries, Entry


@dataclass(slots=True)
class _Entry:
    stamp: Stamp
    outcome: Post | PostError
    images: dict[str, Stamp | None] = field(default_factory=dict)
    #: Results derived from the post alone (e.g. ``check``'s verdict), kept with it.
    memo: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Changes:
    """What one scan found; empty when nothing changed."""

    added: tuple[Path, ...] = ()
    changed: tuple[Path, ...] = ()
    removed: tuple[Path, ...] = ()
    #: Files that were parsed in this scan and are bad: report these (once per change).
    errors: tuple[PostError, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def _images(post: Post) -> list[str]:
    found = [post.image] + [o.image for o in post.overrides.values()]
    return [str(p) for p in found if p is not None]


class PostWatcher:
    """Keeps the parsed post files of ``posts_dir`` up to date between scans."""

    def __init__(self, config: Config, parse: Callable[[Path, Config], Post] | None = None) -> None:
        self.config = config
        self.parse = parse or read_post
        self._cache: dict[str, _Entry] = {}
        #: Folders that could not be listed: reported, and their posts neither planned nor
        #: cancelled (DESIGN §7), until they can be read again.
        self._unreadable: dict[str, PostError] = {}
        self._unreadable_now: dict[str, OSError] = {}
        #: True when a scan parsed or forgot a file since ``entries()`` was last taken.
        self.dirty = False

    def load(self, entries: Entries) -> None:
        """Start from entries kept by an earlier run (``publisher.core.postcache``); checked on scan."""
        for name, (was, images, post, memo) in entries.items():
            self._cache[name] = _Entry(was, post, dict(images), memo)

    def entries(self) -> Iterator[tuple[str, Entry]]:
        """The good posts' entries, for ``publisher.core.postcache.save`` (made one at a time)."""
        self.dirty = False
        for name, e in self._cache.items():
            if isinstance(e.outcome, Post):
                yield name, (e.stamp, tuple(e.images.items()), e.outcome, e.memo)

    def memos(self) -> dict[int, dict[str, Any]]:
        """Each good post's memo, by ``id(post)`` (valid while the watcher keeps the post)."""
        return {id(e.outcome): e.memo for e in self._cache.values() if isinstance(e.outcome, Post)}

    def _files(self) -> Iterator[tuple[str, Stamp]]:
        """Every post file below posts_dir with its stamp: the same walk as ``read_posts``."""
        return post_entries(self.config.posts_dir, self._unreadable_now)

    def scan(self) -> Changes:
        """Stat every post file; parse the new and changed ones; forget the deleted ones."""
        if not self.config.posts_dir.is_dir():  # unmounted or renamed: not "every post deleted"
            raise ConfigError(
                f"publisher.posts_dir: the folder {self.config.posts_dir} does not exist",
                "create it, fix posts_dir, or mount it; deliveries wait until it is back",
            )
        forget_folders()
        added: list[Path] = []
        changed: list[Path] = []
        errors: list[PostError] = []
        seen: set[str] = set()
        images: dict[str, Stamp | None] = {}  # each image stat-ed once per scan
        was_unreadable = self._unreadable
        self._unreadable_now = {}

        def image_stamp(name: str) -> Stamp | None:
            if name not in images:
                images[name] = stamp(name)
            return images[name]

        for name, now in self._files():
            seen.add(name)
            entry = self._cache.get(name)
            if (
                entry is not None
                and entry.stamp == now
                and all(image_stamp(i) == was for i, was in entry.images.items())
            ):
                continue
            path = Path(name)
            name = str(path)  # the key shares the path's own text: one copy per file
            outcome = self._parse(path)
            new = _Entry(now, outcome)
            if isinstance(outcome, Post):
                new.images = {image: image_stamp(image) for image in _images(outcome)}
            else:
                errors.append(outcome)
            (added if entry is None else changed).append(path)
            self._cache[name] = new
        self._unreadable = {
            folder: folder_error(Path(folder), exc, self.config)
            for folder, exc in self._unreadable_now.items()
        }
        errors.extend(e for f, e in self._unreadable.items() if f not in was_unreadable)
        removed = [name for name in self._cache if name not in seen]
        if not removed and set(was_unreadable) != set(self._unreadable):
            changed.extend(Path(f) for f in set(was_unreadable) ^ set(self._unreadable))
        for name in removed:
            del self._cache[name]
        self.dirty = self.dirty or bool(len(errors) < len(added) + len(changed) or removed)
        return Changes(tuple(added), tuple(changed), tuple(Path(n) for n in removed), tuple(errors))

    def _parse(self, path: Path) -> Post | PostError:
        return parse_safely(self.parse, path, self.config)

    def result(self) -> ReadResult:
        """Every cached post file as ``read_posts`` would return it (same order)."""
        names = sorted(self._cache, key=path_order)
        folders = [(Path(f), e) for f, e in sorted(self._unreadable.items())]
        files = ((None, self._cache[n].outcome) for n in names)
        return collect([*folders, *files], self.config)

    def __len__(self) -> int:
        return len(self._cache)
