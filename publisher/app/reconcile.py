"""Settling uncertain sends: look on the network for what an unclear attempt may have posted."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from publisher.app.report import Outcome, RunReport
from publisher.core import logs
from publisher.core.errors import ChannelError
from publisher.core.models import Draft, LedgerRow, Receipt, State, split_delivery_id
from publisher.core.times import utc

if TYPE_CHECKING:
    from publisher.app.runner import Runner

#: An uncertain send is re-sent only when a read this long after the attempt finds nothing.
SLOW_LISTING = timedelta(seconds=60)


def reconcile(runner: Runner, report: RunReport, channel_name: str | None = None) -> None:
    """Look for the posts that uncertain sends may have created, before any retry."""
    now = runner.now()
    for taken in runner.ledger.take_over_sending(now, all_rows=False):
        logs.state_change(
            taken,
            split_delivery_id(taken)[2],
            State.UNCERTAIN.value,
            "its lease ran out while sending (the worker died?)",
        )
    for row in runner.ledger.rows(states=[State.UNCERTAIN], channel=channel_name):
        if runner.stopping.is_set():
            return
        channel = runner.channels.get(row.channel)
        delivery = runner.deliveries.get(row.id)
        # The draft recorded before the attempt is enough, even when the file is gone.
        if channel is None or (delivery is None and not row.attempt):
            continue
        if not runner.token_ok(channel, report):
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
        settle_lookup(runner, row, draft, found, report, "found on reconcile")


def settle_lookup(
    runner: Runner,
    row: LedgerRow,
    draft: Draft,
    found: Receipt | None,
    report: RunReport,
    how: str,
) -> None:
    """Record what a look on the network found: sent, not yet visible, retrying or failed."""
    # Only from the state the row was read in: if another worker settled it meanwhile,
    # this lookup's answer is stale and must not move the row again.
    ledger = runner.ledger
    now, was = runner.now(), (row.state,)
    if found is not None:
        if ledger.mark_sent(row.id, found, now, draft.payload, detail=how, allowed=was):
            runner.record(report, Outcome(row.id, row.channel, State.SENT, found.remote_url))
    elif row.attempts and row.updated_at and now - utc(row.updated_at) < SLOW_LISTING:
        # A listing may lag behind the post: re-send only after a read this much later.
        logs.get().info(
            f"{row.id}: not found yet; looking again after "
            f"{utc(row.updated_at) + SLOW_LISTING:%H:%M:%S} UTC"
        )
    elif row.attempts >= runner.config.max_attempts:
        message = f"not found after an uncertain send, and {row.attempts} attempts made"
        if ledger.mark_failed(row.id, message, now, allowed=was):
            runner.record(report, Outcome(row.id, row.channel, State.FAILED, message))
    elif ledger.mark_retrying(row.id, "not found after an uncertain send", now, now, allowed=was):
        logs.state_change(row.id, row.channel, State.RETRYING.value, "not found; retrying")


def attempted(row: LedgerRow) -> Draft | None:
    """The draft an earlier attempt really sent (the post file may have changed since)."""
    if not row.attempt:
        return None
    return Draft(row.id, row.channel, row.attempt["payload"], text=row.attempt["text"])
