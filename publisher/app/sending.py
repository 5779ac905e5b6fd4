"""Sending: each channel's due deliveries claimed in small batches and attempted one after another."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from publisher.app.reconcile import settle_lookup
from publisher.app.report import Outcome, RunReport
from publisher.channels.base import Channel
from publisher.core import logs
from publisher.core.errors import ChannelError
from publisher.core.models import Draft, LedgerRow, State
from publisher.core.plan import expiry_reason
from publisher.core.plugins import capabilities
from publisher.core.times import local_text
from publisher.store.ledger_safety import DISTRUSTED, look_first

if TYPE_CHECKING:
    from publisher.app.runner import Runner

MAX_BACKOFF = timedelta(hours=6)
#: Deliveries one claim takes for a channel: fewer round trips to the ledger, while a batch
#: stays short enough that a stop (or another worker) never waits long for the rest.
CLAIM_BATCH = 4


def send_due(runner: Runner, report: RunReport) -> None:
    """Serve every channel concurrently; each channel's deliveries one after another."""
    from publisher.store.attention import channels_to_serve

    busy = channels_to_serve(runner.ledger, runner.now())  # one query; a token only where needed
    names = [name for name in runner.channels if name in busy]
    if not names:
        return
    pool = ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="channel")
    with runner.keeping_leases(), pool:
        for future in [pool.submit(serve_channel, runner, n, report) for n in names]:
            future.result()


def serve_channel(runner: Runner, name: str, report: RunReport) -> datetime | None:
    """Send this channel's due deliveries one after another, oldest first.

    Returns the time of the last claim that found nothing, or None when the channel
    stopped early (unset token, hourly cap, shutdown): what was due then and is still
    waiting is blocked, so the daemon schedules its next wake-up after that time.
    """
    channel = runner.channels[name]
    if not runner.token_ok(channel, report):
        return None
    cap = channel.config.max_per_hour
    skipped: set[str] = set()
    while not runner.stopping.is_set():
        now = runner.now()
        room = CLAIM_BATCH
        if cap:
            room = min(room, cap - runner.ledger.sent_count_since(name, now - timedelta(hours=1)))
            if room <= 0:
                logs.get().info(f"channel {name}: {cap} posts in the last hour; the rest waits")
                return None
        runner.guard()
        with runner.lock:
            exclude = skipped | runner.parked
        claimed = runner.ledger.claim(
            now, runner.config.lease, limit=room, channel=name, exclude=exclude
        )
        if not claimed:
            return now
        for row in claimed:  # the batch's leases are kept while it waits its turn
            runner.hold(row.id)
        started, why = 0, "stopping before it was sent"
        try:
            for row in claimed:
                if runner.stopping.is_set():
                    return None
                started += 1  # from here on, only a reconcile may move this row back
                if not send_one(runner, row, channel, report):
                    skipped.add(row.id)
                    if not runner.token_ok(channel, report):
                        why = f"{channel.config.token_env} is not set"
                        return None
        finally:  # the rows not attempted go back untouched, as if never claimed
            for row in claimed[started:]:
                with suppress(Exception):  # else their lease runs out: reconciled later
                    runner.ledger.release(row.id, why, runner.now())
            for row in claimed:
                runner.unhold(row.id)
    return None


def send_one(runner: Runner, row: LedgerRow, channel: Channel, report: RunReport) -> bool:
    """Attempt one claimed delivery; False if it was handed back untouched."""
    now = runner.now()
    delivery = runner.deliveries.get(row.id)
    if delivery is None:
        runner.ledger.release(row.id, "its post file currently has errors", now)
        with runner.lock:
            runner.parked.add(row.id)
        return False
    start = max(row.due_at, row.catch_up_from or row.due_at)
    reason = expiry_reason(
        start,
        row.expires_at,
        now,
        runner.config.catch_up,
        is_reminder=delivery.is_reminder,
        honours_catch_up=capabilities(channel.config.type).catch_up,
        timezone=runner.config.timezone,
    )
    if reason:
        if runner.ledger.mark_expired(row.id, reason, now):
            runner.record(report, Outcome(row.id, row.channel, State.EXPIRED, reason))
        return True
    if not runner.token_ok(channel, report):
        runner.ledger.release(row.id, f"{channel.config.token_env} is not set", now)
        return False
    draft = channel.render(delivery)
    if draft.errors:
        message = "; ".join(draft.errors)
        if runner.ledger.mark_failed(row.id, message, now):
            runner.record(report, Outcome(row.id, row.channel, State.FAILED, message))
        return True
    if look_first(row.was_uncertain, row.attempt):  # a new ledger's overdue delivery
        try:
            found = channel.find(draft, row.due_at)
        except ChannelError as exc:  # never sent unlooked: wait, or fail if it cannot work
            if exc.retry or exc.uncertain:
                runner.ledger.release(row.id, f"{DISTRUSTED} (cannot look yet: {exc})", now)
                return False
            message = f"cannot look for it before sending (a new ledger): {exc}"
            if runner.ledger.mark_failed(row.id, message, now):
                runner.record(report, Outcome(row.id, row.channel, State.FAILED, message))
            return True
        if found is not None:
            settle_lookup(runner, row, draft, found, report, "found: sent before the new ledger")
            return True
    logs.state_change(row.id, row.channel, State.SENDING.value, f"attempt {row.attempts}")
    runner.ledger.record_attempt(row.id, draft.payload, draft.text)
    runner.hold(row.id)
    try:
        receipt = channel.publish(draft)
    except ChannelError as exc:
        failed_attempt(runner, row, channel, draft, exc, report)
        return True
    else:
        if runner.ledger.mark_sent(row.id, receipt, runner.now(), draft.payload):
            runner.record(report, Outcome(row.id, row.channel, State.SENT, receipt.remote_url))
        return True
    finally:
        runner.unhold(row.id)


def failed_attempt(
    runner: Runner,
    row: LedgerRow,
    channel: Channel,
    draft: Draft,
    exc: ChannelError,
    report: RunReport,
) -> None:
    """Record a failed attempt: uncertain, our own duplicate, retrying later, or failed."""
    now = runner.now()
    message = str(exc)
    if exc.uncertain:
        if runner.ledger.mark_uncertain(row.id, message, now):
            runner.record(report, Outcome(row.id, row.channel, State.UNCERTAIN, message))
        return
    if exc.duplicate and row.was_uncertain:
        since = row.first_attempt_at or row.due_at
        try:
            found = channel.find(draft, since, exc.duplicate_of)
        except ChannelError:
            found = None
        if found is not None:
            settle_lookup(runner, row, draft, found, report, "duplicate of our own earlier send")
            return
    if exc.retry and row.attempts < runner.config.max_attempts:
        at = now + backoff(runner, row.attempts, exc.retry_after)
        if runner.ledger.mark_retrying(row.id, message, at, now):
            when = local_text(at, runner.config.timezone)
            logs.state_change(
                row.id, row.channel, State.RETRYING.value, f"{message}; next attempt {when}"
            )
        return
    if exc.retry:
        message = f"{message} (gave up after {row.attempts} attempts: max_attempts)"
    if runner.ledger.mark_failed(row.id, message, now):
        runner.record(report, Outcome(row.id, row.channel, State.FAILED, message))


def backoff(runner: Runner, attempts: int, hint: float | None) -> timedelta:
    """Exponential backoff with jitter, never shorter than the service's own hint."""
    base = runner.config.retry_backoff.total_seconds() * (2 ** max(0, attempts - 1))
    delay = min(base * (0.5 + runner.rng.random()), MAX_BACKOFF.total_seconds())
    if hint is not None:
        delay = max(delay, hint)
    return timedelta(seconds=delay)
