"""Which channels the daemon's tick must serve: one query instead of a round per channel.

A channel needs a round when one of its deliveries is uncertain (to reconcile), retrying,
claimable now (due, or blocked by an unset token or the hourly cap: the tick retries those),
or sending with a lease that ran out (a worker died).  An idle site answers with no channel,
and the tick costs this one query.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from publisher.core.models import State
from publisher.store.ledger import Ledger, deliveries


def channels_to_serve(ledger: Ledger, now: datetime) -> set[str]:
    """The channels with something uncertain, retrying, due or stuck in ``sending``."""
    t = deliveries.c
    ready = sa.or_(t.next_attempt_at.is_(None), t.next_attempt_at <= now)
    query = (
        sa.select(t.channel)
        .where(
            sa.or_(
                t.state.in_([State.UNCERTAIN.value, State.RETRYING.value]),
                sa.and_(t.state == State.PENDING.value, t.due_at <= now, ready),
                sa.and_(t.state == State.SENDING.value, t.lease_until < now),
            )
        )
        .distinct()
    )
    with ledger.engine.connect() as conn:
        return {row[0] for row in conn.execute(query)}
