"""``queue``: validate a post file, then copy it and its images into ``posts_dir``."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from publisher.core.config import Config
from publisher.core.errors import PostError
from publisher.core.models import Post
from publisher.core.plan import plan_post
from publisher.core.posts import read_post, read_posts


def _images(post: Post) -> list[Path]:
    found = [post.image] if post.image else []
    found += [o.image for o in post.overrides.values() if o.image]
    return found


def queue_file(path: Path, config: Config) -> list[str]:
    """Queue one file; returns lines to print; raises PostError and writes nothing if bad."""
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
    target = source if inside else config.posts_dir / source.name
    from publisher.channels import build_channels

    deliveries, warnings = plan_post(post, config)
    channels = build_channels(config)
    problems = [f"{d.id}: {e}" for d in deliveries for e in channels[d.channel].render(d).errors]
    if problems:
        raise PostError(str(path), "; ".join(problems), "shorten the text, then queue it again")
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
        copies = [(img, config.posts_dir / img.relative_to(source.parent)) for img in _images(post)]
        for image, dest in copies:
            if dest.exists() and dest.read_bytes() != image.read_bytes():
                raise PostError(str(path), f"{dest} exists with other content",
                                "rename the image")  # fmt: skip
        for image, dest in copies:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(image, dest)
        config.posts_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    lines = [f"queued {target}"]
    lines += [f"warning: {w}" for w in (*post.warnings, *warnings)]
    lines += [f"  {d.due_at:%Y-%m-%d %H:%M} UTC  {d.id}" for d in deliveries]
    return lines
