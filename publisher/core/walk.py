"""Which files are posts: one ``os.scandir`` walk, shared by reading (``check``) and watching.

The rule, the same everywhere: every folder below ``posts_dir`` is walked except symlinked
folders (a link can loop); a post file is a name ending in ``.md`` that is a file or a
folder, or a symlink to one (a folder is then reported as "not a post file").  Broken
symlinks, sockets and pipes are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

#: What tells us a file changed without reading it: (mtime_ns, size, inode).
Stamp = tuple[int, int, int]


def stamp(path: str | Path) -> Stamp | None:
    """A file's stamp; None if it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def post_entries(
    posts_dir: Path, unreadable: dict[str, OSError] | None = None
) -> Iterator[tuple[str, Stamp]]:
    """Every post file below ``posts_dir`` with its stamp, in no particular order.

    A folder that cannot be listed goes into ``unreadable``: it is never taken as empty, so
    its posts are not cancelled (DESIGN §7).
    """
    stack = [str(posts_dir)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as found:
                entries = list(found)
        except FileNotFoundError:  # deleted while we looked
            continue
        except OSError as exc:
            if unreadable is not None:
                unreadable[folder] = exc
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                if entry.name.endswith(".md") and (entry.is_file() or entry.is_dir()):
                    st = entry.stat()
                    yield entry.path, (st.st_mtime_ns, st.st_size, st.st_ino)
            except OSError:  # deleted while we looked: the next walk sees it gone
                continue


def path_order(name: str) -> list[str]:
    """Sort key giving the order of ``sorted(Path(...))`` without building the paths."""
    return name.split(os.sep)
