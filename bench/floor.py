"""The floor for ``check``: find, read and decode the post files, parse their front matter.

Standard library only, run as its own process like the CLI, so the ratio compares the same
interpreter start, the same file walk and the same ``tomllib`` work, and nothing else.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def front_matter(text: str) -> str:
    """The TOML between the first two ``+++`` lines."""
    lines = text.split("\n")
    for index in range(1, len(lines)):
        if lines[index].strip() == "+++":
            return "\n".join(lines[1:index])
    return ""


def floor(posts: Path) -> int:
    """Parse every post file's front matter; returns how many files were read."""
    count = 0
    for path in sorted(p for p in posts.rglob("*.md") if p.is_file()):
        text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
        tomllib.loads(front_matter(text))
        count += 1
    return count


if __name__ == "__main__":
    print(floor(Path(sys.argv[1])))
