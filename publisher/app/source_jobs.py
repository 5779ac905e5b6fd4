"""Polling sources from ``run``: due ones in ``run --once``, on interval jobs in the daemon.

The daemon polls each source on a thread of its own (a daemon thread: a fetch in flight never
holds up a stop) and holds no lock while fetching, so a slow or failing source never delays a
delivery or another source; the files they write are picked up by the
post watcher like any other new file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from publisher.channels.base import scrub
from publisher.core import logs

if TYPE_CHECKING:
    from publisher.app.importer import PollResult
    from publisher.core.config import Config
    from publisher.store.ledger import Ledger

#: Interval jobs wander by up to this share of ``every`` (at most MAX_JITTER), so several
#: workers or sources do not knock on the website at the same second.
JITTER_SHARE = 0.1
MAX_JITTER = timedelta(minutes=5)


def log_result(result: PollResult) -> None:
    """One poll in the log: files written, items waiting, warnings, or the error and its hint."""
    log = logs.get()
    for message in result.warnings:
        log.warning(message)
    if result.error is not None:
        log.error(f"{result.error.message} ({result.error.hint})")
        return
    for path in result.written:
        log.info(f"source {result.source}: wrote {path}")
    if result.recorded:
        log.info(
            f"source {result.source}: first poll: {result.recorded} items recorded, "
            "none imported (publisher import --backfill N imports some)"
        )
    if result.waiting:
        log.info(f"source {result.source}: {result.waiting} new items wait for the next poll")


def poll_due(config: Config, ledger: Ledger, now: datetime) -> list[PollResult]:
    """``run --once``: poll each source whose ``every`` has passed since its last poll."""
    if not config.sources:
        return []
    from publisher.app.importer import poll_all
    from publisher.store.source_ledger import SourceLedger

    results = poll_all(config, SourceLedger(ledger), now, due_only=True)
    for result in results:
        log_result(result)
    return results


class SourcePoller:
    """The daemon's side: one APScheduler interval job per source, each poll on its own thread."""

    def __init__(
        self,
        config: Config,
        ledger: Ledger,
        clock: Callable[[], datetime],
        scheduler: Any,
        after_poll: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self.ledger = ledger
        self.clock = clock
        self.scheduler = scheduler
        self.after_poll = after_poll
        self._busy: set[str] = set()
        self._stopping = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Schedule every source: the first poll when its ``every`` has passed, then each ``every``."""
        from apscheduler.triggers.interval import IntervalTrigger

        from publisher.store.source_ledger import SourceLedger

        store = SourceLedger(self.ledger)
        now = self.clock()
        for name, source in self.config.sources.items():
            last = store.poll_state(name).polled_at
            first = now if last is None else max(now, last + source.every)
            jitter = min(source.every * JITTER_SHARE, MAX_JITTER).total_seconds()
            self.scheduler.add_job(
                self.kick,
                IntervalTrigger(
                    seconds=source.every.total_seconds(), jitter=int(jitter) or None, timezone=UTC
                ),
                args=[name],
                id=f"source:{name}",
                replace_existing=True,
                coalesce=True,
                misfire_grace_time=None,
                next_run_time=first.astimezone(UTC),
            )

    def kick(self, name: str) -> None:
        """Start a poll of ``name``; a source still being polled is not polled twice at once."""
        with self._lock:
            if name in self._busy or self._stopping:
                return
            self._busy.add(name)
        threading.Thread(target=self._poll, args=[name], name=f"source-{name}", daemon=True).start()

    def _poll(self, name: str) -> None:
        from publisher.app.importer import poll_all
        from publisher.store.source_ledger import SourceLedger

        try:
            for result in poll_all(
                self.config, SourceLedger(self.ledger), self.clock(), names=[name]
            ):
                log_result(result)
        except Exception as exc:  # noqa: BLE001 - e.g. the database is away: next interval
            logs.get().error(
                f"source {name}: {type(exc).__name__}: {scrub(str(exc))}; "
                "trying again at the next poll"
            )
        finally:
            with self._lock:
                self._busy.discard(name)
        self.after_poll()

    def stop(self) -> None:
        """Start no more polls; a fetch in flight ends with the process (it holds no lock)."""
        with self._lock:
            self._stopping = True
