"""One pass of work: sync the plan, reconcile uncertain sends, publish what is due, rebuild feeds.

Each delivery's failure is recorded and never stops the rest.  Channels are served
concurrently, each channel's deliveries one after another.  ``run --once`` is one pass; the
daemon calls the same pass whenever it wakes.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from publisher.channels.base import Channel, Feed, read_token
from publisher.core import logs
from publisher.core.config import Config
from publisher.core.errors import ChannelError, ExitStatus, PostError, PublisherError, TokenMissing
from publisher.core.models import (
    Delivery,
    Draft,
    LedgerRow,
    Post,
    Receipt,
    State,
    split_delivery_id,
)
from publisher.core.plan import Plan, expiry_reason, plan_post
from publisher.core.plugins import capabilities
from publisher.core.posts import ReadResult
from publisher.core.rows import planned_row
from publisher.core.times import local_text, utc
from publisher.store.ledger import Ledger
from publisher.store.ledger_safety import DISTRUSTED, distrust_overdue, is_empty, look_first

MAX_BACKOFF = timedelta(hours=6)
#: An uncertain send is re-sent only when a read this long after the attempt finds nothing.
SLOW_LISTING = timedelta(seconds=60)
#: Deliveries one claim takes for a channel: fewer round trips to the ledger, while a batch
#: stays short enough that a stop (or another worker) never waits long for the rest.
CLAIM_BATCH = 4


@dataclass(frozen=True)
class Outcome:
    """What one attempt or reconcile ended in."""

    id: str
    channel: str
    state: State
    detail: str | None = None


@dataclass(frozen=True)
class _Planned:
    """One post's planned deliveries and ledger rows, kept while the post is unchanged."""

    post: Post
    deliveries: list[Delivery]
    warnings: list[str]
    rows: list[dict[str, Any]]


@dataclass
class RunReport:
    """Everything one pass did, for the CLI's output and exit code."""

    outcomes: list[Outcome] = field(default_factory=list)
    token_errors: dict[str, TokenMissing] = field(default_factory=dict)
    post_errors: list[PostError] = field(default_factory=list)
    feeds_written: list[str] = field(default_factory=list)
    source_errors: list[PublisherError] = field(default_factory=list)
    feed_errors: list[str] = field(default_factory=list)
    corrections: list[Any] = field(default_factory=list)

    @property
    def exit_status(self) -> ExitStatus:
        if self.token_errors or self.post_errors or self.source_errors:
            return ExitStatus.BAD_INPUT
        if self.feed_errors or any(
            o.state in (State.FAILED, State.UNCERTAIN) for o in self.outcomes
        ):
            return ExitStatus.DELIVERY_FAILED
        return ExitStatus.OK


Notifier = Callable[[Outcome], None]


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
        self._deliveries: dict[str, Delivery] = {}
        self._planned: dict[int, _Planned] = {}
        self._in_flight: set[str] = set()
        self._parked: set[str] = set()
        #: Files that failed to parse at the last sync (None before the first sync).
        self._keep_sources: frozenset[str] | None = None
        self._lock = threading.Lock()
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
        self._keep_sources = frozenset(keep)
        if fresh:  # a new (or lost and restarted) ledger: look for what is overdue first
            distrust_overdue(self.ledger, self.plan.deliveries, now, self.config)
        self._fresh_checked = True
        with self._lock:
            self._parked.clear()
        if report is not None:
            report.post_errors.extend(read.errors)
        return counts

    def _replan(self, posts: list[Post]) -> list[dict[str, Any]]:
        """Plan the posts, re-planning only those that changed since the last sync.

        The daemon's watcher hands back the same ``Post`` object for a file that did not
        change, so its deliveries and ledger rows (content hashes included) are reused.
        """
        cache: dict[int, _Planned] = {}
        deliveries: list[Delivery] = []
        warnings: list[str] = []
        rows: list[dict[str, Any]] = []
        for post in posts:
            hit = self._planned.get(id(post))
            if hit is None or hit.post is not post:
                found, dropped = plan_post(post, self.config)
                hit = _Planned(
                    post,
                    found,
                    [*post.warnings, *dropped],
                    [planned_row(d, self.config.channels[d.channel]) for d in found],
                )
            cache[id(post)] = hit
            deliveries.extend(hit.deliveries)
            warnings.extend(hit.warnings)
            rows.extend(hit.rows)
        self._planned = cache
        deliveries.sort(key=lambda d: (d.due_at, d.id))
        self.plan = Plan(deliveries, warnings)
        self._deliveries = self.plan.by_id()
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
        from publisher.app.corrections import changed_rows, correct

        wanted = [n for n in (self.channels if names is None else names) if n in self.channels]
        edits = {row.channel for row in changed_rows(self.ledger, channels=wanted)}
        # a token is read only for a channel that has something to edit (DESIGN §2)
        chosen = [n for n in wanted if n in edits and self._token_ok(self.channels[n], report)]
        for done in correct(self.ledger, self.channels, self._deliveries, self.now(), names=chosen):
            report.corrections.append(done)
            (logs.get().info if done.done else logs.get().warning)(f"{done.id}: {done.detail}")

    # -- reconcile -----------------------------------------------------------------
    def reconcile(self, report: RunReport, channel_name: str | None = None) -> None:
        """Look for the posts that uncertain sends may have created, before any retry."""
        now = self.now()
        for taken in self.ledger.take_over_sending(now, all_rows=False):
            logs.state_change(
                taken,
                split_delivery_id(taken)[2],
                State.UNCERTAIN.value,
                "its lease ran out while sending (the worker died?)",
            )
        for row in self.ledger.rows(states=[State.UNCERTAIN], channel=channel_name):
            if self.stopping.is_set():
                return
            channel = self.channels.get(row.channel)
            delivery = self._deliveries.get(row.id)
            # The draft recorded before the attempt is enough, even when the file is gone.
            if channel is None or (delivery is None and not row.attempt):
                continue
            if not self._token_ok(channel, report):
                continue
            draft = attempted(row)
            if draft is None:
                assert delivery is not None
                draft = channel.render(delivery)
            since = row.first_attempt_at or row.due_at
            try:
                found = channel.find(draft, since)
            except ChannelError as exc:
                logs.get().warning(f"cannot reconcile {row.id} yet: {exc}")
                continue
            self._settle_lookup(row, draft, found, report, "found on reconcile")

    def _settle_lookup(
        self, row: LedgerRow, draft: Draft, found: Receipt | None, report: RunReport, how: str
    ) -> None:
        # Only from the state the row was read in: if another worker settled it meanwhile,
        # this lookup's answer is stale and must not move the row again.
        now, was = self.now(), (row.state,)
        if found is not None:
            if self.ledger.mark_sent(row.id, found, now, draft.payload, detail=how, allowed=was):
                self._record(report, Outcome(row.id, row.channel, State.SENT, found.remote_url))
        elif row.attempts and row.updated_at and now - utc(row.updated_at) < SLOW_LISTING:
            # A listing may lag behind the post: re-send only after a read this much later.
            logs.get().info(
                f"{row.id}: not found yet; looking again after "
                f"{utc(row.updated_at) + SLOW_LISTING:%H:%M:%S} UTC"
            )
        elif row.attempts >= self.config.max_attempts:
            message = f"not found after an uncertain send, and {row.attempts} attempts made"
            if self.ledger.mark_failed(row.id, message, now, allowed=was):
                self._record(report, Outcome(row.id, row.channel, State.FAILED, message))
        elif self.ledger.mark_retrying(
            row.id, "not found after an uncertain send", now, now, allowed=was
        ):
            logs.state_change(row.id, row.channel, State.RETRYING.value, "not found; retrying")

    # -- sending -------------------------------------------------------------------
    def send_due(self, report: RunReport) -> None:
        """Serve every channel concurrently; each channel's deliveries one after another."""
        from publisher.store.attention import channels_to_serve

        busy = channels_to_serve(self.ledger, self.now())  # one query; a token only where needed
        names = [name for name in self.channels if name in busy]
        if not names:
            return
        pool = ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="channel")
        with self.keeping_leases(), pool:
            for future in [pool.submit(self.serve_channel, n, report) for n in names]:
                future.result()

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

    def serve_channel(self, name: str, report: RunReport) -> datetime | None:
        """Send this channel's due deliveries one after another, oldest first.

        Returns the time of the last claim that found nothing, or None when the channel
        stopped early (unset token, hourly cap, shutdown): what was due then and is still
        waiting is blocked, so the daemon schedules its next wake-up after that time.
        """
        channel = self.channels[name]
        if not self._token_ok(channel, report):
            return None
        cap = channel.config.max_per_hour
        skipped: set[str] = set()
        while not self.stopping.is_set():
            now = self.now()
            room = CLAIM_BATCH
            if cap:
                room = min(room, cap - self.ledger.sent_count_since(name, now - timedelta(hours=1)))
                if room <= 0:
                    logs.get().info(f"channel {name}: {cap} posts in the last hour; the rest waits")
                    return None
            self.guard()
            with self._lock:
                exclude = skipped | self._parked
            claimed = self.ledger.claim(
                now, self.config.lease, limit=room, channel=name, exclude=exclude
            )
            if not claimed:
                return now
            for row in claimed:  # the batch's leases are kept while it waits its turn
                self._hold(row.id)
            started, why = 0, "stopping before it was sent"
            try:
                for row in claimed:
                    if self.stopping.is_set():
                        return None
                    started += 1  # from here on, only a reconcile may move this row back
                    if not self._send(row, channel, report):
                        skipped.add(row.id)
                        if not self._token_ok(channel, report):
                            why = f"{channel.config.token_env} is not set"
                            return None
            finally:  # the rows not attempted go back untouched, as if never claimed
                for row in claimed[started:]:
                    with suppress(Exception):  # else their lease runs out: reconciled later
                        self.ledger.release(row.id, why, self.now())
                for row in claimed:
                    self._unhold(row.id)
        return None

    def _send(self, row: LedgerRow, channel: Channel, report: RunReport) -> bool:
        """Attempt one claimed delivery; False if it was handed back untouched."""
        now = self.now()
        delivery = self._deliveries.get(row.id)
        if delivery is None:
            self.ledger.release(row.id, "its post file currently has errors", now)
            with self._lock:
                self._parked.add(row.id)
            return False
        start = max(row.due_at, row.catch_up_from or row.due_at)
        reason = expiry_reason(
            start,
            row.expires_at,
            now,
            self.config.catch_up,
            is_reminder=delivery.is_reminder,
            honours_catch_up=capabilities(channel.config.type).catch_up,
            timezone=self.config.timezone,
        )
        if reason:
            if self.ledger.mark_expired(row.id, reason, now):
                self._record(report, Outcome(row.id, row.channel, State.EXPIRED, reason))
            return True
        if not self._token_ok(channel, report):
            self.ledger.release(row.id, f"{channel.config.token_env} is not set", now)
            return False
        draft = channel.render(delivery)
        if draft.errors:
            message = "; ".join(draft.errors)
            if self.ledger.mark_failed(row.id, message, now):
                self._record(report, Outcome(row.id, row.channel, State.FAILED, message))
            return True
        if look_first(row.was_uncertain, row.attempt):  # a new ledger's overdue delivery
            try:
                found = channel.find(draft, row.due_at)
            except ChannelError as exc:  # never sent unlooked: wait, or fail if it cannot work
                if exc.retry or exc.uncertain:
                    self.ledger.release(row.id, f"{DISTRUSTED} (cannot look yet: {exc})", now)
                    return False
                message = f"cannot look for it before sending (a new ledger): {exc}"
                if self.ledger.mark_failed(row.id, message, now):
                    self._record(report, Outcome(row.id, row.channel, State.FAILED, message))
                return True
            if found is not None:
                self._settle_lookup(row, draft, found, report, "found: sent before the new ledger")
                return True
        logs.state_change(row.id, row.channel, State.SENDING.value, f"attempt {row.attempts}")
        self.ledger.record_attempt(row.id, draft.payload, draft.text)
        self._hold(row.id)
        try:
            receipt = channel.publish(draft)
        except ChannelError as exc:
            self._failed_attempt(row, channel, draft, exc, report)
            return True
        else:
            if self.ledger.mark_sent(row.id, receipt, self.now(), draft.payload):
                self._record(report, Outcome(row.id, row.channel, State.SENT, receipt.remote_url))
            return True
        finally:
            self._unhold(row.id)

    def _failed_attempt(
        self, row: LedgerRow, channel: Channel, draft: Draft, exc: ChannelError, report: RunReport
    ) -> None:
        now = self.now()
        message = str(exc)
        if exc.uncertain:
            if self.ledger.mark_uncertain(row.id, message, now):
                self._record(report, Outcome(row.id, row.channel, State.UNCERTAIN, message))
            return
        if exc.duplicate and row.was_uncertain:
            since = row.first_attempt_at or row.due_at
            try:
                found = channel.find(draft, since, exc.duplicate_of)
            except ChannelError:
                found = None
            if found is not None:
                self._settle_lookup(row, draft, found, report, "duplicate of our own earlier send")
                return
        if exc.retry and row.attempts < self.config.max_attempts:
            at = now + self.backoff(row.attempts, exc.retry_after)
            if self.ledger.mark_retrying(row.id, message, at, now):
                when = local_text(at, self.config.timezone)
                logs.state_change(
                    row.id, row.channel, State.RETRYING.value, f"{message}; next attempt {when}"
                )
            return
        if exc.retry:
            message = f"{message} (gave up after {row.attempts} attempts: max_attempts)"
        if self.ledger.mark_failed(row.id, message, now):
            self._record(report, Outcome(row.id, row.channel, State.FAILED, message))

    def backoff(self, attempts: int, hint: float | None) -> timedelta:
        """Exponential backoff with jitter, never shorter than the service's own hint."""
        base = self.config.retry_backoff.total_seconds() * (2 ** max(0, attempts - 1))
        delay = min(base * (0.5 + self.rng.random()), MAX_BACKOFF.total_seconds())
        if hint is not None:
            delay = max(delay, hint)
        return timedelta(seconds=delay)

    # -- feeds ---------------------------------------------------------------------
    def rebuild_feeds(self, report: RunReport, names: Iterable[str] | None = None) -> None:
        """Rewrite the feed files (all, or the named channels') from the ledger if stale."""
        from publisher.app.feeds import rebuild

        wanted = None if names is None else set(names)
        for name, channel in self.channels.items():
            follow = getattr(channel, "follow", None)  # a calendar: entries follow their posts
            if follow is not None and (wanted is None or name in wanted):
                keep = self._keep_sources
                if keep is not None and follow(self.ledger, self._deliveries, keep, self.now()):
                    report.feeds_written.append(name)
                    logs.get().info(f"calendar {name} written")
            elif isinstance(channel, Feed) and (wanted is None or name in wanted):
                rebuild(name, channel, self.ledger, report.feeds_written, report.feed_errors)

    # -- helpers -------------------------------------------------------------------
    def _token_ok(self, channel: Channel, report: RunReport) -> bool:
        if not channel.config.token_env:
            return True
        try:
            read_token(channel.config, self.environ)
            return True
        except TokenMissing as exc:
            with self._lock:
                report.token_errors.setdefault(channel.name, exc)
            return False

    def _record(self, report: RunReport, outcome: Outcome) -> None:
        logs.state_change(outcome.id, outcome.channel, outcome.state.value, outcome.detail)
        with self._lock:
            report.outcomes.append(outcome)
        if self.notify is not None and outcome.state in (State.FAILED, State.UNCERTAIN):
            self.notify(outcome)

    def _hold(self, delivery_id: str) -> None:
        with self._lock:
            self._in_flight.add(delivery_id)

    def _unhold(self, delivery_id: str) -> None:
        with self._lock:
            self._in_flight.discard(delivery_id)

    def renew_leases(self) -> None:
        """Called periodically while sends run, so a slow call never loses its lease."""
        with self._lock:
            ids = list(self._in_flight)
        if ids:
            self.ledger.renew(ids, self.now() + self.config.lease)


def attempted(row: LedgerRow) -> Draft | None:
    """The draft an earlier attempt really sent (the post file may have changed since)."""
    if not row.attempt:
        return None
    return Draft(row.id, row.channel, row.attempt["payload"], text=row.attempt["text"])
