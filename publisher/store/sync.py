"""Sync: make the ledger follow the post files without ever re-sending or losing a delivery.

New deliveries are inserted ``pending``; ``pending``/``retrying`` ones follow the files (time,
content); sent ones are never touched except to flag that their post changed; a pending one
whose post, file or channel vanished is ``cancelled`` (and comes back to ``pending`` if the post
returns).  Rows from files that currently fail to parse are left alone: a typo being fixed
must not cancel a post.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from publisher.core import logs
from publisher.core.models import State
from publisher.store.schema import deliveries, history

if TYPE_CHECKING:
    from publisher.store.ledger import Ledger


def sync_rows(
    ledger: Ledger,
    planned: Iterable[Mapping[str, Any]],
    now: datetime,
    keep_sources: frozenset[str] = frozenset(),
) -> dict[str, int]:
    """Apply the plan to the ledger in one transaction; returns counts by what happened."""

    t = deliveries
    wanted = {row["id"]: row for row in planned}
    counts = {"new": 0, "updated": 0, "cancelled": 0, "restored": 0, "changed": 0}
    with ledger.engine.begin() as conn:
        ledger.serialize(conn)
        current = {
            r.id: r
            for r in conn.execute(
                sa.select(
                    t.c.id,
                    t.c.state,
                    t.c.due_at,
                    t.c.expires_at,
                    t.c.content_hash,
                    t.c.source,
                    t.c.changed,
                    t.c.sent_hash,
                    t.c.channel,
                )
            )
        }
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        log: list[dict[str, Any]] = []
        for delivery_id, row in wanted.items():
            have = current.get(delivery_id)
            if have is None:
                inserts.append(
                    {
                        **row,
                        "state": State.PENDING.value,
                        "attempts": 0,
                        "changed": False,
                        "was_uncertain": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                log.append(_entry(delivery_id, State.PENDING, "planned", now, ledger.worker))
                counts["new"] += 1
                continue
            state = State(have.state)
            moved = (
                have.due_at != row["due_at"]
                or have.expires_at != row["expires_at"]
                or have.content_hash != row["content_hash"]
                or have.source != row["source"]
            )
            if state in (State.PENDING, State.RETRYING) and moved:
                updates.append({**_fields(row), "b_id": delivery_id, "b_state": state.value})
                counts["updated"] += 1
            elif state is State.CANCELLED or (
                state is State.EXPIRED and have.due_at != row["due_at"]
            ):
                updates.append(
                    {
                        **_fields(row),
                        "b_id": delivery_id,
                        "b_state": state.value,
                        "state": State.PENDING.value,
                        "catch_up_from": None,
                    }
                )
                counts["restored"] += 1
            elif state is State.SENT and (have.changed != (have.sent_hash != row["content_hash"])):
                # Changed after it went out, or changed back so that it matches again (§9).
                flag = have.sent_hash != row["content_hash"]
                conn.execute(
                    t.update()
                    .where(t.c.id == delivery_id)
                    .values(changed=flag, content_hash=row["content_hash"], updated_at=now)
                )
                counts["changed"] += flag
            elif state is State.SENT and have.changed and have.content_hash != row["content_hash"]:
                conn.execute(
                    t.update().where(t.c.id == delivery_id).values(content_hash=row["content_hash"])
                )
        gone = [
            i
            for i, r in current.items()
            if i not in wanted
            and State(r.state) in (State.PENDING, State.RETRYING)
            and not kept(r.source, keep_sources)
        ]
        if inserts:
            conn.execute(t.insert(), inserts)
        for update in updates:
            # Compare-and-set: a row another worker claimed meanwhile is left alone.
            delivery_id, expected = update.pop("b_id"), update.pop("b_state")
            done = conn.execute(
                t.update()
                .where(t.c.id == delivery_id)
                .where(t.c.state == expected)
                .values(**update, updated_at=now)
            ).rowcount
            if done and update.get("state") == State.PENDING.value:
                log.append(
                    _entry(
                        delivery_id,
                        State.PENDING,
                        "post is back or rescheduled",
                        now,
                        ledger.worker,
                    )
                )
                logs.state_change(
                    delivery_id,
                    current[delivery_id].channel,
                    State.PENDING.value,
                    "post is back or rescheduled",
                )
        if gone:
            moved = conn.execute(
                t.update()
                .where(t.c.id.in_(gone))
                .where(t.c.state.in_([State.PENDING.value, State.RETRYING.value]))
                .values(
                    state=State.CANCELLED.value,
                    updated_at=now,
                    error="the post, its file or its channel is gone (or it became a draft)",
                )
            ).rowcount
            if moved != len(gone):  # another worker claimed some meanwhile
                gone = [
                    r[0]
                    for r in conn.execute(
                        sa.select(t.c.id)
                        .where(t.c.id.in_(gone))
                        .where(t.c.state == State.CANCELLED.value)
                    )
                ]
            log.extend(
                _entry(i, State.CANCELLED, "post or channel gone", now, ledger.worker) for i in gone
            )
            counts["cancelled"] = len(gone)
            for i in gone:
                logs.state_change(
                    i,
                    current[i].channel,
                    State.CANCELLED.value,
                    "the post, its file or its channel is gone (or became a draft)",
                )
        if log:
            conn.execute(history.insert(), log)
    return counts


def _fields(row: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("due_at", "expires_at", "content_hash", "source")
    return {k: row[k] for k in keys}


def _entry(
    delivery_id: str, state: State, detail: str, now: datetime, worker: str
) -> dict[str, Any]:
    return {
        "delivery_id": delivery_id,
        "at": now,
        "state": state.value,
        "detail": detail,
        "worker": worker,
    }


def kept(source: str, keep_sources: frozenset[str]) -> bool:
    """A row of a bad file, or of a file inside an unreadable folder (``posts/sub/``)."""
    return source in keep_sources or any(
        k.endswith("/") and source.startswith(k) for k in keep_sources
    )
