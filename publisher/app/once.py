"""Process-level work: ``run --once``, ``run --dry-run`` and the long-running ``run``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.core import logs
from publisher.core.config import Config
from publisher.core.errors import ExitStatus, PostError

if TYPE_CHECKING:
    from publisher.app.runner import RunReport
    from publisher.store.ledger import Ledger
    from publisher.store.lock import LedgerLock


def open_for_run(config: Config) -> tuple[LedgerLock | None, Ledger]:
    """Take the SQLite lock (if SQLite), open the ledger, settle what a crash left ``sending``."""
    from publisher.store.ledger import Ledger
    from publisher.store.ledger_safety import prepare_sqlite
    from publisher.store.lock import LedgerLock

    lock = None
    if not config.state_is_url:
        prepare_sqlite(Path(config.state))
        lock = LedgerLock(config.state)
        lock.acquire()
    import os
    import socket

    ledger = Ledger.open(config.state_url, worker=f"{socket.gethostname()}:{os.getpid()}")
    return lock, ledger


def run_once(config: Config, clock: Callable[[], datetime] | None = None) -> RunReport:
    """Reconcile, publish what is due, rebuild feeds; the report says how it went."""
    import os

    from publisher.app.notify import Notifier
    from publisher.app.runner import Runner
    from publisher.app.source_jobs import poll_due
    from publisher.channels import build_channels
    from publisher.core.models import split_delivery_id
    from publisher.core.posts import read_posts
    from publisher.core.times import now_utc
    from publisher.store.ledger_safety import guard_for

    lock, ledger = open_for_run(config)
    try:
        clock = clock or now_utc
        if lock is not None:
            for taken in ledger.take_over_sending(clock(), all_rows=True):
                logs.state_change(
                    taken,
                    split_delivery_id(taken)[2],
                    "uncertain",
                    "the last run stopped while sending; looking for it",
                )
        notifier = Notifier(config, ledger, clock, os.environ)
        notifier.setup()
        runner = Runner(config, ledger, build_channels(config), clock)
        polled = poll_due(config, ledger, clock())
        identity = guard_for(config)
        if identity is not None:
            runner.guard = identity.check
        report = runner.run_once(read_posts(config))
        report.source_errors.extend(r.error for r in polled if r.error is not None)
        try:
            notifier.run()
        except Exception as exc:  # noqa: BLE001 - an alert problem never changes the run's result
            logs.get().warning(f"notifications: {type(exc).__name__}: {exc}")
    finally:
        if lock is not None:
            lock.release()
    from publisher.core.results import run_summary

    logs.get().info(f"run finished: {run_summary(report.outcomes, report.corrections)}")
    return report


def dry_run(
    config: Config,
    now: datetime,
    start_text: str | None = None,
    until_text: str | None = None,
) -> tuple[list[str], list[PostError]]:
    """What would go out, when (local time), with each post's title; no network, no ledger.

    The window is ``[start, until)``; without ``start`` it begins now and keeps what is overdue.
    """
    from publisher.core.plan import plan, preview_state
    from publisher.core.posts import read_posts
    from publisher.core.times import local_text, option_time

    start = option_time(start_text, config.timezone, "--from", now)
    until = option_time(until_text, config.timezone, "--until", now)
    read = read_posts(config)
    lines: list[str] = []
    for delivery in plan(read.posts, config, now).deliveries:
        state = preview_state(
            delivery, config.channels[delivery.channel].type, now, config.catch_up
        )
        if state == "will expire" or (delivery.due_at < now and state != "overdue"):
            continue
        if until is not None and delivery.due_at >= until:
            continue
        if start is not None and delivery.due_at < start:
            continue
        when = "now" if state == "overdue" else local_text(delivery.due_at, config.timezone)
        lines.append(f"would send {when}: {delivery.id}  \u2014 {delivery.post.title}")
    return lines, read.errors


def serve(config: Config) -> ExitStatus:
    """The long-running daemon (see ``publisher.app.daemon``)."""
    from publisher.app.daemon import serve as run_daemon

    return run_daemon(config)
