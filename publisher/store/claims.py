"""The claim statement, built and compiled once: sending calls it for every few deliveries.

Building the SQLAlchemy statement anew on each claim cost about a third of the CPU of a send
(figure 7 of ``bench/``); with bound parameters one statement serves every claim, and
SQLAlchemy's compiled cache finds it at once.
"""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa

from publisher.core.models import EDITABLE, State
from publisher.store.schema import deliveries


@lru_cache(maxsize=8)
def claim_statement(for_update: bool, by_channel: bool) -> sa.Update:
    """UPDATE ... SET state='sending' for up to ``:c_limit`` due rows, RETURNING them.

    Parameters: ``c_now``, ``c_lease_until``, ``c_worker``, ``c_limit``, ``c_skip`` (ids
    handed back this round) and, when ``by_channel``, ``c_channel``.
    """
    t = deliveries.c
    now = sa.bindparam("c_now", type_=t.due_at.type)
    editable = [s.value for s in EDITABLE]
    pick = (
        sa.select(t.id)
        .where(t.state.in_(editable))
        .where(t.due_at <= now)
        .where(sa.or_(t.next_attempt_at.is_(None), t.next_attempt_at <= now))
        .where(t.id.not_in(sa.bindparam("c_skip", expanding=True)))
        .order_by(t.due_at, t.id)
        .limit(sa.bindparam("c_limit", type_=sa.Integer))
    )
    if by_channel:
        pick = pick.where(t.channel == sa.bindparam("c_channel"))
    if for_update:
        pick = pick.with_for_update(skip_locked=True)
    return (
        deliveries.update()
        .where(t.id.in_(pick.scalar_subquery()))
        .where(t.state.in_(editable))
        .values(
            state=State.SENDING.value,
            lease_until=sa.bindparam("c_lease_until", type_=t.lease_until.type),
            worker=sa.bindparam("c_worker", type_=t.worker.type),
            attempts=t.attempts + 1,
            first_attempt_at=sa.func.coalesce(t.first_attempt_at, now),
            updated_at=now,
        )
        .returning(*deliveries.c)
    )
