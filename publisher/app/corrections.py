"""Corrections after publishing (DESIGN §9): a post edited after it went out.

Nothing is ever posted again.  A feed item is updated in place (same guid, same pubDate) on
the next pass.  A live social post is edited through the channel's ``edit(remote_id, draft)``
on the next pass when the channel says ``update_published = true``, else on demand with
``publisher update ID``.  Each edit is recorded in the ledger's history like a send; a failed
edit is recorded there too and never touches the delivery's ``sent`` state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from publisher.channels.base import Channel, Feed
from publisher.core.errors import ChannelError, TokenMissing
from publisher.core.models import Delivery, Draft, LedgerRow
from publisher.core.rows import content_hash
from publisher.store.ledger import Ledger

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
    """Sent deliveries whose post file changed since they went out."""
    return ledger.changed_sent(ids, channels)


def correct(
    ledger: Ledger,
    channels: Mapping[str, Channel],
    planned: Mapping[str, Delivery],
    now: datetime,
    *,
    ids: Iterable[str] | None = None,
    on_demand: bool = False,
    names: Iterable[str] | None = None,
    rows: Iterable[LedgerRow] | None = None,
) -> list[Correction]:
    """Bring changed, sent deliveries in line with their files.

    On a pass (``on_demand`` False) feeds are always corrected and social posts only where
    the channel has ``update_published = true``; ``publisher update`` (``on_demand``) edits
    the named deliveries on any channel that can edit.  ``rows``: the changed rows, when the
    caller has read them already.
    """
    out: list[Correction] = []
    for row in changed_rows(ledger, ids, names) if rows is None else rows:
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
    ledger.record_edit(row.id, draft.payload, digest, EDITED, detail, now)
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
    last = ledger.last_entry(delivery_id)
    return last is not None and last[0] == EDIT_FAILED and now - last[1] < EDIT_RETRY


def _failed(ledger: Ledger, row: LedgerRow, message: str, now: datetime) -> Correction:
    """A failed edit goes to the history only: the delivery stays ``sent`` and ``changed``."""
    ledger.record_note(row.id, EDIT_FAILED, message, now)
    return Correction(row.id, row.channel, False, message)
