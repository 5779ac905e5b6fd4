"""Claims and leases: how a worker takes due deliveries, keeps them while sending, and how
the rows a dead worker left ``sending`` are taken over as uncertain."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from publisher.core.models import LedgerRow, State
from publisher.store.schema import deliveries, row_from


class Leases:
    """The ledger's claim, lease renewal and take-over of ``sending`` rows (mixed into ``Ledger``)."""

    engine: Engine
    worker: str
    is_sqlite: bool

    if TYPE_CHECKING:  # provided by ``Ledger``

        def _tx(self) -> AbstractContextManager[Connection]: ...

        def _log(
            self,
            conn: Connection,
            ids: Iterable[str],
            state: str,
            detail: str | None,
            now: datetime,
        ) -> None: ...

    def claim(
        self,
        now: datetime,
        lease: timedelta,
        *,
        limit: int = 1,
        channel: str | None = None,
        exclude: Iterable[str] = (),
    ) -> list[LedgerRow]:
        """Atomically take up to ``limit`` due deliveries for this worker, with a lease.

        ``exclude`` names deliveries this worker cannot send now (handed back untouched), so
        they never block the ones due after them.
        """
        from publisher.store.claims import claim_statement

        statement = claim_statement(not self.is_sqlite, channel is not None)
        params = {
            "c_now": now,
            "c_lease_until": now + lease,
            "c_worker": self.worker,
            "c_limit": limit,
            "c_skip": list(exclude),
            "c_channel": channel,
        }
        with self._tx() as conn:  # one statement: pick (skipping rows others hold) and take
            claimed = conn.execute(statement, params)
            rows = sorted((row_from(r._mapping) for r in claimed), key=lambda r: (r.due_at, r.id))
            self._log(conn, [r.id for r in rows], State.SENDING.value, None, now)
            return rows

    def renew(self, ids: Iterable[str], until: datetime) -> None:
        """Extend the lease of deliveries this worker is still sending."""
        with self._tx() as conn:
            conn.execute(
                deliveries.update()
                .where(deliveries.c.id.in_(list(ids)))
                .where(deliveries.c.state == State.SENDING.value)
                .where(deliveries.c.worker == self.worker)
                .values(lease_until=until)
            )

    def take_over_sending(self, now: datetime, *, all_rows: bool) -> list[str]:
        """Mark ``sending`` rows ``uncertain``: all (SQLite lock holder) or those whose lease ran out."""
        query = sa.select(deliveries.c.id).where(deliveries.c.state == State.SENDING.value)
        if not all_rows:
            query = query.where(deliveries.c.lease_until < now)
        with self._tx() as conn:
            ids = [r[0] for r in conn.execute(query)]
            if ids:
                conn.execute(
                    deliveries.update()
                    .where(deliveries.c.id.in_(ids))
                    .where(deliveries.c.state == State.SENDING.value)
                    .values(
                        state=State.UNCERTAIN.value,
                        was_uncertain=True,
                        updated_at=now,
                        error="the process died or its lease ran out while sending",
                    )
                )
                self._log(conn, ids, State.UNCERTAIN.value, "interrupted while sending", now)
        return ids
