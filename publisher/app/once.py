"""Process-level work: ``run --once``, ``run --dry-run`` and the long-running ``run``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
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
    from publisher.store.lock import LedgerLock

    lock = None
    if not config.state_is_url:
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
    from publisher.channels import build_channels
    from publisher.core.models import split_delivery_id
    from publisher.core.posts import read_posts
    from publisher.core.times import now_utc

    lock, ledger = open_for_run(config)
    try:
        clock = clock or now_utc
        if lock is not None:
            for taken in ledger.take_over_sending(clock(), all_rows=True):
                logs.state_change(taken, split_delivery_id(taken)[2], "uncertain",
                                  "the last run stopped while sending; looking for it")  # fmt: skip
        notifier = Notifier(config, ledger, clock, os.environ)
        notifier.setup()
        runner = Runner(config, ledger, build_channels(config), clock)
        report = runner.run_once(read_posts(config))
        try:
            notifier.run()
        except Exception as exc:  # noqa: BLE001 - an alert problem never changes the run's result
            logs.get().warning(f"notifications: {type(exc).__name__}: {exc}")
    finally:
        if lock is not None:
            lock.release()
    sent = sum(1 for o in report.outcomes if o.state.value == "sent")
    logs.get().info(f"run finished: {sent} sent, {len(report.outcomes) - sent} other outcomes")
    return report


def dry_run(config: Config, now: datetime) -> tuple[list[str], list[PostError]]:
    """What would go out, when: the plan from now on, without network or ledger."""
    from publisher.core.plan import plan, preview_state
    from publisher.core.posts import read_posts
    from publisher.core.times import zone

    read = read_posts(config)
    lines: list[str] = []
    for delivery in plan(read.posts, config, now).deliveries:
        state = preview_state(
            delivery, config.channels[delivery.channel].type, now, config.catch_up
        )
        if state == "will expire" or (delivery.due_at < now and state != "overdue"):
            continue
        when = "now" if state == "overdue" else (
            f"{delivery.due_at.astimezone(zone(delivery.post.timezone)):%Y-%m-%d %H:%M %Z}")  # fmt: skip
        lines.append(f"would send {when}: {delivery.id}")
    return lines, read.errors


def serve(config: Config) -> ExitStatus:
    """The long-running daemon (see ``publisher.app.daemon``)."""
    from publisher.app.daemon import serve as run_daemon

    return run_daemon(config)
