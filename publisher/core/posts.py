"""Post files -> ``Post``: TOML front matter between ``+++`` lines, then a Markdown body.

Every error names the file and, where it can be found, the line counted from the file's
first line.  Reading a folder collects errors per file so one bad file never stops the rest.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from publisher.core import tomlparse
from publisher.core.config import Config
from publisher.core.config_values import LANGUAGE
from publisher.core.errors import ConfigError, PostError
from publisher.core.fields import (
    TOP_KEYS,
    Fields,
    event_table,
    image_path,
    override_tables,
    strings,
    typed,
    url,
    wall_time,
)
from publisher.core.models import Post
from publisher.core.printable import printable
from publisher.core.times import zone

_ID = re.compile(r"^[^\x00-\x1f\x7f\s/](?:[^\x00-\x1f\x7f]*[^\x00-\x1f\x7f\s/])?$")
#: Larger files are refused: no channel takes that much text, and every run would read it.
MAX_POST_BYTES = 1024 * 1024
_SUFFIX = re.compile(r"^[A-Za-z]+(-[A-Za-z0-9]{2,8})?$")
_TOML_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class ReadResult:
    """The posts that could be read and one error per bad file."""

    posts: list[Post] = field(default_factory=list)
    errors: list[PostError] = field(default_factory=list)
    bad_paths: frozenset[str] = frozenset()


def language_of(path: Path, config: Config) -> tuple[str, str]:
    """(language, stem without the language suffix) from ``name.<lang>.md``."""
    stem = path.name[: -len(".md")]
    head, dot, tail = stem.rpartition(".")
    # Any letters suffix is meant as a language (``.klingon``): checked against the config.
    if dot and (LANGUAGE.match(tail) or _SUFFIX.match(tail)) and head:
        return tail, head
    return config.languages[0], stem


def split_front_matter(text: str, source: str) -> tuple[str, str]:
    """Split a post file into its TOML front matter and its Markdown body."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "+++":
        raise PostError(
            source,
            "no front matter: the file must start with a line '+++'",
            "put the TOML settings (title = ..., publish_at = ...) between two '+++' lines",
            1,
        )
    for index in range(1, len(lines)):
        if lines[index].strip() == "+++":
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :])
    raise PostError(
        source,
        "the front matter is not closed: no second '+++' line",
        "add a line '+++' after the settings, before the text",
        1,
    )


def decode(raw: bytes, source: str) -> str:
    """UTF-8 text with a BOM and CRLF line endings accepted; binary files refused."""
    if b"\x00" in raw:
        raise PostError(
            source, "this is a binary file, not a text post", "remove it from posts_dir"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PostError(
            source, "the file is not UTF-8 text", "save it as UTF-8 in your editor", line
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_post(text: str, path: Path, config: Config, source: str | None = None) -> Post:
    """Parse one post file's text; raise ``PostError`` naming the file, key and line."""
    source = source or _display(path, config)
    front, body = split_front_matter(text, source)
    try:
        data = tomlparse.loads(front)
    except RecursionError:
        raise PostError(
            source,
            "the settings are nested too deeply to read",
            "front matter needs at most a few levels of [tables] and [lists]",
            2,
        ) from None
    except tomlparse.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_LINE.search(message)
        line = int(match.group(1)) + 1 if match else None
        reason = _TOML_LINE.sub("", message).strip()
        from publisher.core.hints import toml_hint

        raise PostError(
            source, f"the settings are not valid TOML: {reason}", toml_hint(front, line), line
        ) from None
    ctx = Fields(source, front)
    language, stem = language_of(path, config)
    if language not in config.languages:
        raise PostError(
            source,
            f"language {language!r} (from the file name) is not configured",
            f"use one of {', '.join(config.languages)} or add it to "
            "[publisher].languages; if it is not a language, rename the file "
            f"(e.g. {stem}-{language}.md)",
        )
    tables = {k: v for k, v in data.items() if k not in TOP_KEYS}
    warnings: list[str] = []
    problems: list[PostError] = []
    post_id = data.get("id")
    if post_id is None:
        folder = _below(str(_absolute(path).parent), str(config.posts_dir))
        post_id = f"{folder}/{stem}" if folder not in (None, "") else stem
    typed(ctx, "id", post_id, str, '"2027-06-final-conference"')
    if not _ID.match(post_id) or any(part in ("", ".", "..") for part in post_id.split("/")):
        raise ctx.fail(
            "id",
            f"{post_id!r} is not a usable id",
            'use letters, digits, "-", "_", "." and "/" between words, '
            'e.g. id = "2027-06-final-conference"',
        )
    title = typed(ctx, "title", data.get("title", ""), str, '"A title"').strip()
    if not title:
        if not body.strip():
            raise PostError(
                source,
                "nothing to say: no title and no text",
                "add title = \"...\" and a text after the second '+++'",
            )
        raise PostError(source, "title is missing", 'add title = "..." to the settings', 2)
    tz = typed(ctx, "timezone", data.get("timezone", config.timezone), str, '"Europe/Berlin"')
    try:
        zone(tz)
    except ValueError as exc:
        raise ctx.fail("timezone", str(exc), 'use an IANA name like "Europe/Berlin"') from None
    if "publish_at" not in data:
        raise PostError(
            source,
            "publish_at is missing",
            "add publish_at = 2027-05-02T10:00:00 (local time in the post's timezone)",
            2,
        )
    publish_at, warning = wall_time(ctx, "publish_at", data["publish_at"], tz, None)
    warnings.extend([warning] if warning else [])
    expires_at = None
    if "expires_at" in data:
        expires_at, warning = wall_time(ctx, "expires_at", data["expires_at"], tz, None)
        warnings.extend([warning] if warning else [])
    channels = None
    if "channels" in data:
        channels = tuple(dict.fromkeys(strings(ctx, "channels", data["channels"])))
        for name in channels:
            if name not in config.channels:
                problems.append(
                    ctx.fail(
                        "channels",
                        f"unknown channel {name!r}; nothing is sent there",
                        f"configured channels: {', '.join(config.channels) or '(none)'}",
                    )
                )
        channels = tuple(n for n in channels if n in config.channels)
    image = image_path(ctx, "image", data["image"], path, config, None) if "image" in data else None
    event = event_table(ctx, data["event"], tz, config, warnings) if "event" in data else None
    overrides = override_tables(ctx, tables, path, tz, config, warnings, problems)
    repeat = None
    if "repeat" in data:  # recurring posts (issue 15)
        from publisher.core.repeat import checked_rule

        repeat = checked_rule(ctx, data["repeat"], publish_at, tz, (title, body, overrides))
    return Post(
        id=post_id,
        language=language,
        path=path,
        source=source,
        title=title,
        body=body.strip(),
        publish_at=publish_at,
        timezone=tz,
        expires_at=expires_at,
        channels=channels,
        link=url(ctx, "link", data.get("link", "")),
        image=image,
        image_alt=typed(ctx, "image_alt", data.get("image_alt", ""), str, '"..."'),
        tags=strings(ctx, "tags", data.get("tags", [])),
        draft=typed(ctx, "draft", data.get("draft", False), bool, "false"),
        event=event,
        overrides=overrides,
        repeat=repeat,
        warnings=tuple(f"{source}: {w}" for w in warnings),
        problems=tuple(problems),
    )


def read_post(path: Path, config: Config) -> Post:
    """Read and parse one post file."""
    source = _display(path, config)
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        safe = source.encode("utf-8", "replace").decode("utf-8")
        raise PostError(safe, "the file name is not UTF-8", "rename the file") from None
    if path.is_dir():
        raise PostError(source, "this is a folder, not a post file", "rename it (no .md ending)")
    try:
        if path.stat().st_size > MAX_POST_BYTES:
            raise PostError(
                source,
                f"the file is larger than {MAX_POST_BYTES // 1024} KiB",
                "a post file holds text; put large files elsewhere",
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise PostError(
            source, f"cannot read the file ({exc.strerror})", "check permissions"
        ) from None
    return parse_post(decode(raw, source), path, config, source)


def post_files(posts_dir: Path) -> list[Path]:
    """Every post file below ``posts_dir`` (``walk.post_entries``' rule), in a stable order."""
    from publisher.core.walk import path_order, post_entries

    if not posts_dir.is_dir():
        return []
    return [Path(name) for name in sorted((n for n, _ in post_entries(posts_dir)), key=path_order)]


def folder_error(folder: Path, exc: OSError, config: Config) -> PostError:
    """A posts folder that cannot be read: its posts keep their deliveries until it can."""
    source = _display(folder, config).rstrip("/") + "/"
    return PostError(
        source,
        f"cannot read this folder ({exc.strerror or exc}); its posts are "
        "neither planned nor cancelled until it can be read",
        "check the folder's permissions (the user running publisher must be able "
        "to list and read it)",
    )


def collect(results: Iterable[tuple[Path | None, Post | PostError]], config: Config) -> ReadResult:
    """Gather parsed files; files sharing an id and language are all set aside as errors.

    Neither file of such a pair is planned, so a colleague's new file can never take over
    the deliveries (and the ledger rows) of a post that was already queued.
    """
    by_key: dict[tuple[str, str], list[Post]] = {}
    errors: list[PostError] = []
    bad: set[str] = set()
    for _path, outcome in results:
        if isinstance(outcome, PostError):
            errors.append(outcome)
            bad.add(outcome.path)
        else:
            by_key.setdefault((outcome.id, outcome.language), []).append(outcome)
            errors.extend(outcome.problems)
    posts: list[Post] = []
    for (post_id, language), group in by_key.items():
        if len(group) == 1:
            posts.append(group[0])
            continue
        names = ", ".join(p.source for p in group)
        for post in group:
            errors.append(
                PostError(
                    post.source,
                    f"id {post_id!r} in language {language!r} is used by several files: {names}",
                    "give each post its own id (or language suffix); none of them is published "
                    "until then",
                )
            )
            bad.add(post.source)
    return ReadResult(posts, errors, frozenset(bad))


def read_post_safely(path: Path, config: Config) -> Post | PostError:
    """One file's Post or its error; whatever the file holds, never another exception."""
    return parse_safely(read_post, path, config)


def parse_safely(
    parse: Callable[[Path, Config], Post], path: Path, config: Config
) -> Post | PostError:
    """Run a post-file parser; any failure becomes an error naming that file alone."""
    try:
        return parse(path, config)
    except PostError as exc:
        return exc
    except (RecursionError, OverflowError, ValueError, TypeError, KeyError, OSError) as exc:
        # The last line of defence: a value no check foresaw still stops only this file.
        return PostError(
            _display(path, config),
            f"this file cannot be used ({type(exc).__name__}: {printable(str(exc))})",
            "check its dates and values; run `publisher check` after fixing it",
        )


def read_posts(config: Config, paths: Iterable[Path] | None = None) -> ReadResult:
    """Read every post file (or the given ones), one error per bad file.

    Reading every file starts from the per-file cache (``publisher.core.postcache``): only new
    and changed files are parsed, and the cache is rewritten when any were.
    """
    results: list[tuple[Path, Post | PostError]] = []
    if paths is None:
        if not config.posts_dir.is_dir():
            raise ConfigError(
                f"publisher.posts_dir: the folder {config.posts_dir} does not exist",
                "create it, fix posts_dir, or mount it; nothing is planned (or cancelled) "
                "without it",
            )
        return read_cached(config)
    for path in paths:
        results.append((path, read_post_safely(path, config)))
    return collect(results, config)


def read_cached(
    config: Config, derive: Callable[[ReadResult, dict[int, dict[str, Any]]], bool] | None = None
) -> ReadResult:
    """Read through the per-file cache, with the cycle collector paused.

    ``derive(result, memos)`` may add results computed from each post alone to its memo
    (``memos[id(post)]``), kept with the post in the cache; it returns True if it added any.

    Posts hold no reference cycles, so the collector has nothing to find in them; left on,
    it walks every post again and again while they are built (a third of a warm ``check``).
    Afterwards they are frozen out of its sight for the same reason (they are still freed
    by reference counting when dropped).
    """
    import gc

    from publisher.core import postcache
    from publisher.core.watch import PostWatcher

    enabled = gc.isenabled()
    gc.disable()
    try:
        watcher = PostWatcher(config)
        watcher.load(postcache.load(config))
        watcher.scan()
        result = watcher.result()
        derived = derive(result, watcher.memos()) if derive is not None else False
        if watcher.dirty or derived:
            postcache.save(config, watcher.entries())
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
    return result


def _absolute(path: Path) -> Path:
    """An absolute path; the files a scan finds already are, so no ``resolve`` syscalls."""
    return path if path.is_absolute() and ".." not in path.parts else path.resolve()


def _below(name: str, folder: str) -> str | None:
    """``name`` relative to ``folder`` ("" for the folder itself), None if outside: by prefix."""
    if name == folder:
        return ""
    prefix = folder if folder.endswith(os.sep) else folder + os.sep
    return name[len(prefix) :] if name.startswith(prefix) else None


def _display(path: Path, config: Config) -> str:
    """The path as a user would name it: relative to the config's folder where possible."""
    relative = _below(str(_absolute(path)), str(config.path.parent))
    return printable(relative if relative else str(path))
