"""``status``: the ledger as rows for people (a table) and scripts (JSON)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from publisher.core.config import Config
from publisher.core.models import UNSETTLED, LedgerRow, State
from publisher.core.times import iso_utc, zone
from publisher.store.ledger import Ledger

RECENT = timedelta(days=7)


def as_json(row: LedgerRow) -> dict[str, Any]:
    """The fields DESIGN §3 promises for ``status --json``."""
    return {
        "id": row.id,
        "post": row.post,
        "language": row.language,
        "channel": row.channel,
        "kind": row.kind,
        "due_at": iso_utc(row.due_at),
        "state": row.state.value,
        "attempts": row.attempts,
        "remote_id": row.remote_id,
        "remote_url": row.remote_url,
        "error": row.error,
        "changed": row.changed,
        "next_attempt_at": iso_utc(row.next_attempt_at) if row.next_attempt_at else None,
        "sent_at": iso_utc(row.sent_at) if row.sent_at else None,
        "source": row.source,
    }


def status_rows(
    ledger: Ledger, now: datetime, *, show_all: bool
) -> list[tuple[dict[str, Any], LedgerRow]]:
    """Unsettled rows and rows changed in the last 7 days (or all of them)."""
    if show_all:
        rows = ledger.rows()
    else:
        rows = ledger.rows(states=UNSETTLED | {State.FAILED}, changed_since=now - RECENT)
    return [(as_json(r), r) for r in rows]


def status_text(rows: list[tuple[dict[str, Any], LedgerRow]], config: Config) -> str:
    if not rows:
        return "nothing pending, nothing changed in the last 7 days (use --all for everything)"
    tz = zone(config.timezone)
    lines = []
    for data, row in rows:
        due = row.due_at.astimezone(tz)
        flag = " (changed since sent)" if row.changed else ""
        problem = row.state in (State.FAILED, State.UNCERTAIN, State.RETRYING, State.EXPIRED)
        detail = (row.error if problem else row.remote_url) or row.error or ""
        lines.append(
            f"{data['state']:<9} {due:%Y-%m-%d %H:%M} {row.attempts:>2}x  {row.id}{flag}"
            + (f"\n          {detail}" if detail else "")
        )
    counts: dict[str, int] = {}
    for data, _ in rows:
        counts[data["state"]] = counts.get(data["state"], 0) + 1
    lines.append(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return "\n".join(lines)
