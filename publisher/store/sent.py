"""Sent deliveries after the fact: what each was sent with, and corrections to it (DESIGN §9)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from publisher.core.models import LedgerRow, State
from publisher.store.schema import deliveries, history, row_from

#: History entries that are not a change a person asks about ("planned" is the first sync).
QUIET_DETAILS = ("planned",)


class SentRows:
    """The ledger's reads and compare-and-set writes of sent payloads (mixed into ``Ledger``)."""

    engine: Engine
    worker: str

    def sent_payloads(self, channel: str, limit: int) -> list[tuple[LedgerRow, Mapping[str, Any]]]:
        """The newest sent deliveries of a channel with the payload each was sent with."""
        query = (
            sa.select(deliveries)
            .where(deliveries.c.channel == channel)
            .where(deliveries.c.state == State.SENT.value)
            .where(deliveries.c.payload.is_not(None))
            .order_by(deliveries.c.due_at.desc(), deliveries.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = [row_from(r._mapping) for r in conn.execute(query)]
        return [(r, r.payload) for r in rows if r.payload is not None]

    def sent_count_since(self, channel: str, since: datetime) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(deliveries)
            .where(deliveries.c.channel == channel)
            .where(deliveries.c.state == State.SENT.value)
            .where(deliveries.c.sent_at >= since)
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def ids_changed_since(self, since: datetime) -> set[str]:
        """Deliveries whose state or remote post changed at or after ``since`` (sends, failures,
        edits), leaving out rows that were only planned or re-synced unchanged."""
        query = (
            sa.select(history.c.delivery_id)
            .where(history.c.at >= since)
            .where(sa.or_(history.c.detail.is_(None), history.c.detail.not_in(QUIET_DETAILS)))
            .distinct()
        )
        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(query)}

    def replace_sent_payload(
        self,
        delivery_id: str,
        before: Mapping[str, Any],
        payload: Mapping[str, Any],
        now: datetime,
        detail: str | None,
    ) -> bool:
        """Replace a sent entry's payload, compare-and-set: False if another worker did it first.

        The delivery stays ``sent``; its history records the new version (when ``detail`` says
        what changed), and ``changed`` is cleared since the calendar matches the post file again
        (DESIGN §9).
        """
        with self.engine.begin() as conn:
            done = conn.execute(
                deliveries.update()
                .where(deliveries.c.id == delivery_id)
                .where(deliveries.c.state == "sent")
                .where(deliveries.c.payload == json.dumps(before, sort_keys=True))
                .values(
                    payload=json.dumps(payload, sort_keys=True),
                    changed=False,
                    sent_hash=deliveries.c.content_hash,
                    updated_at=now,
                )
            ).rowcount
            if done == 1 and detail is not None:
                conn.execute(
                    history.insert(),
                    [
                        {
                            "delivery_id": delivery_id,
                            "at": now,
                            "state": "sent",
                            "detail": detail,
                            "worker": self.worker,
                        }
                    ],
                )
        return bool(done == 1)

    # -- corrections after publishing (DESIGN §9) --------------------------------------
    def changed_sent(
        self, ids: Iterable[str] | None = None, channels: Iterable[str] | None = None
    ) -> list[LedgerRow]:
        """Sent deliveries whose post file changed since they went out (one indexed query)."""
        query = (
            sa.select(deliveries)
            .where(deliveries.c.state == State.SENT.value)
            .where(deliveries.c.changed.is_(True))
            .order_by(deliveries.c.due_at, deliveries.c.id)
        )
        if ids is not None:
            query = query.where(deliveries.c.id.in_(list(ids)))
        if channels is not None:
            query = query.where(deliveries.c.channel.in_(list(channels)))
        with self.engine.connect() as conn:
            return [row_from(dict(r._mapping)) for r in conn.execute(query)]

    def record_edit(
        self,
        delivery_id: str,
        payload: Mapping[str, Any],
        digest: str,
        state: str,
        detail: str,
        now: datetime,
    ) -> None:
        """The live post matches its file again: keep the new payload, clear ``changed``."""
        with self.engine.begin() as conn:
            conn.execute(
                deliveries.update()
                .where(deliveries.c.id == delivery_id)
                .where(deliveries.c.state == State.SENT.value)
                .values(
                    payload=json.dumps(payload, sort_keys=True),
                    changed=False,
                    sent_hash=digest,
                    content_hash=digest,
                    updated_at=now,
                )
            )
            self._history(conn, delivery_id, state, detail, now)

    def record_note(self, delivery_id: str, state: str, detail: str, now: datetime) -> None:
        """A history entry that changes nothing else (e.g. a failed edit: still ``sent``)."""
        with self.engine.begin() as conn:
            self._history(conn, delivery_id, state, detail, now)

    def last_entry(self, delivery_id: str) -> tuple[str, datetime] | None:
        """The latest history entry of a delivery: its state and when."""
        query = (
            sa.select(history.c.state, history.c.at)
            .where(history.c.delivery_id == delivery_id)
            .order_by(history.c.seq.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            last = conn.execute(query).first()
        return None if last is None else (last.state, last.at)

    def _history(
        self, conn: sa.Connection, delivery_id: str, state: str, detail: str, now: datetime
    ) -> None:
        conn.execute(
            history.insert().values(
                delivery_id=delivery_id, at=now, state=state, detail=detail, worker=self.worker
            )
        )
