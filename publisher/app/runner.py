"""One pass of work: sync the plan, reconcile uncertain sends, publish what is due, rebuild feeds.

Each delivery's failure is recorded and never stops the rest.  Channels are served
concurrently, each channel's deliveries one after another.  ``run --once`` is one pass; the
daemon calls the same pass whenever it wakes.  The steps live in their own modules
(``reconcile``, ``sending``, ``upkeep``); the runner holds the state they share.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from publisher.app import reconcile, sending, upkeep
from publisher.app.report import Notifier, Outcome, RunReport
from publisher.channels.base import Channel, read_token
from publisher.core import logs
from publisher.core.config import Config
from publisher.core.errors import TokenMissing
from publisher.core.models import Delivery, Post, State
from publisher.core.plan import Plan, plan_post
from publisher.core.posts import ReadResult
from publisher.core.rows import planned_row
from publisher.store.ledger import Ledger
from publisher.store.ledger_safety import distrust_overdue, is_empty

__all__ = ["Notifier", "Outcome", "RunReport", "Runner"]


#: Each image a post uses with its (size, mtime_ns), or None when it cannot be read.
ImageStamps = tuple[tuple[Path, tuple[int, int] | None], ...]


def image_stamps(post: Post) -> ImageStamps:
    """The stamps of the post's images, which its rows' content hashes include (``core.rows``)."""
    images = {post.image, *(o.image for o in post.overrides.values())}
    found: list[tuple[Path, tuple[int, int] | None]] = []
    for image in sorted(i for i in images if i is not None):
        try:
            stat = image.stat()
            found.append((image, (stat.st_size, stat.st_mtime_ns)))
        except OSError:
            found.append((image, None))
    return tuple(found)


def plan_key(post: Post) -> tuple[Path, str]:
    """Where a post comes from (its file and language): the key of the runner's plan cache."""
    return (post.path, post.language)


@dataclass(frozen=True)
class _Planned:
    """One post's planned deliveries and ledger rows, kept while the post is unchanged."""

    post: Post
    images: ImageStamps
    deliveries: list[Delivery]
    warnings: list[str]
    rows: list[dict[str, Any]]

    def holds(self, post: Post) -> bool:
        """True if planning ``post`` now would give these rows again.

        The watcher hands back the same object while neither the file nor its images changed;
        an equal post read again (a touched file, a changed image) is checked against the
        image stamps too, as its rows' content hashes include them.
        """
        if self.post is post:
            return True
        return self.post == post and self.images == image_stamps(post)


class Runner:
    """Claims, sends and records deliveries against one ledger."""

    def __init__(
        self,
        config: Config,
        ledger: Ledger,
        channels: Mapping[str, Channel],
        clock: Callable[[], datetime],
        *,
        environ: Mapping[str, str] | None = None,
        notify: Notifier | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.ledger = ledger
        self.channels = dict(channels)
        self.clock = clock
        self.environ = os.environ if environ is None else environ
        self.notify = notify
        self.rng = rng or random.Random()
        self.plan = Plan()
        self.deliveries: dict[str, Delivery] = {}
        self._planned: dict[tuple[Path, str], _Planned] = {}
        self._in_flight: set[str] = set()
        self.parked: set[str] = set()
        #: Files that failed to parse at the last sync (None before the first sync).
        self.keep_sources: frozenset[str] | None = None
        self.lock = threading.Lock()
        #: Set to stop taking new deliveries (SIGTERM); the sends in flight finish.
        self.stopping = threading.Event()
        #: Raises ``LedgerError`` when the ledger file was deleted or replaced (DESIGN §7).
        self.guard: Callable[[], None] = lambda: None
        self._fresh_checked = False

    def now(self) -> datetime:
        return self.ledger.db_now(self.clock())

    # -- the pass ------------------------------------------------------------------
    def sync(self, read: ReadResult, report: RunReport | None = None) -> dict[str, int]:
        """Plan the posts and bring the ledger in line; bad files keep their rows."""
        now = self.now()
        rows = self._replan(read.posts)
        keep = read.bad_paths
        fresh = not self._fresh_checked and is_empty(self.ledger)
        counts = self.ledger.sync(rows, now, keep)
        self.keep_sources = frozenset(keep)
        if fresh:  # a new (or lost and restarted) ledger: look for what is overdue first
            distrust_overdue(self.ledger, self.plan.deliveries, now, self.config)
        self._fresh_checked = True
        with self.lock:
            self.parked.clear()
        if report is not None:
            report.post_errors.extend(read.errors)
        return counts

    def _replan(self, posts: list[Post]) -> list[dict[str, Any]]:
        """Plan the posts, re-planning only those that changed since the last sync.

        A post that did not change (the same ``Post``, or a re-read one equal to it whose
        images did not change either) reuses its deliveries and ledger rows (content hashes
        included): planning depends only on the post, its images and the config.
        """
        cache: dict[tuple[Path, str], _Planned] = {}
        deliveries: list[Delivery] = []
        warnings: list[str] = []
        rows: list[dict[str, Any]] = []
        for post in posts:
            key = plan_key(post)
            hit = self._planned.get(key)
            if hit is None or not hit.holds(post):
                found, dropped = plan_post(post, self.config)
                hit = _Planned(
                    post,
                    image_stamps(post),
                    found,
                    [*post.warnings, *dropped],
                    [planned_row(d, self.config.channels[d.channel]) for d in found],
                )
            cache[key] = hit
            deliveries.extend(hit.deliveries)
            warnings.extend(hit.warnings)
            rows.extend(hit.rows)
        self._planned = cache
        deliveries.sort(key=lambda d: (d.due_at, d.id))
        self.plan = Plan(deliveries, warnings)
        self.deliveries = self.plan.by_id()
        return rows

    def run_once(self, read: ReadResult) -> RunReport:
        report = RunReport()
        self.sync(read, report)
        self.reconcile(report)
        self.send_due(report)
        self.correct(report)
        self.rebuild_feeds(report)
        return report

    def correct(self, report: RunReport, names: Iterable[str] | None = None) -> None:
        """Edit feed items, and live posts where ``update_published`` is set (DESIGN §9)."""
        upkeep.run_corrections(self, report, names)

    def reconcile(self, report: RunReport, channel_name: str | None = None) -> None:
        """Look for the posts that uncertain sends may have created, before any retry."""
        reconcile.reconcile(self, report, channel_name)

    def send_due(self, report: RunReport) -> None:
        """Serve every channel concurrently; each channel's deliveries one after another."""
        sending.send_due(self, report)

    def serve_channel(self, name: str, report: RunReport) -> datetime | None:
        """Send this channel's due deliveries (see ``sending.serve_channel``)."""
        return sending.serve_channel(self, name, report)

    def rebuild_feeds(self, report: RunReport, names: Iterable[str] | None = None) -> None:
        """Rewrite the feed files (all, or the named channels') from the ledger if stale."""
        upkeep.rebuild_feeds(self, report, names)

    # -- leases --------------------------------------------------------------------
    @contextmanager
    def keeping_leases(self) -> Iterator[None]:
        """Renew the leases of the sends in flight while the block runs."""
        stop = threading.Event()
        keeper = threading.Thread(target=self._keep_leases, args=(stop,), daemon=True)
        keeper.start()
        try:
            yield
        finally:
            stop.set()
            keeper.join()

    def _keep_leases(self, stop: threading.Event) -> None:
        interval = max(0.5, self.config.lease.total_seconds() / 3)
        while not stop.wait(interval):
            try:
                self.renew_leases()
            except Exception as exc:  # noqa: BLE001 - a database hiccup must not end renewals
                logs.get().warning(f"cannot renew leases: {type(exc).__name__}")

    def renew_leases(self) -> None:
        """Called periodically while sends run, so a slow call never loses its lease."""
        with self.lock:
            ids = list(self._in_flight)
        if ids:
            self.ledger.renew(ids, self.now() + self.config.lease)

    # -- helpers shared by the steps --------------------------------------------------
    def token_ok(self, channel: Channel, report: RunReport) -> bool:
        if not channel.config.token_env:
            return True
        try:
            read_token(channel.config, self.environ)
            return True
        except TokenMissing as exc:
            with self.lock:
                report.token_errors.setdefault(channel.name, exc)
            return False

    def record(self, report: RunReport, outcome: Outcome) -> None:
        logs.state_change(outcome.id, outcome.channel, outcome.state.value, outcome.detail)
        with self.lock:
            report.outcomes.append(outcome)
        if self.notify is not None and outcome.state in (State.FAILED, State.UNCERTAIN):
            self.notify(outcome)

    def hold(self, delivery_id: str) -> None:
        with self.lock:
            self._in_flight.add(delivery_id)

    def unhold(self, delivery_id: str) -> None:
        with self.lock:
            self._in_flight.discard(delivery_id)
