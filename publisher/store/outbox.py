"""The notification outbox: alerts queued in the ledger, so each is sent once across workers."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from publisher.store.schema import history, notifications

if TYPE_CHECKING:
    from publisher.store.ledger import Ledger

#: Makes (title, body) of an alert from a history entry: delivery id, state, detail.
Message = Callable[[str, str, str | None], tuple[str, str]]
_CURSOR = "cursor"


class Outbox:
    """Queue, claim and settle notifications in the ledger's ``notifications`` table."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def _insert(self, conn: sa.Connection, values: dict[str, object]) -> bool:
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = sqlite if self.ledger.is_sqlite else postgresql
        statement = dialect.insert(notifications).values(**values).on_conflict_do_nothing()
        # RETURNING, not rowcount: psycopg reports -1 rows for ON CONFLICT DO NOTHING.
        return conn.execute(statement.returning(notifications.c.key)).first() is not None

    def add(self, key: str, title: str, body: str, now: datetime) -> bool:
        """Queue one notification unless one with this key exists; True if it was new."""
        with self.ledger.engine.begin() as conn:
            return self._insert(
                conn,
                {
                    "key": key,
                    "title": title,
                    "body": body,
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                },
            )

    def add_from_history(
        self,
        now: datetime,
        message: Message,
        states: Collection[str],
        max_age: timedelta,
        rescan: timedelta,
    ) -> None:
        """Queue an alert for each new history entry in ``states``; keep a cursor of what is read.

        Entries younger than ``rescan`` are read again next time, since PostgreSQL may commit
        history out of order.
        """
        cursor = notifications.c.key == _CURSOR
        with self.ledger.engine.begin() as conn:
            start = conn.execute(sa.select(notifications.c.seq).where(cursor)).scalar() or 0
            h = history.c
            rows = conn.execute(
                sa.select(h.seq, h.delivery_id, h.state, h.detail, h.at)
                .where(h.seq > start)
                .order_by(h.seq)
            ).all()
            for row in rows:
                if row.state in states and row.at >= now - max_age:
                    title, body = message(row.delivery_id, row.state, row.detail)
                    values = {
                        "key": f"history:{row.seq}",
                        "seq": row.seq,
                        "title": title,
                        "body": body,
                        "attempts": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    self._insert(conn, values)
            settled = [r.seq for r in rows if r.at <= now - rescan]
            if settled:
                conn.execute(
                    notifications.update()
                    .where(cursor)
                    .where(notifications.c.seq < settled[-1])
                    .values(seq=settled[-1], updated_at=now)
                )

    def waiting(self, now: datetime, max_attempts: int, retry_after: timedelta) -> Sequence[Any]:
        """Notifications not sent yet whose next attempt is due, oldest first."""
        n = notifications.c
        query = (
            sa.select(n.key, n.title, n.body, n.attempts)
            .where(
                n.sent_at.is_(None),
                n.key != _CURSOR,
                n.attempts < max_attempts,
                sa.or_(n.attempts == 0, n.updated_at <= now - retry_after),
            )
            .order_by(n.created_at, n.key)
        )
        with self.ledger.engine.connect() as conn:
            return conn.execute(query).all()

    def claim(self, key: str, attempts: int, now: datetime) -> bool:
        """Take one notification for this worker; False if another worker took it first."""
        n = notifications.c
        with self.ledger.engine.begin() as conn:
            return bool(
                conn.execute(
                    notifications.update()
                    .where(n.key == key, n.attempts == attempts, n.sent_at.is_(None))
                    .values(attempts=attempts + 1, worker=self.ledger.worker, updated_at=now)
                ).rowcount
            )

    def settle(self, key: str, ok: bool, error: str | None, now: datetime) -> None:
        """Record how an attempt went: sent, or the error to retry after."""
        with self.ledger.engine.begin() as conn:
            conn.execute(
                notifications.update()
                .where(notifications.c.key == key)
                .values(sent_at=now if ok else None, error=error, updated_at=now)
            )
