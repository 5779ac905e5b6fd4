"""Post files -> ``Post``: TOML front matter between ``+++`` lines, then a Markdown body.

Every error names the file and, where it can be found, the line counted from the file's
first line.  Reading a folder collects errors per file so one bad file never stops the rest.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from publisher.config import CHANNEL_TYPE_KEYS, FRONT_MATTER_KEYS, LANGUAGE, Config
from publisher.durations import parse_duration
from publisher.errors import ConfigError, PostError
from publisher.models import Event, Override, Post
from publisher.times import localize, zone

TOP_KEYS = FRONT_MATTER_KEYS
EVENT_KEYS = frozenset(["start", "end", "location", "online_url", "reminders", "reminder_time"])
OVERRIDE_KEYS = frozenset(["text", "publish_at", "link", "image", "image_alt", "enabled"])
RSS_OVERRIDE_KEYS = frozenset(["summary", "publish_at", "link", "image", "image_alt", "enabled"])
_ID = re.compile(r"^[^\x00-\x1f\x7f\s/](?:[^\x00-\x1f\x7f]*[^\x00-\x1f\x7f\s/])?$")
_TOML_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class ReadResult:
    """The posts that could be read and one error per bad file."""

    posts: list[Post] = field(default_factory=list)
    errors: list[PostError] = field(default_factory=list)
    bad_paths: frozenset[str] = frozenset()


class _Ctx:
    """What a parse needs to say where a problem is."""

    def __init__(self, source: str, front: str) -> None:
        self.source = source
        self.lines = front.split("\n")

    def line_of(self, key: str, table: str | None = None) -> int | None:
        """The file line where ``key =`` is written (front matter starts on line 2)."""
        in_table = table is None
        for number, line in enumerate(self.lines, start=2):
            stripped = line.strip()
            if stripped.startswith("["):
                in_table = table is not None and stripped.strip("[] ") == table
                if table is None:
                    break
                continue
            if in_table and re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
                return number
        for number, line in enumerate(self.lines, start=2):
            if line.strip() == f"[{key}]":
                return number
        return None

    def fail(self, key: str, message: str, hint: str = "", table: str | None = None) -> PostError:
        where = f"{table}.{key}" if table else key
        return PostError(self.source, f"{where}: {message}", hint, self.line_of(key, table))


def language_of(path: Path, config: Config) -> tuple[str, str]:
    """(language, stem without the language suffix) from ``name.<lang>.md``."""
    stem = path.name[: -len(".md")]
    head, dot, tail = stem.rpartition(".")
    if dot and LANGUAGE.match(tail) and head:
        return tail, head
    return config.languages[0], stem


def split_front_matter(text: str, source: str) -> tuple[str, str]:
    """Split a post file into its TOML front matter and its Markdown body."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "+++":
        raise PostError(
            source, "no front matter: the file must start with a line '+++'",
            "put the TOML settings (title = ..., publish_at = ...) between two '+++' lines",
            1,
        )  # fmt: skip
    for index in range(1, len(lines)):
        if lines[index].strip() == "+++":
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :])
    raise PostError(
        source, "the front matter is not closed: no second '+++' line",
        "add a line '+++' after the settings, before the text", 1,
    )  # fmt: skip


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


def _wall(
    ctx: _Ctx, key: str, value: Any, tz: str, table: str | None
) -> tuple[datetime, str | None]:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = (
                datetime.fromisoformat(value)
                if re.search(r"\d[T ]\d", value)
                else date.fromisoformat(value)
            )
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value, None
        aware, warning = localize(value, zone(tz))
        where = f"{table}.{key}" if table else key
        return aware, f"{where}: {warning}" if warning else None
    if isinstance(value, date):
        raise ctx.fail(key, f"{value} has no time of day", f"write e.g. {value}T10:00:00", table)
    raise ctx.fail(
        key, f"{value!r} is not a date and time", "write e.g. 2027-05-02T10:00:00", table
    )


def _typed(ctx: _Ctx, key: str, value: Any, kind: type | tuple[type, ...], example: str,
           table: str | None = None) -> Any:  # fmt: skip
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise ctx.fail(key, f"expected {example}, got {value!r}", f"e.g. {key} = {example}", table)
    return value


def _strings(ctx: _Ctx, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ctx.fail(
            key, f"expected a list of strings, got {value!r}", f'e.g. {key} = ["a", "b"]'
        )
    return tuple(value)


def _image(ctx: _Ctx, key: str, value: Any, path: Path, config: Config, table: str | None) -> Path:
    _typed(ctx, key, value, str, '"media/photo.jpg"', table)
    image = (path.parent / value).resolve()
    if not image.is_relative_to(config.posts_dir):
        raise ctx.fail(key, f"{value!r} is outside posts_dir ({config.posts_dir})",
                       "keep images inside the posts folder, e.g. posts/media/", table)  # fmt: skip
    if not image.is_file():
        raise ctx.fail(key, f"image {value!r} not found (looked for {image})",
                       "check the path; it is relative to the post file", table)  # fmt: skip
    return image


def _event(ctx: _Ctx, data: Any, tz: str, config: Config, warnings: list[str]) -> Event:
    if not isinstance(data, dict):
        raise ctx.fail("event", "expected a table [event]", "write [event] and start = ...")
    unknown = sorted(set(data) - EVENT_KEYS)
    if unknown:
        raise ctx.fail(unknown[0], "unknown key in [event]",
                       f"known keys: {', '.join(sorted(EVENT_KEYS))}", "event")  # fmt: skip
    if "start" not in data:
        raise ctx.fail("event", "[event] has no start", "add start = 2027-06-17T09:00:00")
    start, warning = _wall(ctx, "start", data["start"], tz, "event")
    warnings.extend([warning] if warning else [])
    end = None
    if "end" in data:
        end, warning = _wall(ctx, "end", data["end"], tz, "event")
        warnings.extend([warning] if warning else [])
        if end < start:
            raise ctx.fail("end", "the event ends before it starts", "check start and end", "event")
    reminders = config.reminder_offsets
    if "reminders" in data:
        reminders = _strings(ctx, "reminders", data["reminders"])
    for offset in reminders:
        try:
            parse_duration(offset)
        except ValueError as exc:
            raise ctx.fail("reminders", str(exc), 'e.g. reminders = ["30d", "7d", "1d", "2h"]',
                           "event") from None  # fmt: skip
    at = data.get("reminder_time", config.reminder_time)
    if not isinstance(at, time):
        raise ctx.fail("reminder_time", f"expected a time like 09:00:00, got {at!r}",
                       "write it without quotes", "event")  # fmt: skip
    return Event(
        start=start,
        end=end,
        location=_typed(
            ctx, "location", data.get("location", ""), str, '"Maastricht, NL"', "event"
        ),
        online_url=_typed(
            ctx, "online_url", data.get("online_url", ""), str, '"https://..."', "event"
        ),
        reminders=tuple(dict.fromkeys(reminders)),
        reminder_time=at,
    )


def _overrides(
    ctx: _Ctx,
    tables: Mapping[str, Any],
    path: Path,
    tz: str,
    config: Config,
    warnings: list[str],
    problems: list[PostError],
) -> dict[str, Override]:
    types = {c.type: c for c in config.channels.values()}
    out: dict[str, Override] = {}
    for name, data in tables.items():
        channel = config.channels.get(name) or types.get(name)
        kind = channel.type if channel is not None else name
        if kind not in CHANNEL_TYPE_KEYS:
            known = ", ".join(sorted(set(config.channels) | set(CHANNEL_TYPE_KEYS)))
            if isinstance(data, dict):  # a table: maybe a channel since removed; the rest goes on
                problems.append(ctx.fail(name, "unknown key or channel (this table is ignored)",
                                         f"override tables: {known}"))  # fmt: skip
                continue
            raise ctx.fail(name, "unknown key or channel",
                           f"front-matter keys: {', '.join(sorted(TOP_KEYS))}; "
                           f"override tables: {known}")  # fmt: skip
        if not isinstance(data, dict):
            raise ctx.fail(name, f"expected a table [{name}]", f"write [{name}] and text = ...")
        allowed = RSS_OVERRIDE_KEYS if kind == "rss" else OVERRIDE_KEYS
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ctx.fail(unknown[0], f"not an override key for a {kind} channel",
                           f"allowed: {', '.join(sorted(allowed))}", name)  # fmt: skip
        publish_at = None
        if "publish_at" in data:
            publish_at, warning = _wall(ctx, "publish_at", data["publish_at"], tz, name)
            warnings.extend([warning] if warning else [])
        image = _image(ctx, "image", data["image"], path, config, name) if "image" in data else None
        out[name] = Override(
            text=_typed(ctx, "text", data["text"], str, '"..."', name) if "text" in data else None,
            publish_at=publish_at,
            link=_typed(ctx, "link", data["link"], str, '"https://..."', name) if "link" in data else None,
            image=image,
            image_alt=_typed(ctx, "image_alt", data["image_alt"], str, '"..."', name)
            if "image_alt" in data else None,
            enabled=_typed(ctx, "enabled", data["enabled"], bool, "false", name)
            if "enabled" in data else None,
            summary=_typed(ctx, "summary", data["summary"], str, '"..."', name)
            if "summary" in data else None,
        )  # fmt: skip
    return out


def parse_post(text: str, path: Path, config: Config) -> Post:
    """Parse one post file's text; raise ``PostError`` naming the file, key and line."""
    source = _display(path, config)
    front, body = split_front_matter(text, source)
    try:
        data = tomllib.loads(front)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_LINE.search(message)
        line = int(match.group(1)) + 1 if match else None
        reason = _TOML_LINE.sub("", message).strip()
        raise PostError(source, f"the settings are not valid TOML: {reason}",
                        'check quotes and "=" on that line', line) from None  # fmt: skip
    ctx = _Ctx(source, front)
    language, stem = language_of(path, config)
    if language not in config.languages:
        raise PostError(source, f"language {language!r} (from the file name) is not configured",
                        f"use one of {', '.join(config.languages)} or add it to "
                        "[publisher].languages")  # fmt: skip
    tables = {k: v for k, v in data.items() if k not in TOP_KEYS}
    warnings: list[str] = []
    problems: list[PostError] = []
    post_id = data.get("id")
    if post_id is None:
        rel = path.resolve().relative_to(config.posts_dir) if path.resolve().is_relative_to(
            config.posts_dir) else Path(path.name)  # fmt: skip
        post_id = str(rel.parent / stem) if str(rel.parent) != "." else stem
    _typed(ctx, "id", post_id, str, '"2027-06-final-conference"')
    if not _ID.match(post_id) or any(part in ("", ".", "..") for part in post_id.split("/")):
        raise ctx.fail("id", f"{post_id!r} is not a usable id",
                       'use letters, digits, "-", "_", "." and "/" between words, '
                       'e.g. id = "2027-06-final-conference"')  # fmt: skip
    title = _typed(ctx, "title", data.get("title", ""), str, '"A title"').strip()
    if not title:
        if not body.strip():
            raise PostError(source, "nothing to say: no title and no text",
                            "add title = \"...\" and a text after the second '+++'")  # fmt: skip
        raise PostError(source, "title is missing", 'add title = "..." to the settings', 2)
    tz = _typed(ctx, "timezone", data.get("timezone", config.timezone), str, '"Europe/Berlin"')
    try:
        zone(tz)
    except ValueError as exc:
        raise ctx.fail("timezone", str(exc), 'use an IANA name like "Europe/Berlin"') from None
    if "publish_at" not in data:
        raise PostError(source, "publish_at is missing",
                        "add publish_at = 2027-05-02T10:00:00 (local time in the post's timezone)",
                        2)  # fmt: skip
    publish_at, warning = _wall(ctx, "publish_at", data["publish_at"], tz, None)
    warnings.extend([warning] if warning else [])
    expires_at = None
    if "expires_at" in data:
        expires_at, warning = _wall(ctx, "expires_at", data["expires_at"], tz, None)
        warnings.extend([warning] if warning else [])
    channels = None
    if "channels" in data:
        channels = tuple(dict.fromkeys(_strings(ctx, "channels", data["channels"])))
        for name in channels:
            if name not in config.channels:
                problems.append(ctx.fail(
                    "channels", f"unknown channel {name!r}; nothing is sent there",
                    f"configured channels: {', '.join(config.channels) or '(none)'}",
                ))  # fmt: skip
        channels = tuple(n for n in channels if n in config.channels)
    image = _image(ctx, "image", data["image"], path, config, None) if "image" in data else None
    event = _event(ctx, data["event"], tz, config, warnings) if "event" in data else None
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
        link=_typed(ctx, "link", data.get("link", ""), str, '"https://..."'),
        image=image,
        image_alt=_typed(ctx, "image_alt", data.get("image_alt", ""), str, '"..."'),
        tags=_strings(ctx, "tags", data.get("tags", [])),
        draft=_typed(ctx, "draft", data.get("draft", False), bool, "false"),
        event=event,
        overrides=_overrides(ctx, tables, path, tz, config, warnings, problems),
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
        raw = path.read_bytes()
    except OSError as exc:
        raise PostError(
            source, f"cannot read the file ({exc.strerror})", "check permissions"
        ) from None
    return parse_post(decode(raw, source), path, config)


def post_files(posts_dir: Path) -> list[Path]:
    """Every ``*.md`` below ``posts_dir``, in a stable order."""
    if not posts_dir.is_dir():
        return []
    return sorted(p for p in posts_dir.rglob("*.md") if not p.is_symlink() or p.exists())


def collect(results: Iterable[tuple[Path, Post | PostError]], config: Config) -> ReadResult:
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
            errors.append(PostError(
                post.source,
                f"id {post_id!r} in language {language!r} is used by several files: {names}",
                "give each post its own id (or language suffix); none of them is published "
                "until then",
            ))  # fmt: skip
            bad.add(post.source)
    return ReadResult(posts, errors, frozenset(bad))


def read_posts(config: Config, paths: Iterable[Path] | None = None) -> ReadResult:
    """Read every post file (or the given ones), one error per bad file."""
    results: list[tuple[Path, Post | PostError]] = []
    if paths is None and not config.posts_dir.is_dir():
        raise ConfigError(
            f"publisher.posts_dir: the folder {config.posts_dir} does not exist",
            "create it, fix posts_dir, or mount it; nothing is planned (or cancelled) without it",
        )
    for path in post_files(config.posts_dir) if paths is None else paths:
        try:
            results.append((path, read_post(path, config)))
        except PostError as exc:
            results.append((path, exc))
    return collect(results, config)


def _display(path: Path, config: Config) -> str:
    """The path as a user would name it: relative to the config's folder where possible."""
    try:
        return str(path.resolve().relative_to(config.path.parent))
    except ValueError:
        return str(path)
