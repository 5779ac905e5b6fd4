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


def run_once(config: Config, clock: Callable[[], datetime] | None = None) -> RunReport:
    """Reconcile, publish what is due, rebuild feeds; the report says how it went."""
    import os

    from publisher.app.source_jobs import poll_due
    from publisher.app.startup import started
    from publisher.core.posts import read_posts
    from publisher.core.times import now_utc

    clock = clock or now_utc
    with started(config, clock, os.environ) as run:
        polled = poll_due(config, run.ledger, clock())
        report = run.runner.run_once(read_posts(config))
        report.source_errors.extend(r.error for r in polled if r.error is not None)
        try:
            run.notifier.run()
        except Exception as exc:  # noqa: BLE001 - an alert problem never changes the run's result
            logs.get().warning(f"notifications: {type(exc).__name__}: {exc}")
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
