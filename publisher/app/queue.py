"""``queue``: validate a post file, then copy it and its images into ``posts_dir``."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import datetime
from pathlib import Path

from publisher.core.config import Config
from publisher.core.errors import PostError
from publisher.core.models import Post
from publisher.core.plan import plan_post
from publisher.core.posts import read_post, read_posts
from publisher.core.times import local_text


def _images(post: Post) -> list[Path]:
    found = [post.image] if post.image else []
    found += [o.image for o in post.overrides.values() if o.image]
    return found


def _copies(post: Post, source: Path, folder: Path) -> list[tuple[Path, Path]]:
    """Each image and where it goes: the same place relative to the post file as now."""
    return [(img, folder / img.relative_to(source.parent)) for img in _images(post)]


def _clashes(copies: list[tuple[Path, Path]]) -> bool:
    """True when some image's place in posts_dir holds a different file."""
    return any(dest.exists() and dest.read_bytes() != img.read_bytes() for img, dest in copies)


def _own_folder(post: Post, source: Path, config: Config) -> tuple[Post, Path]:
    """Place the post and its images in ``posts_dir/<name>/``, so two ``lyon.png`` coexist.

    Its default id follows its new path (``<name>/<name>``); an ``id`` in the file stays.
    """
    import re

    name = source.name.removesuffix(".md").removesuffix(f".{post.language}")
    target = config.posts_dir / name / source.name
    explicit = re.search(r"(?m)^\s*id\s*=", source.read_text(encoding="utf-8", errors="replace"))
    moved = post if explicit else dataclasses.replace(post, id=f"{name}/{post.id}")
    return dataclasses.replace(moved, path=target), target


def queue_file(path: Path, config: Config, now: datetime | None = None) -> list[str]:
    """Queue one file; returns lines to print; raises PostError and writes nothing if bad."""
    from publisher.core.advice import long_ago
    from publisher.core.times import now_utc

    source = path.resolve()
    if not source.exists():
        raise PostError(str(path), "no such file", "check the path")
    if not source.is_file():
        raise PostError(str(path), "not a file", "queue post files (<name>.<lang>.md)")
    if not source.name.endswith(".md"):
        raise PostError(str(path), "post files end in .md", "rename it to <name>.<lang>.md")
    inside = source.is_relative_to(config.posts_dir)
    home = config if inside else dataclasses.replace(config, posts_dir=source.parent)
    post = read_post(source, home)
    if post.problems:  # e.g. an unknown channel: refused exactly as `check` reports it
        first = post.problems[0]
        raise PostError(
            first.path, "; ".join(p.reason for p in post.problems), first.hint, first.line
        )
    target = source if inside else config.posts_dir / source.name
    placed = ""
    if not inside and _clashes(_copies(post, source, config.posts_dir)):
        post, target = _own_folder(post, source, config)
        placed = f" (in its own folder: an image of the same name is already queued; id {post.id})"
    from publisher.channels import build_channels

    deliveries, warnings = plan_post(post, config)
    channels = build_channels(config)
    problems = [f"{d.id}: {e}" for d in deliveries for e in channels[d.channel].render(d).errors]
    if problems:
        from publisher.core.images import draft_hint

        raise PostError(str(path), "; ".join(problems), draft_hint(" ".join(problems)))
    existing = {(p.id, p.language): p for p in read_posts(config).posts}
    twin = existing.get((post.id, post.language))
    if twin is not None and twin.path.resolve() != source:
        if twin.path.read_bytes() == source.read_bytes():
            return [f"{path}: already queued as {twin.source}; nothing to do"]
        raise PostError(
            str(path),
            f"id {post.id!r} ({post.language}) is already used by a different post: {twin.source}",
            "give the new post another id, or edit the queued file instead",
        )
    if not inside:
        if target.exists() and target.read_bytes() != source.read_bytes():
            raise PostError(str(path), f"{target} exists with other content", "rename the file")
        copies = _copies(post, source, target.parent)
        for image, dest in copies:
            if dest.exists() and dest.read_bytes() != image.read_bytes():
                raise PostError(str(path), f"{dest} exists with other content", "rename the image")
        for image, dest in copies:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(image, dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    lines = [f"queued {target}{placed}"]
    from publisher.core.image_size import image_warnings

    old = long_ago([post], now or now_utc())
    lines += [f"warning: {w}" for w in (*post.warnings, *warnings, *old)]
    lines += [f"warning: {w}" for w in image_warnings(deliveries, channels)]
    lines += [f"  {local_text(d.due_at, config.timezone)}  {d.id}" for d in deliveries]
    return lines
