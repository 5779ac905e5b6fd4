"""The ledger is never silently replaced (DESIGN §7).

An empty (0-byte) SQLite file is refused; a folder that cannot hold the ledger is a clear
error; while ``run`` works, the ledger path must keep naming the file it opened; and a new
ledger trusts nothing: what is already overdue is looked for before it is sent.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.core.errors import LedgerError

if TYPE_CHECKING:
    from publisher.core.config import Config
    from publisher.core.models import Delivery
    from publisher.store.ledger import Ledger

#: What an overdue delivery of a new ledger says while it is looked for.
DISTRUSTED = (
    "a new ledger: looking on the channel (RSS: in the feed file) for this overdue delivery "
    "before sending it, so that a lost ledger never posts twice"
)


def prepare_sqlite(path: Path) -> None:
    """Refuse an empty ledger file; create the folder, with an error naming it if it cannot."""
    try:
        if path.is_file() and path.stat().st_size == 0:
            raise LedgerError(
                f"the ledger {path} is an empty file (0 bytes); it was truncated or replaced, "
                "and using it would send again what the lost one recorded",
                f"restore {path} from a backup; or delete the empty file to start a new ledger "
                "(publisher then looks on each channel for overdue posts before sending them)",
            )
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LedgerError(
            f"cannot create the ledger's folder {path.parent} ({exc.strerror or exc})",
            "make the folder writable for the user running publisher, or set "
            "[publisher].state to a path it may write",
        ) from None
    if path.exists() and not os.access(path.parent, os.W_OK):
        raise LedgerError(
            f"the ledger's folder {path.parent} is read-only; SQLite needs to write its "
            "journal beside the ledger",
            "make the folder writable for the user running publisher",
        )


@dataclass(frozen=True)
class LedgerIdentity:
    """The SQLite file a running process opened: its path, device and inode."""

    path: Path
    device: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> LedgerIdentity:
        st = path.stat()
        return cls(path, st.st_dev, st.st_ino)

    def check(self) -> None:
        """Raise ``LedgerError`` when the path no longer names the opened, non-empty file."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            problem = "was deleted"
        except OSError as exc:
            problem = f"cannot be read any more ({exc.strerror})"
        else:
            if (st.st_dev, st.st_ino) != (self.device, self.inode):
                problem = "was replaced by another file"
            elif st.st_size == 0:
                problem = "was emptied (0 bytes)"
            else:
                return
        raise LedgerError(
            f"the ledger {self.path} {problem} while publisher run was using it; "
            "stopped sending so that nothing goes out twice",
            f"put the ledger back at {self.path} (from a backup) and start publisher run again; "
            "a new ledger looks on each channel for overdue posts before sending them",
        )


def guard_for(config: Config) -> LedgerIdentity | None:
    """The identity to watch for an SQLite ledger (PostgreSQL has no file to lose)."""
    if config.state_is_url:
        return None
    return LedgerIdentity.of(Path(config.state))


def look_first(was_uncertain: bool, attempt: object) -> bool:
    """A delivery flagged by ``distrust_overdue``: never attempted, yet to be looked for."""
    return was_uncertain and not attempt


def is_empty(ledger: Ledger) -> bool:
    """A ledger with no delivery recorded yet: new, or a lost one started over."""
    import sqlalchemy as sa

    from publisher.store.ledger import deliveries

    with ledger.engine.connect() as conn:
        return conn.execute(sa.select(deliveries.c.id).limit(1)).first() is None


def distrust_overdue(
    ledger: Ledger, overdue: Iterable[Delivery], now: datetime, config: Config
) -> list[str]:
    """Flag the overdue pending deliveries of a new ledger: each is looked for before sending.

    They stay ``pending`` (an unset token still just waits); ``was_uncertain`` without a
    recorded attempt is the flag the runner reads.
    """
    import sqlalchemy as sa

    from publisher.core.models import State
    from publisher.core.plan import expiry_reason
    from publisher.core.plugins import capabilities
    from publisher.store.ledger import deliveries, history

    ids = [
        d.id
        for d in overdue
        if d.due_at <= now
        and expiry_reason(
            d.due_at,
            d.expires_at,
            now,
            config.catch_up,
            is_reminder=d.is_reminder,
            honours_catch_up=capabilities(config.channels[d.channel].type).catch_up,
        )
        is None
    ]
    if not ids:
        return []
    with ledger.engine.begin() as conn:
        pending = deliveries.c.state == State.PENDING.value
        found = [
            r[0]
            for r in conn.execute(
                sa.select(deliveries.c.id)
                .where(deliveries.c.id.in_(ids))
                .where(pending)
                .where(deliveries.c.attempt.is_(None))
            )
        ]
        if found:
            conn.execute(
                deliveries.update()
                .where(deliveries.c.id.in_(found))
                .where(pending)
                .values(was_uncertain=True, error=DISTRUSTED, updated_at=now)
            )
            conn.execute(
                history.insert(),
                [
                    {
                        "delivery_id": i,
                        "at": now,
                        "state": State.PENDING.value,
                        "detail": DISTRUSTED,
                        "worker": ledger.worker,
                    }
                    for i in found
                ],
            )
    return found
