"""The ledger on SQLAlchemy Core, the source of truth: SQLite by default, PostgreSQL for
several workers (schema and migrations in ``schema``).  Rows are never deleted; every state
change is also appended to ``history``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from publisher.core.errors import LedgerError
from publisher.core.models import EDITABLE, LedgerRow, Receipt, State
from publisher.store.leases import Leases
from publisher.store.ledger_safety import prepare_sqlite
from publisher.store.schema import (
    MIGRATIONS,
    deliveries,
    history,
    make_engine,
    migrate,
    migrations_table,
    notifications,
    row_from,
    safe_db_error,
    serialize,
)
from publisher.store.sent import SentRows

__all__ = ["MIGRATIONS", "Ledger", "deliveries", "history", "make_engine", "notifications"]


#: Seconds between two readings of the database clock (PostgreSQL).
CLOCK_CHECK = 30.0


class Ledger(Leases, SentRows):
    """Delivery rows and their transitions; every write is one short transaction."""

    def __init__(self, engine: Engine, worker: str = "") -> None:
        self.engine = engine
        self.worker = worker
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._offset: tuple[float, timedelta] | None = None

    # -- opening -----------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, worker: str = "") -> Ledger:
        """Open (creating an SQLite file and its folder if needed) and migrate."""
        if url.startswith("sqlite:///"):
            prepare_sqlite(Path(url.removeprefix("sqlite:///")))  # never an emptied ledger
        try:
            ledger = cls(make_engine(url), worker)
            ledger.migrate()
        except sa.exc.OperationalError as exc:
            raise LedgerError(
                f"cannot open the ledger {url.removeprefix('sqlite:///')}: {safe_db_error(exc)}"
                if url.startswith("sqlite")
                else f"cannot open the ledger: {safe_db_error(exc)}",
                "check [publisher].state and that the database is reachable",
            ) from None
        return ledger

    @classmethod
    def open_read_only(cls, url: str) -> Ledger | None:
        """For preview: the existing ledger, never created or changed; None if there is none."""
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if not path.exists():
                return None
            prepare_sqlite(path)
            return cls(make_engine(url, read_only=True))
        try:
            ledger = cls(make_engine(url))
            with ledger.engine.connect() as conn:
                if not sa.inspect(conn).has_table("deliveries"):
                    return None
            return ledger
        except sa.exc.OperationalError:
            return None

    def migrate(self) -> None:
        """Apply what is missing; several workers starting at once migrate one at a time."""
        migrate(self.engine)

    def serialize(self, conn: Connection) -> None:
        """Make this transaction wait for any other worker's schema change or sync."""
        serialize(conn)

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(migrations_table.c.version))).scalar() or 0

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def db_now(self, fallback: datetime) -> datetime:
        """The database's clock when several workers share it (PostgreSQL), else ``fallback``.

        The offset between the two clocks is measured at most every ``CLOCK_CHECK`` seconds
        (clocks drift slowly), so a send does not pay a round trip per timestamp.
        """
        if self.is_sqlite:
            return fallback
        import time

        if self._offset is None or time.monotonic() - self._offset[0] > CLOCK_CHECK:
            with self.engine.connect() as conn:
                value = conn.execute(sa.text("SELECT now()")).scalar_one()
            self._offset = (time.monotonic(), value.astimezone(UTC) - fallback)
        return fallback + self._offset[1]

    # -- reading -----------------------------------------------------------------------
    def rows(
        self,
        *,
        states: Iterable[State] | None = None,
        ids: Iterable[str] | None = None,
        channel: str | None = None,
        changed_since: datetime | None = None,
    ) -> list[LedgerRow]:
        """Rows in ``states`` or changed since ``changed_since``; ``ids``, ``channel`` narrow them."""
        query = sa.select(deliveries).order_by(deliveries.c.due_at, deliveries.c.id)
        wanted: list[sa.ColumnElement[bool]] = []
        if states is not None:
            wanted.append(deliveries.c.state.in_([s.value for s in states]))
        if changed_since is not None:
            wanted.append(deliveries.c.updated_at >= changed_since)
        clauses = [sa.or_(*wanted)] if wanted else []
        if ids is not None:
            clauses.append(deliveries.c.id.in_(list(ids)))
        if channel is not None:
            clauses.append(deliveries.c.channel == channel)
        if clauses:
            query = query.where(sa.and_(*clauses))
        with self.engine.connect() as conn:
            return [row_from(r._mapping) for r in conn.execute(query)]

    def get(self, delivery_id: str) -> LedgerRow | None:
        found = self.rows(ids=[delivery_id])
        return found[0] if found else None

    def history(self, delivery_id: str) -> list[tuple[datetime, str, str | None]]:
        query = (
            sa.select(history.c.at, history.c.state, history.c.detail)
            .where(history.c.delivery_id == delivery_id)
            .order_by(history.c.seq)
        )
        with self.engine.connect() as conn:
            return [(r.at, r.state, r.detail) for r in conn.execute(query)]

    def next_due(
        self, now: datetime, *, after: datetime | None = None, channel: str | None = None
    ) -> datetime | None:
        """The earliest time at which some delivery becomes claimable.

        ``after`` leaves out what was already claimable then (what is still waiting at that
        point is blocked, e.g. by an unset token, and must not wake the daemon in a loop).
        """
        waiting = sa.func.coalesce(deliveries.c.next_attempt_at, deliveries.c.due_at)
        ready = sa.case((waiting > deliveries.c.due_at, waiting), else_=deliveries.c.due_at)
        query = sa.select(sa.func.min(ready)).where(
            deliveries.c.state.in_([s.value for s in EDITABLE])
        )
        if after is not None:
            query = query.where(ready > after)
        if channel is not None:
            query = query.where(deliveries.c.channel == channel)
        with self.engine.connect() as conn:
            value = conn.execute(query).scalar()
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    # -- writing -----------------------------------------------------------------------
    def _log(
        self, conn: Connection, ids: Iterable[str], state: str, detail: str | None, now: datetime
    ) -> None:
        rows = [
            {"delivery_id": i, "at": now, "state": state, "detail": detail, "worker": self.worker}
            for i in ids
        ]
        if rows:
            conn.execute(history.insert(), rows)

    def _move(
        self,
        delivery_id: str,
        to: State,
        now: datetime,
        *,
        allowed: Iterable[State],
        detail: str | None = None,
        **values: Any,
    ) -> bool:
        """Compare-and-set one row's state; False if it was not in an allowed state."""
        with self._tx() as conn:
            result = conn.execute(
                deliveries.update()
                .where(deliveries.c.id == delivery_id)
                .where(deliveries.c.state.in_([s.value for s in allowed]))
                .values(state=to.value, updated_at=now, **values)
            )
            if result.rowcount != 1:
                return False
            self._log(conn, [delivery_id], to.value, detail, now)
            return True

    def sync(
        self,
        planned: Iterable[Mapping[str, Any]],
        now: datetime,
        keep_sources: frozenset[str] = frozenset(),
    ) -> dict[str, int]:
        """Bring the ledger in line with the current plan; see ``publisher.store.sync``."""
        from publisher.store.sync import sync_rows

        return sync_rows(self, planned, now, keep_sources)

    def record_attempt(self, delivery_id: str, payload: Mapping[str, Any], text: str) -> None:
        """Keep what this attempt sends, so a reconcile looks for it even if the file changes."""
        with self._tx() as conn:
            conn.execute(
                deliveries.update()
                .where(deliveries.c.id == delivery_id)
                .values(attempt=json.dumps({"payload": payload, "text": text}, sort_keys=True))
            )

    def mark_sent(
        self,
        delivery_id: str,
        receipt: Receipt,
        now: datetime,
        payload: Mapping[str, Any] | None = None,
        detail: str | None = None,
        *,
        allowed: Iterable[State] | None = None,
    ) -> bool:
        """``allowed`` narrows the states it may come from (a reconcile: only ``uncertain``)."""
        return self._move(
            delivery_id,
            State.SENT,
            now,
            allowed=allowed or (State.SENDING, State.UNCERTAIN),
            detail=detail or receipt.remote_url or receipt.remote_id,
            remote_id=receipt.remote_id,
            remote_url=receipt.remote_url,
            sent_at=now,
            error=None,
            lease_until=None,
            changed=False,
            sent_hash=deliveries.c.content_hash,
            payload=json.dumps(payload, sort_keys=True) if payload is not None else None,
        )

    def mark_retrying(
        self,
        delivery_id: str,
        error: str,
        at: datetime,
        now: datetime,
        *,
        allowed: Iterable[State] | None = None,
    ) -> bool:
        return self._move(
            delivery_id,
            State.RETRYING,
            now,
            allowed=allowed or (State.SENDING, State.UNCERTAIN),
            detail=error,
            error=error,
            next_attempt_at=at,
            lease_until=None,
        )

    def mark_failed(
        self, delivery_id: str, error: str, now: datetime, *, allowed: Iterable[State] | None = None
    ) -> bool:
        return self._move(
            delivery_id,
            State.FAILED,
            now,
            allowed=allowed or (State.SENDING, State.UNCERTAIN, State.PENDING, State.RETRYING),
            detail=error,
            error=error,
            lease_until=None,
        )

    def mark_uncertain(self, delivery_id: str, error: str, now: datetime) -> bool:
        return self._move(
            delivery_id,
            State.UNCERTAIN,
            now,
            allowed=(State.SENDING,),
            detail=error,
            error=error,
            was_uncertain=True,
            lease_until=None,
        )

    def mark_expired(self, delivery_id: str, reason: str, now: datetime) -> bool:
        return self._move(
            delivery_id,
            State.EXPIRED,
            now,
            allowed=(State.PENDING, State.RETRYING, State.SENDING),
            detail=reason,
            error=reason,
            lease_until=None,
        )

    def release(self, delivery_id: str, reason: str, now: datetime) -> bool:
        """Give a claimed delivery back untouched (e.g. its token is unset): it stays pending."""
        return self._move(
            delivery_id,
            State.PENDING,
            now,
            allowed=(State.SENDING,),
            detail=reason,
            error=reason,
            lease_until=None,
            attempts=deliveries.c.attempts - 1,
        )

    def retry(self, ids: Iterable[str] | None, now: datetime) -> list[str]:
        """Failed -> pending with a fresh catch-up clock (all failed ones when ``ids`` is None)."""
        with self._tx() as conn:
            query = sa.select(deliveries.c.id).where(deliveries.c.state == State.FAILED.value)
            if ids is not None:
                query = query.where(deliveries.c.id.in_(list(ids)))
            found = [r[0] for r in conn.execute(query)]
            if found:
                conn.execute(
                    deliveries.update()
                    .where(deliveries.c.id.in_(found))
                    .values(
                        state=State.PENDING.value,
                        attempts=0,
                        next_attempt_at=None,
                        catch_up_from=now,
                        updated_at=now,
                        error=None,
                    )
                )
                self._log(conn, found, State.PENDING.value, "retry requested", now)
        return found

    def resolve(self, delivery_id: str, now: datetime, *, sent_url: str | None) -> bool:
        """Settle an uncertain delivery by hand: sent (with its URL) or not sent (pending)."""
        if sent_url is not None:
            receipt = Receipt(remote_id=sent_url, remote_url=sent_url)
            return self.mark_sent(delivery_id, receipt, now, detail=f"resolved by hand: {sent_url}")
        return self._move(
            delivery_id,
            State.PENDING,
            now,
            allowed=(State.UNCERTAIN,),
            detail="resolved by hand: not sent",
            error=None,
            next_attempt_at=None,
            catch_up_from=now,
        )
