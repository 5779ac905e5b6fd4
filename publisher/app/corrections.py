"""Corrections after publishing (DESIGN §9): a post edited after it went out.

Nothing is ever posted again.  A feed item is updated in place (same guid, same pubDate) on
the next pass.  A live social post is edited through the channel's ``edit(remote_id, draft)``
on the next pass when the channel says ``update_published = true``, else on demand with
``publisher update ID``.  Each edit is recorded in the ledger's history like a send; a failed
edit is recorded there too and never touches the delivery's ``sent`` state.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from publisher.channels.base import Channel, Feed
from publisher.core.errors import ChannelError, TokenMissing
from publisher.core.models import Delivery, Draft, LedgerRow, State
from publisher.core.rows import content_hash
from publisher.store.ledger import Ledger, deliveries, history
from publisher.store.schema import row_from

#: The history "state" of an edit and of a failed one (the delivery itself stays ``sent``).
EDITED = "edited"
EDIT_FAILED = "edit-failed"
#: After a failed automatic edit, the next pass waits this long before trying again.
EDIT_RETRY = timedelta(hours=1)


@dataclass(frozen=True)
class Correction:
    """What happened to one changed, already sent delivery."""

    id: str
    channel: str
    done: bool
    detail: str
    #: False when nothing was attempted (not asked to, or the post file is gone).
    attempted: bool = True


def changed_rows(
    ledger: Ledger, ids: Iterable[str] | None = None, channels: Iterable[str] | None = None
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
    with ledger.engine.connect() as conn:
        return [row_from(dict(r._mapping)) for r in conn.execute(query)]


def correct(
    ledger: Ledger,
    channels: Mapping[str, Channel],
    planned: Mapping[str, Delivery],
    now: datetime,
    *,
    ids: Iterable[str] | None = None,
    on_demand: bool = False,
    names: Iterable[str] | None = None,
) -> list[Correction]:
    """Bring changed, sent deliveries in line with their files.

    On a pass (``on_demand`` False) feeds are always corrected and social posts only where
    the channel has ``update_published = true``; ``publisher update`` (``on_demand``) edits
    the named deliveries on any channel that can edit.
    """
    out: list[Correction] = []
    for row in changed_rows(ledger, ids, names):
        channel = channels.get(row.channel)
        if channel is None or hasattr(channel, "follow"):
            continue  # gone, or a calendar, which brings its entries up to date itself
        feed = isinstance(channel, Feed)
        if not (feed or on_demand or channel.config.options.get("update_published")):
            continue
        if not on_demand and _failed_lately(ledger, row.id, now):
            continue
        delivery = planned.get(row.id)
        if delivery is None:
            out.append(
                Correction(
                    row.id,
                    row.channel,
                    False,
                    "its post file is gone or has errors now",
                    attempted=False,
                )
            )
            continue
        out.append(_correct_one(ledger, channel, row, delivery, now, feed=feed))
    return out


def _correct_one(
    ledger: Ledger,
    channel: Channel,
    row: LedgerRow,
    delivery: Delivery,
    now: datetime,
    *,
    feed: bool,
) -> Correction:
    draft = channel.render(delivery)
    digest = content_hash(delivery, channel.config)
    if draft.errors:
        return _failed(ledger, row, "; ".join(draft.errors), now)
    try:
        if feed:
            draft = _same_item(draft, row.payload or {})
            channel.publish(draft)  # copies a new image beside the feed; the ledger holds the item
            receipt_url = row.remote_url
        else:
            edit = getattr(channel, "edit", None)
            if edit is None:
                return Correction(
                    row.id,
                    row.channel,
                    False,
                    f"channel {row.channel!r} cannot edit a live post; "
                    "change it by hand on the network",
                    attempted=False,
                )
            receipt = edit(row.remote_id or "", draft)
            receipt_url = receipt.remote_url or row.remote_url
    except (ChannelError, TokenMissing) as exc:
        return _failed(ledger, row, getattr(exc, "message", str(exc)), now)
    detail = f"edited to match its post file{f': {receipt_url}' if receipt_url else ''}"
    with ledger.engine.begin() as conn:
        conn.execute(
            deliveries.update()
            .where(deliveries.c.id == row.id)
            .where(deliveries.c.state == State.SENT.value)
            .values(
                payload=json.dumps(draft.payload, sort_keys=True),
                changed=False,
                sent_hash=digest,
                content_hash=digest,
                updated_at=now,
            )
        )
        _log(conn, ledger, row.id, EDITED, detail, now)
    return Correction(row.id, row.channel, True, detail)


def _same_item(draft: Draft, sent: Mapping[str, Any]) -> Draft:
    """A corrected feed item keeps its guid and its pubDate: readers see it updated, not new."""
    payload = dict(draft.payload)
    for key in ("guid", "pub_date"):
        if key in sent:
            payload[key] = sent[key]
    return replace(draft, payload=payload)


def _failed_lately(ledger: Ledger, delivery_id: str, now: datetime) -> bool:
    """True when this delivery's latest history entry is a failed edit less than an hour old."""
    query = (
        sa.select(history.c.state, history.c.at)
        .where(history.c.delivery_id == delivery_id)
        .order_by(history.c.seq.desc())
        .limit(1)
    )
    with ledger.engine.connect() as conn:
        last = conn.execute(query).first()
    return last is not None and last.state == EDIT_FAILED and now - last.at < EDIT_RETRY


def _failed(ledger: Ledger, row: LedgerRow, message: str, now: datetime) -> Correction:
    """A failed edit goes to the history only: the delivery stays ``sent`` and ``changed``."""
    with ledger.engine.begin() as conn:
        _log(conn, ledger, row.id, EDIT_FAILED, message, now)
    return Correction(row.id, row.channel, False, message)


def _log(
    conn: sa.Connection, ledger: Ledger, delivery_id: str, state: str, detail: str, now: datetime
) -> None:
    conn.execute(
        history.insert().values(
            delivery_id=delivery_id, at=now, state=state, detail=detail, worker=ledger.worker
        )
    )
