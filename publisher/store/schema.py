"""The ledger's schema, its ordered migrations, and engines for SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from publisher.core.models import LedgerRow, State


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC in Python, naive UTC in the database, the same on SQLite and PostgreSQL."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _delivery_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.String(1000), primary_key=True),
        sa.Column("post", sa.String(800), nullable=False),
        sa.Column("language", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False, index=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("source", sa.Text, nullable=False, default=""),
        sa.Column("due_at", UTCDateTime, nullable=False, index=True),
        sa.Column("expires_at", UTCDateTime),
        sa.Column("catch_up_from", UTCDateTime),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("next_attempt_at", UTCDateTime),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("worker", sa.String(200)),
        sa.Column("first_attempt_at", UTCDateTime),
        sa.Column("sent_at", UTCDateTime),
        sa.Column("remote_id", sa.Text),
        sa.Column("remote_url", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("content_hash", sa.String(64), nullable=False, default=""),
        sa.Column("sent_hash", sa.String(64)),
        sa.Column("changed", sa.Boolean, nullable=False, default=False),
        sa.Column("was_uncertain", sa.Boolean, nullable=False, default=False),
        sa.Column("payload", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    ]


def _history_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.String(1000), nullable=False, index=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("worker", sa.String(200)),
    ]


metadata = sa.MetaData()
deliveries = sa.Table(
    "deliveries",
    metadata,
    *_delivery_columns(),
    sa.Column("attempt", sa.Text),  # migration 3
)
history = sa.Table("history", metadata, *_history_columns())
migrations_table = sa.Table(
    "migrations",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)


def _notification_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("seq", sa.Integer),
        sa.Column("title", sa.Text, nullable=False, default=""),
        sa.Column("body", sa.Text, nullable=False, default=""),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("error", sa.Text),
        sa.Column("worker", sa.String(200)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
    ]


#: Failure alerts already raised (see ``publisher.app.notify``), so a restart never repeats one.
notifications = sa.Table("notifications", metadata, *_notification_columns())


def _migration_1(conn: Connection) -> None:
    """The first schema: deliveries and their history (tables built from v1 column lists)."""
    v1 = sa.MetaData()
    sa.Table("deliveries", v1, *_delivery_columns())
    sa.Table("history", v1, *_history_columns())
    v1.create_all(conn)


def _migration_2(conn: Connection) -> None:
    """Notifications; history written before this point is taken as already notified."""
    v2 = sa.MetaData()
    table = sa.Table("notifications", v2, *_notification_columns())
    v2.create_all(conn)
    seq = conn.execute(sa.select(sa.func.max(history.c.seq))).scalar() or 0
    now = datetime.now(UTC)
    conn.execute(table.insert().values(key="cursor", seq=seq, created_at=now, updated_at=now))


def _migration_3(conn: Connection) -> None:
    """The draft of the latest attempt, so a reconcile looks for what was really sent."""
    conn.execute(sa.text("ALTER TABLE deliveries ADD COLUMN attempt TEXT"))


def _migration_4(conn: Connection) -> None:
    """An index for what every wake-up asks: a channel's deliveries in a state, by due time."""
    conn.execute(
        sa.text(
            "CREATE INDEX IF NOT EXISTS ix_deliveries_channel_state_due "
            "ON deliveries (channel, state, due_at)"
        )
    )


#: Ordered; append only.  Each runs once, in its own transaction, recorded in ``migrations``.
MIGRATIONS: list[Callable[[Connection], None]] = [
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
]


def row_from(record: Mapping[str, Any]) -> LedgerRow:
    payload = record["payload"]
    return LedgerRow(
        id=record["id"],
        post=record["post"],
        language=record["language"],
        channel=record["channel"],
        kind=record["kind"],
        due_at=record["due_at"],
        state=State(record["state"]),
        attempts=record["attempts"],
        remote_id=record["remote_id"],
        remote_url=record["remote_url"],
        error=record["error"],
        changed=bool(record["changed"]),
        source=record["source"],
        expires_at=record["expires_at"],
        next_attempt_at=record["next_attempt_at"],
        first_attempt_at=record["first_attempt_at"],
        sent_at=record["sent_at"],
        updated_at=record["updated_at"],
        payload=json.loads(payload) if payload else None,
        content_hash=record["content_hash"],
        was_uncertain=bool(record["was_uncertain"]),
        catch_up_from=record["catch_up_from"],
        attempt=json.loads(record["attempt"]) if record.get("attempt") else None,
    )


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine; on SQLite every write transaction starts ``BEGIN IMMEDIATE`` (atomic claims)."""
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4)
    path = url.removeprefix("sqlite:///")
    if read_only:
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        if not read_only:
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def safe_db_error(exc: Exception) -> str:
    """A database error without the connection URL (which may hold a password)."""
    text = str(getattr(exc, "orig", exc)).splitlines()[0]
    return re.sub(r"://[^@\s]+@", "://***@", text)


#: The PostgreSQL advisory lock that serializes migrations and syncs between workers.
ADVISORY_KEY = 0x7075626C


def serialize(conn: Connection) -> None:
    """Make this transaction wait for any other worker's schema change or sync.

    SQLite already serializes writers (``BEGIN IMMEDIATE``); PostgreSQL takes a
    transaction-level advisory lock, so two workers never insert the same rows at once.
    """
    if conn.dialect.name != "sqlite":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_KEY})


def migrate(engine: Engine) -> None:
    """Apply the migrations not yet recorded, each in its own transaction."""
    with engine.begin() as conn:
        serialize(conn)
        migrations_table.create(conn, checkfirst=True)
        done = {r[0] for r in conn.execute(sa.select(migrations_table.c.version))}
    for version, step in enumerate(MIGRATIONS, start=1):
        if version in done:
            continue
        with engine.begin() as conn:
            serialize(conn)
            query = sa.select(migrations_table.c.version).where(
                migrations_table.c.version == version
            )
            if conn.execute(query).first() is not None:
                continue
            step(conn)
            conn.execute(
                migrations_table.insert().values(version=version, applied_at=datetime.now(UTC))
            )
