"""``status``: the ledger as rows for people (a table with titles) and scripts (JSON)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from publisher.app.preview import table
from publisher.core.config import Config
from publisher.core.models import UNSETTLED, LedgerRow, State
from publisher.core.printable import printable
from publisher.core.times import iso_utc, local_text, zone
from publisher.store.ledger import Ledger

RECENT = timedelta(days=7)
HEADER = ("due", "state", "channel", "lang", "kind", "title")


@dataclass(frozen=True)
class Filters:
    """What ``status`` was asked to show; empty means the default (unsettled + last 7 days)."""

    states: frozenset[State] = frozenset()
    channel: str | None = None
    post: str | None = None
    since: datetime | None = None
    show_all: bool = False


def as_json(row: LedgerRow, title: str | None, timezone: str) -> dict[str, Any]:
    """The fields DESIGN §3 promises for ``status --json``, plus §8's title and local time."""
    return {
        "id": row.id,
        "post": row.post,
        "title": title,
        "language": row.language,
        "channel": row.channel,
        "kind": row.kind,
        "due_at": iso_utc(row.due_at),
        "due_local": row.due_at.astimezone(zone(timezone)).isoformat(),
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


def status_rows(ledger: Ledger, now: datetime, filters: Filters) -> list[LedgerRow]:
    """The rows to show: by default unsettled, failed and changed in the last 7 days."""
    wide = filters.show_all or filters.states or filters.since is not None
    if wide:
        rows = ledger.rows(states=filters.states or None)
    else:
        rows = ledger.rows(states=UNSETTLED | {State.FAILED}, changed_since=now - RECENT)
    if filters.channel is not None:
        rows = [r for r in rows if r.channel == filters.channel]
    if filters.post is not None:
        rows = [r for r in rows if r.post == filters.post]
    if filters.since is not None:
        moved = ledger.ids_changed_since(filters.since)
        rows = [r for r in rows if r.id in moved]
    return rows


def status_text(
    rows: list[LedgerRow], titles: Mapping[tuple[str, str], str], config: Config, filtered: bool
) -> str:
    """A header, one row per delivery, what happened to it below, and a count per state."""
    if not rows:
        if filtered:
            return "no delivery matches (use --all to see everything)"
        return "nothing pending, nothing changed in the last 7 days (use --all for everything)"
    tz = config.timezone
    cells = [
        (
            local_text(r.due_at, tz),
            r.state.value,
            r.channel,
            r.language,
            r.kind,
            printable(titles.get((r.post, r.language), f"({r.post}: no post file now)")),
        )
        for r in rows
    ]
    lines = table([HEADER, *cells])
    out = [lines[0]]
    pad = " " * 2
    for row, line in zip(rows, lines[1:], strict=True):
        out.append(line)
        out.extend(pad + detail for detail in details(row, tz))
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state.value] = counts.get(row.state.value, 0) + 1
    out.append(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return "\n".join(out)


def details(row: LedgerRow, timezone: str) -> list[str]:
    """What a person needs under a row: where it went, or what went wrong and what to do."""
    ident = printable(row.id)
    if row.state is State.SENT:
        when = local_text(row.sent_at, timezone) if row.sent_at else "?"
        lines = [f"sent {when}  {printable(row.remote_url or row.remote_id or '')}".rstrip()]
        if row.changed:
            lines.append(f"the post changed since; `publisher update {ident}` edits the live post")
        return lines
    lines = [f"id: {ident}"]
    if row.error:
        said = "waiting" if row.state is State.PENDING else "why"
        lines.append(f"{said}: {printable(row.error)}")
    if row.state is State.FAILED:
        lines.append(f"fix the cause, then `publisher retry {ident}`")
    elif row.state is State.UNCERTAIN:
        lines.append(
            f"look on the Page, then `publisher resolve {ident} --sent URL` or "
            "`--not-sent` (the next run also looks for it)"
        )
    elif row.state is State.RETRYING and row.next_attempt_at:
        lines.append(f"next attempt {local_text(row.next_attempt_at, timezone)}")
    return lines


def no_ledger_text(config: Config, planned: int, overdue: int) -> str:
    """What ``status`` says before the first run: nothing sent, but this much is planned."""
    late = f" ({overdue} overdue)" if overdue else ""
    return (
        f"no ledger yet at {config.state}: nothing has been sent.\n"
        f"{planned} deliveries are planned{late}; `publisher preview --format list` shows them, "
        "`publisher run --once` sends what is due."
    )


def parse_states(values: Collection[str]) -> frozenset[State]:
    return frozenset(State(v) for v in values)
