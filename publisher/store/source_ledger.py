"""The ledger's memory of feed sources: the last poll of each, and every item ever seen.

An item's row is its once-only guarantee: it is claimed (inserted) before its post file is
written, so two pollers (two workers, or ``import`` beside the daemon) never write it twice,
and a feed that drops and re-adds it, or re-orders, finds it already there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from publisher.store.ledger import Ledger, notifications
from publisher.store.schema import UTCDateTime

#: An item present at the first poll: recorded, not imported (``--backfill`` may import it).
SEEN = "seen"
CLAIMED = "claimed"
IMPORTED = "imported"


def _poll_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("source", sa.String(100), primary_key=True),
        sa.Column("url", sa.Text),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("polled_at", UTCDateTime),
        sa.Column("ok_at", UTCDateTime),
        sa.Column("failing_since", UTCDateTime),
        sa.Column("error", sa.Text),
        sa.Column("notified", sa.Text),
    ]


def _item_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("source", sa.String(100), primary_key=True),
        sa.Column("item_key", sa.String(12), primary_key=True),
        sa.Column("identity", sa.Text, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("seen_at", UTCDateTime, nullable=False),
        sa.Column("imported_at", UTCDateTime),
        sa.Column("path", sa.Text),
    ]


source_metadata = sa.MetaData()
source_polls = sa.Table("source_polls", source_metadata, *_poll_columns())
source_items = sa.Table("source_items", source_metadata, *_item_columns())


def create_tables(conn: Connection) -> None:
    """Migration step: the two tables as first defined."""
    first = sa.MetaData()
    sa.Table("source_polls", first, *_poll_columns())
    sa.Table("source_items", first, *_item_columns())
    first.create_all(conn)


@dataclass(frozen=True)
class PollState:
    """What the ledger remembers of a source's polls."""

    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    polled_at: datetime | None = None
    ok_at: datetime | None = None
    failing_since: datetime | None = None
    notified: str | None = None


def _insert(ledger: Ledger, table: sa.Table) -> Any:
    """An INSERT that knows ON CONFLICT, in the ledger's dialect."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table) if ledger.is_sqlite else pg_insert(table)


def read_only(url: str) -> SourceLedger | None:
    """The sources' part of an existing ledger, read only; None without a ledger or its tables."""
    from publisher.store.ledger import Ledger

    ledger = Ledger.open_read_only(url)
    if ledger is None:
        return None
    with ledger.engine.connect() as conn:
        if not sa.inspect(conn).has_table("source_items"):
            return None
    return SourceLedger(ledger)


class SourceLedger:
    """Reads and writes the two source tables of one ledger; each write is one transaction."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.engine = ledger.engine

    def poll_state(self, source: str) -> PollState:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(source_polls).where(source_polls.c.source == source)
            ).first()
        if row is None:
            return PollState()
        return PollState(
            row.url,
            row.etag,
            row.last_modified,
            row.polled_at,
            row.ok_at,
            row.failing_since,
            row.notified,
        )

    def item_states(self, source: str) -> dict[str, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(source_items.c.item_key, source_items.c.state).where(
                    source_items.c.source == source
                )
            ).all()
        return {r.item_key: r.state for r in rows}

    def record_seen(self, source: str, items: list[tuple[str, str]], now: datetime) -> None:
        """Remember items (key, identity) present at the first poll, without importing them."""
        if not items:
            return
        statement = _insert(self.ledger, source_items).on_conflict_do_nothing()
        with self.engine.begin() as conn:
            conn.execute(
                statement,
                [
                    {"source": source, "item_key": k, "identity": i, "state": SEEN, "seen_at": now}
                    for k, i in items
                ],
            )

    def claim(self, source: str, key: str, identity: str, now: datetime, *, seen_too: bool) -> bool:
        """Take an item for import; False when it is taken already (imported, or by another)."""
        # RETURNING, not rowcount: psycopg reports -1 rows for ON CONFLICT DO NOTHING.
        statement = (
            _insert(self.ledger, source_items)
            .values(source=source, item_key=key, identity=identity, state=CLAIMED, seen_at=now)
            .on_conflict_do_nothing()
            .returning(source_items.c.item_key)
        )
        with self.engine.begin() as conn:
            if conn.execute(statement).first() is not None:
                return True
            if not seen_too:
                return False
            c = source_items.c
            return (
                conn.execute(
                    source_items.update()
                    .where(c.source == source, c.item_key == key, c.state == SEEN)
                    .values(state=CLAIMED)
                    .returning(c.item_key)
                ).first()
                is not None
            )

    def imported(self, source: str, key: str, path: str, now: datetime) -> None:
        c = source_items.c
        with self.engine.begin() as conn:
            conn.execute(
                source_items.update()
                .where(c.source == source, c.item_key == key)
                .values(state=IMPORTED, imported_at=now, path=path)
            )

    def release(self, source: str, key: str, back_to: str | None) -> None:
        """Undo a claim whose file could not be written, so the next poll tries again."""
        c = source_items.c
        where = (c.source == source, c.item_key == key, c.state == CLAIMED)
        with self.engine.begin() as conn:
            if back_to is None:
                conn.execute(source_items.delete().where(*where))
            else:
                conn.execute(source_items.update().where(*where).values(state=back_to))

    def save_poll(self, source: str, **values: Any) -> None:
        statement = _insert(self.ledger, source_polls).values(source=source, **values)
        statement = statement.on_conflict_do_update(index_elements=["source"], set_=values)
        with self.engine.begin() as conn:
            conn.execute(statement)

    def queue_alert(self, key: str, title: str, body: str, now: datetime) -> bool:
        """Put one notification in the outbox (``publisher.app.notify`` delivers it); once per key."""
        statement = (
            _insert(self.ledger, notifications)
            .values(key=key, title=title, body=body, attempts=0, created_at=now, updated_at=now)
            .on_conflict_do_nothing()
            .returning(notifications.c.key)
        )
        with self.engine.begin() as conn:
            return conn.execute(statement).first() is not None
