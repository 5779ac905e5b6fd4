"""One poll of one source: fetch, pick the items never imported, write their post files.

Nothing here raises for a bad source: the result carries the error (named and with a hint),
so the caller goes on with the other sources.  A source failing for a day queues one
notification (keyed by when the failure began), not one per poll.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.app.feed_fetch import SourceError, fetch
from publisher.app.feed_items import Item, PostFile, parse_feed, post_file
from publisher.core import logs
from publisher.core.urls import url_problem
from publisher.store.source_ledger import SEEN, SourceLedger

if TYPE_CHECKING:
    import requests

    from publisher.core.config import Config
    from publisher.core.sources import SourceConfig
    from publisher.store.source_ledger import PollState

#: A source failing this long raises one notification.
ALERT_AFTER = timedelta(days=1)
#: What an imported image may be: the formats every social channel takes, by their bytes.
IMAGE_TYPES = {
    b"\xff\xd8\xff": "jpg",
    b"\x89PNG\r\n\x1a\n": "png",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
}
MAX_IMAGE_BYTES = 10_000_000  # Facebook's photo limit, the smallest of the channels'


@dataclass
class PollResult:
    """What one poll did, for ``import``'s output, ``run --once``'s exit code and the log."""

    source: str
    written: list[str] = field(default_factory=list)
    would_write: list[str] = field(default_factory=list)
    recorded: int = 0
    waiting: int = 0
    not_modified: bool = False
    warnings: list[str] = field(default_factory=list)
    error: SourceError | None = None


def is_due(state_polled_at: datetime | None, source: SourceConfig, now: datetime) -> bool:
    """``run --once`` polls a source when ``every`` has passed since its last poll, good or bad."""
    return state_polled_at is None or now - state_polled_at >= source.every


def poll(
    source: SourceConfig,
    config: Config,
    store: SourceLedger | None,
    http: requests.Session,
    now: datetime,
    *,
    backfill: int | None = None,
    dry_run: bool = False,
) -> PollResult:
    """Poll ``source`` once; ``store`` None (dry run without a ledger) means a first poll."""
    result = PollResult(source.name)
    what = f"source {source.name!r}"
    state = store.poll_state(source.name) if store else None
    conditional = (
        state is not None
        and state.url == source.url  # validators of that URL
        and not dry_run
        and backfill is None
    )
    try:
        fetched = fetch(
            http,
            source.url,
            what=what,
            timeout=source.timeout.total_seconds(),
            etag=state.etag if conditional and state else None,
            last_modified=state.last_modified if conditional and state else None,
            accept="application/rss+xml, application/atom+xml, application/rdf+xml, "
            "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
        )
        if fetched.moved_to:
            result.warnings.append(
                f"{what}: the feed moved permanently to {fetched.moved_to}; "
                f"update url in [sources.{source.name}]"
            )
        items = [] if fetched.not_modified else parse_feed(fetched, what)
    except SourceError as exc:
        result.error = exc
        if store is not None and not dry_run:
            _failed(store, source, state, exc, now)
        return result
    result.not_modified = fetched.not_modified
    known = store.item_states(source.name) if store else {}
    first = state is None or state.ok_at is None
    items = _unique(items)
    fresh = [i for i in items if i.key not in known]
    if backfill is not None:
        never = [i for i in items if known.get(i.key, SEEN) == SEEN]
        chosen = sorted(never, key=_age_order, reverse=True)[:backfill]  # the newest N
        rest = [i for i in fresh if i not in chosen]
    elif first:
        chosen, rest = [], fresh
    else:
        ordered = sorted(fresh, key=_age_order)
        chosen, rest = ordered[: source.max_new], ordered[source.max_new :]
        result.waiting = len(rest)
    chosen = sorted(chosen, key=_age_order)
    if dry_run:
        for item in chosen:
            made = post_file(item, source=source, found_at=now, timezone=config.timezone)
            result.would_write.append(
                f"{source.dir}/{made.stem}.{source.language}.md: {made.title}"
            )
        result.recorded = len(rest) if first and backfill is None else 0
        return result
    assert store is not None
    if first or backfill is not None:
        seen = [(i.key, i.identity) for i in rest] if first else []
        store.record_seen(source.name, seen, now)
        result.recorded = len(seen)
    for item in chosen:
        _import(item, source, config, store, http, now, result, seen_too=backfill is not None)
    keep_tags = not fetched.not_modified and result.waiting == 0
    values: dict[str, object] = {
        "polled_at": now,
        "ok_at": now,
        "failing_since": None,
        "error": None,
        "url": source.url,
    }
    if keep_tags:
        values["etag"] = fetched.headers.get("ETag") or fetched.headers.get("etag")
        values["last_modified"] = fetched.headers.get("Last-Modified") or fetched.headers.get(
            "last-modified"
        )
    elif not fetched.not_modified:
        values["etag"] = values["last_modified"] = None  # items wait: the next GET must be full
    store.save_poll(source.name, **values)
    return result


def _unique(items: list[Item]) -> list[Item]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item.key not in seen:
            seen.add(item.key)
            out.append(item)
    return out


def _age_order(item: Item) -> tuple[datetime, int]:
    """Oldest first: by the item's date, else by feed order read bottom-up (newest on top)."""
    return (item.published or datetime.max.replace(tzinfo=UTC), -item.position)


def _import(
    item: Item,
    source: SourceConfig,
    config: Config,
    store: SourceLedger,
    http: requests.Session,
    now: datetime,
    result: PollResult,
    *,
    seen_too: bool,
) -> None:
    was_seen = seen_too and store.item_states(source.name).get(item.key) == SEEN
    if not store.claim(source.name, item.key, item.identity, now, seen_too=seen_too):
        return
    folder = config.posts_dir / source.dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        made = post_file(item, source=source, found_at=now, timezone=config.timezone)
        image = None
        if item.image_url:
            image = _image(item.image_url, folder, made.stem, source, http, result)
        if image is not None:
            made = post_file(
                item, source=source, found_at=now, timezone=config.timezone, image=image
            )
        problem = _unreadable(made, folder / f"{made.stem}.{source.language}.md", config)
        if problem:
            store.release(source.name, item.key, SEEN)
            result.warnings.append(
                f"source {source.name!r}: {item.link or item.identity} is not imported: {problem}"
            )
            return
        path = write_new(folder, made, source.language)
    except OSError as exc:
        store.release(source.name, item.key, SEEN if was_seen else None)
        result.warnings.append(
            f"source {source.name!r}: cannot write into {folder} "
            f"({exc.strerror or exc}); the item is tried again next poll"
        )
        return
    store.imported(source.name, item.key, str(path), now)
    result.written.append(str(path))
    logs.get().info(f"source {source.name}: imported {item.link or item.identity} -> {path}")


def _image(
    url: str,
    folder: Path,
    stem: str,
    source: SourceConfig,
    http: requests.Session,
    result: PollResult,
) -> str | None:
    """Download the item's image beside its post file; None (and a warning) if it is not fit."""
    what = f"source {source.name!r}: the image"
    problem = url_problem(url)
    try:
        if problem:
            raise SourceError(f"{what}: {problem}")
        body = fetch(
            http,
            url,
            what=what,
            timeout=source.timeout.total_seconds(),
            limit=MAX_IMAGE_BYTES,
            accept="image/*",
        ).body
    except SourceError as exc:
        result.warnings.append(f"{exc.message}; the post has no image")
        return None
    suffix = next((ext for magic, ext in IMAGE_TYPES.items() if body.startswith(magic)), None)
    if suffix is None:
        result.warnings.append(f"{what} {url} is not a JPEG, PNG or GIF; the post has no image")
        return None
    name = _free_name(folder, f"{stem}.{suffix}")
    _write_atomic(folder / name, body)
    return name


def _unreadable(made: PostFile, path: Path, config: Config) -> str | None:
    """What the post reader would say against the file about to be written (None: fine)."""
    from publisher.core.errors import PostError
    from publisher.core.posts import parse_post

    try:
        parse_post(made.text, path, config)
    except PostError as exc:
        return exc.message
    return None


def write_new(folder: Path, made: PostFile, language: str) -> Path:
    """Write the post file under a name nobody uses yet: an existing file is never replaced."""
    name = _free_name(folder, f"{made.stem}.{language}.md")
    return _write_atomic(folder / name, made.text.encode("utf-8"))


def _free_name(folder: Path, name: str) -> str:
    stem, dot, rest = name.partition(".")
    candidate, n = name, 1
    while (folder / candidate).exists():
        n += 1
        candidate = f"{stem}-{n}{dot}{rest}"
    return candidate


def _write_atomic(path: Path, data: bytes) -> Path:
    """Write a temporary file, then link it into place; ``os.link`` refuses to replace one."""
    handle, tmp = tempfile.mkstemp(prefix=".import-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        target = path
        n = 1
        while True:
            try:
                os.link(tmp, target)
                return target
            except FileExistsError:
                n += 1
                stem, dot, rest = path.name.partition(".")
                target = path.with_name(f"{stem}-{n}{dot}{rest}")
    finally:
        os.unlink(tmp)


def _failed(
    store: SourceLedger,
    source: SourceConfig,
    state: PollState | None,
    exc: SourceError,
    now: datetime,
) -> None:
    since = state.failing_since if state and state.failing_since else now
    values: dict[str, object] = {"polled_at": now, "failing_since": since, "error": exc.message}
    if now - since >= ALERT_AFTER and (state is None or state.notified != since.isoformat()):
        title = f"publisher: source {source.name!r} has failed since {since:%Y-%m-%d %H:%M} UTC"
        body = f"{exc.message}\n{exc.hint}\nNo news from it is imported until it works again."
        store.queue_alert(f"source:{source.name}:{since.isoformat()}", title, body, now)
        values["notified"] = since.isoformat()
    store.save_poll(source.name, **values)


def poll_all(
    config: Config,
    store: SourceLedger | None,
    now: datetime,
    *,
    names: list[str] | None = None,
    due_only: bool = False,
    backfill: int | None = None,
    dry_run: bool = False,
    http_factory: Callable[[], requests.Session] | None = None,
) -> list[PollResult]:
    """Poll the named sources (default: all; ``due_only``: those whose ``every`` has passed)."""
    from publisher.app.feed_fetch import session

    http = (http_factory or session)()
    results = []
    try:
        for name in names or list(config.sources):
            source = config.sources[name]
            state = store.poll_state(name) if due_only and store is not None else None
            if state is not None and not is_due(state.polled_at, source, now):
                continue
            results.append(
                poll(source, config, store, http, now, backfill=backfill, dry_run=dry_run)
            )
    finally:
        http.close()
    return results
