"""The long-running ``publisher run``: wakes each channel at its next due time, follows the files.

Threads, and what each one does:

- main: a cheap stat scan of the post files (``publisher.core.watch``) when file-system
  notifications (``publisher.app.fsevents``) say something changed, and on every tick as the
  safety net (every second when notifications are not available); when a file was added,
  changed or deleted, the ledger is synced and every channel is woken.  Signals
  land here: the first one stops new sends and waits (bounded) for those in flight, the
  second exits at once (what was in flight is reconciled on the next start).
- one worker per channel (``publisher.app.channel_worker``): when kicked, it reconciles (on
  the tick), sends what is due, one after another (``Runner.serve_channel``), rewrites its
  feed, and schedules its next wake.
- APScheduler (in-memory jobs; the ledger is the source of truth): per channel a date job
  at the next due time, plus the safety tick (it serves only the channels with something
  uncertain, retrying or due: one query when the site is idle).  Callbacks only kick workers, so a late job
  costs nothing and two wake-ups never run one channel twice at once.
- the lease keeper (``Runner.keeping_leases``) and the notifier (``publisher.app.notify``).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from publisher.app.channel_worker import ChannelWorker
from publisher.app.fsevents import FileEvents
from publisher.app.notify import NotifyThread
from publisher.app.runner import Runner, RunReport
from publisher.channels.base import Feed
from publisher.core import logs
from publisher.core.config import Config
from publisher.core.errors import ExitStatus, LedgerError, PostError, PublisherError
from publisher.core.secrets import check_expiry, scrub
from publisher.core.watch import PostWatcher
from publisher.store.ledger import Ledger

#: How often the post files are stat-scanned without file-system notifications (new, changed,
#: deleted files seen within 2 s); with them, a scan runs on each change and on the tick.
SCAN_INTERVAL = 1.0
#: How long a stop (SIGTERM) waits for the sends in flight before exiting anyway.
STOP_TIMEOUT = 30.0


class Daemon:
    """Wires the runner, the watcher, APScheduler and the notifier; no delivery logic here."""

    def __init__(
        self,
        config: Config,
        ledger: Ledger,
        runner: Runner,
        watcher: PostWatcher,
        *,
        clock: Callable[[], datetime],
        scheduler: Any = None,
        notifier: NotifyThread | None = None,
    ) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self.config = config
        self.ledger = ledger
        self.runner = runner
        self.watcher = watcher
        self.clock = clock
        self.scheduler = scheduler or BackgroundScheduler(timezone=UTC)
        self.notifier = notifier
        self.workers = {name: ChannelWorker(name, self.round) for name in runner.channels}
        self.stop = threading.Event()
        #: Set when the post files may have changed (a notification, the tick): scan them.
        self.look = threading.Event()
        self.events = FileEvents(config.posts_dir, self.look.set, self.stop)
        self._schedule_lock = threading.Lock()
        self._said: set[str] = set()
        self._errors: set[str] = set()
        #: Why the daemon stopped on its own (the ledger file was lost), if it did.
        self.failure: LedgerError | None = None

    # -- wake-ups (APScheduler) -------------------------------------------------------------
    def reschedule(self, name: str, idle_since: datetime | None = None) -> datetime | None:
        """Put channel ``name``'s date job at its next due time; returns that time (UTC).

        Deliveries that were already due at ``idle_since`` (the worker's last empty claim)
        and still wait are blocked (unset token, hourly cap, bad post file): the tick
        retries those, so they must not wake the daemon in a loop.
        """
        from apscheduler.triggers.date import DateTrigger

        with self._schedule_lock:
            local = self.clock()
            now = self.runner.now()
            due = self.ledger.next_due(now, after=idle_since or now, channel=name)
            job = f"due:{name}"
            if due is None:
                if self.scheduler.get_job(job) is not None:
                    self.scheduler.remove_job(job)
                return None
            at = due + (local - now)  # the database clock may differ from ours
            self.scheduler.add_job(
                self.workers[name].kick,
                DateTrigger(run_date=at.astimezone(UTC), timezone=UTC),
                id=job,
                replace_existing=True,
                misfire_grace_time=None,
                coalesce=True,
            )
            return due

    def tick(self) -> None:
        """The safety tick: scan the files; channels with work reconcile and retry; alerts go out."""
        logs.get().debug("safety tick")
        self.look.set()
        for name in self.due_channels():
            self.workers[name].kick(reconcile=True)
        if self.notifier is not None:
            self.notifier.kick()

    def due_channels(self) -> list[str]:
        """The channels the tick must serve (every one when the ledger cannot be asked)."""
        from publisher.store.attention import channels_to_serve

        try:
            wanted = channels_to_serve(self.ledger, self.runner.now())
        except Exception as exc:  # noqa: BLE001 - the database is away: the rounds report it
            logs.get().debug(f"tick: {type(exc).__name__}; serving every channel")
            return list(self.workers)
        if self.config.state_is_url:  # other workers may have sent feed items: our feed copies
            wanted |= {n for n, c in self.runner.channels.items() if isinstance(c, Feed)}
        return [name for name in self.workers if name in wanted]

    # -- the work -------------------------------------------------------------------------
    def round(self, name: str, reconcile: bool) -> None:
        """One channel's turn: reconcile (if asked), send what is due, feed, next wake-up."""
        report = RunReport()
        idle_since = None
        try:
            if reconcile:
                self.runner.reconcile(report, name)
            idle_since = self.runner.serve_channel(name, report)
            self.runner.correct(report, [name])
            self.runner.rebuild_feeds(report, [name])
        except LedgerError as exc:  # the ledger file was lost: stop everything (exit 2)
            self.lost(exc)
            return
        except Exception as exc:  # noqa: BLE001 - e.g. the database is away: try on the tick
            logs.get().error(
                f"channel {name}: {type(exc).__name__}: {scrub(str(exc))}; "
                "trying again on the next tick"
            )
        for error in report.token_errors.values():
            self._once(
                f"token:{error.env}", f"{error.message}; its deliveries stay pending ({error.hint})"
            )
        if not self.runner.stopping.is_set():
            try:
                self.reschedule(name, idle_since)
            except Exception as exc:  # noqa: BLE001 - the tick reschedules
                logs.get().error(f"channel {name}: cannot schedule: {type(exc).__name__}")

    def kick_all(self, reconcile: bool = False) -> None:
        for worker in self.workers.values():
            worker.kick(reconcile)

    def scan(self) -> bool:
        """Look at the post files; on any change sync the ledger and wake every channel."""
        changes = self.watcher.scan()
        if not changes:
            return False
        read = self.watcher.result()
        self._report_errors(read.errors, changes.errors)
        counts = self.runner.sync(read)
        moved = ", ".join(f"{n} {what}" for what, n in counts.items() if n) or "unchanged"
        logs.get().info(
            f"post files: {len(changes.added)} new, {len(changes.changed)} changed, "
            f"{len(changes.removed)} deleted; deliveries: {moved}"
        )
        self.kick_all()
        return True

    def _report_errors(self, errors: list[PostError], fresh: tuple[PostError, ...]) -> None:
        """Each bad file once per change: parsed again in this scan, or a new problem."""
        parsed = {id(e) for e in fresh}
        for error in errors:
            if id(error) in parsed or error.message not in self._errors:
                logs.get().error(f"{error.message} ({error.hint})" if error.hint else error.message)
        self._errors = {e.message for e in errors}

    def _once(self, key: str, message: str) -> None:
        if key not in self._said:
            self._said.add(key)
            logs.get().error(message)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Read the files, sync, start the scheduler and workers, wake every channel."""
        from apscheduler.triggers.interval import IntervalTrigger

        self.events.start()  # before the first scan, so no change falls between the two
        changes = self.watcher.scan()
        self.save_cache()
        read = self.watcher.result()
        self._report_errors(read.errors, changes.errors)
        self.runner.sync(read)
        self.scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=self.config.tick.total_seconds(), timezone=UTC),
            id="tick",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )
        self.scheduler.start()
        for worker in self.workers.values():
            worker.thread.start()
        self.kick_all(reconcile=True)
        if self.notifier is not None:
            self.notifier.start()
            self.notifier.kick()

    def lost(self, exc: LedgerError) -> None:
        """The ledger path no longer names the file in use: stop sending, exit 2."""
        if self.failure is None:
            self.failure = exc
            logs.get().error(f"{exc.message} ({exc.hint})")
        self.runner.stopping.set()
        self.stop.set()

    def save_cache(self) -> None:
        """Keep the parsed files for the next start (``publisher.core.postcache``), if any changed."""
        from publisher.core import postcache

        if self.watcher.dirty:
            postcache.save(self.config, self.watcher.entries())

    def loop(self) -> None:
        """Scan the files when told to (or every second without notifications) until stopped."""
        first = True  # one scan soon after start: a watch may start just after a change
        while not self.stop.is_set():
            told = self.look.wait(SCAN_INTERVAL)
            if self.stop.is_set():
                return
            if not (told or first or not self.events.alive):
                continue
            self.look.clear()
            first = False
            try:
                self.runner.guard()
                self.scan()
            except LedgerError as exc:
                self.lost(exc)
            except PublisherError as exc:  # e.g. posts_dir unmounted: say it once, keep going
                self._once(exc.message, f"{exc.message} ({exc.hint})")
            except Exception as exc:  # noqa: BLE001 - a hiccup must not end the daemon
                logs.get().error(f"scanning post files: {type(exc).__name__}: {scrub(str(exc))}")

    def shutdown(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop taking work, let the sends in flight finish; False if some did not in time."""
        self.runner.stopping.set()
        self.scheduler.shutdown(wait=False)
        for worker in self.workers.values():
            worker.stop()
        self.look.set()
        deadline = self.clock().timestamp() + timeout
        finished = True
        for worker in self.workers.values():
            if worker.thread.is_alive():
                worker.thread.join(max(0.0, deadline - self.clock().timestamp()))
                finished = finished and not worker.thread.is_alive()
        if self.notifier is not None:
            self.notifier.stop(5.0)
        self.save_cache()
        return finished


def serve(
    config: Config,
    *,
    clock: Callable[[], datetime] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ExitStatus:
    """``publisher run``: publish each delivery at its time until SIGTERM/SIGINT."""
    from publisher.app.source_jobs import SourcePoller
    from publisher.app.startup import started
    from publisher.core import postcache
    from publisher.core.times import now_utc

    clock = clock or now_utc
    environ = os.environ if environ is None else environ
    _route_library_logs()
    with started(config, clock, environ) as run:
        ledger, runner = run.ledger, run.runner
        alerts = NotifyThread(run.notifier)
        runner.notify = alerts.kick
        watcher = PostWatcher(config)
        watcher.load(postcache.load(config))
        daemon = Daemon(config, ledger, runner, watcher, clock=clock, notifier=alerts)
        sources = SourcePoller(config, ledger, clock, daemon.scheduler, alerts.kick)
        with _signals(daemon), runner.keeping_leases():
            daemon.start()
            sources.start()
            _say_started(daemon)
            daemon.loop()
            logs.get().info("stopping: finishing the sends in flight")
            sources.stop()
            finished = daemon.shutdown()
        if not finished:
            logs.get().warning(
                f"sends still in flight after {STOP_TIMEOUT:.0f} s; exiting "
                "anyway: they are looked for at the next start"
            )
        if daemon.failure is not None:
            raise daemon.failure
        logs.get().info("stopped")
        return ExitStatus.OK


class _signals:
    """First SIGTERM/SIGINT: stop cleanly.  Second: exit at once."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.old: dict[int, Any] = {}

    def __enter__(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.old[sig] = signal.signal(sig, self._handle)

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.old.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.daemon.stop.is_set():
            logs.get().warning(
                f"{name} again: exiting now; sends in flight are looked for at the next start"
            )
            logging.shutdown()
            os._exit(128 + signum)
        logs.get().info(f"{name}: stopping after the sends in flight ({name} again: at once)")
        self.daemon.stop.set()


def _say_started(daemon: Daemon) -> None:
    from publisher.core.times import local_text

    config = daemon.config
    where = config.state if not config.state_is_url else "PostgreSQL"
    due = daemon.ledger.next_due(daemon.runner.now())
    after = f"; next delivery due {local_text(due, config.timezone)}" if due else ""
    logs.get().info(
        f"publisher run: {len(daemon.watcher)} post files in {config.posts_dir}, "
        f"channels {', '.join(daemon.workers) or '(none)'}, ledger {where}, "
        f"tick {config.tick.total_seconds():.0f} s{after}; post files followed by "
        + ("file-system notifications" if daemon.events.alive else "a scan every second")
    )
    today = daemon.clock().date()
    for cfg in config.channels.values():
        for warning in check_expiry(cfg, today):
            logs.get().warning(warning)


def _route_library_logs() -> None:
    """APScheduler's and Apprise's warnings go through our handler; their chatter does not."""
    for name in ("apscheduler", "apprise"):
        logger = logging.getLogger(name)
        logger.handlers = list(logs.get().handlers)
        logger.setLevel(logging.WARNING)
        logger.propagate = False
