"""Preview entries: every planned delivery with its exact payload, state and warnings."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from publisher.channels.base import Channel
from publisher.core.config import Config
from publisher.core.image_size import small_image_warning
from publisher.core.models import Delivery, LedgerRow, State
from publisher.core.plan import preview_state
from publisher.core.printable import printable
from publisher.core.times import iso_utc, zone

#: Ledger states preview shows as recorded; cancelled ones come back when their post does.
RECORDED = frozenset({State.SENT, State.FAILED, State.UNCERTAIN, State.SENDING, State.RETRYING})


@dataclass(frozen=True)
class Entry:
    """One row of ``preview``."""

    delivery: Delivery
    state: str
    payload: Mapping[str, Any]
    warnings: tuple[str, ...]
    due_local: datetime
    remote_url: str | None = None
    #: The draft's text (what a reconcile matches on); the preview page's generic card shows it.
    text: str = ""

    def as_json(self) -> dict[str, Any]:
        d = self.delivery
        return {
            "id": d.id,
            "post": d.post.id,
            "language": d.language,
            "channel": d.channel,
            "kind": d.kind,
            "due_at": iso_utc(d.due_at),
            "due_local": self.due_local.isoformat(),
            "state": self.state,
            "payload": self.payload,
            "warnings": list(self.warnings),
            "remote_url": self.remote_url,
            "source": d.post.source,
        }


def entries(
    deliveries: list[Delivery],
    channels: Mapping[str, Channel],
    config: Config,
    now: datetime,
    recorded: Mapping[str, LedgerRow],
    *,
    start: datetime | None,
    until: datetime | None,
    plan_warnings: Sequence[str] = (),
    keep_overdue: bool = True,
) -> list[Entry]:
    """Render each delivery in the window; sent ones as the ledger recorded them.

    A post's own warnings (DST, dropped reminders) are shown with its announcements.
    """
    by_source: dict[str, list[str]] = {}
    for warning in plan_warnings:
        by_source.setdefault(warning.partition(": ")[0], []).append(warning)
    out: list[Entry] = []
    for delivery in deliveries:
        cfg = config.channels[delivery.channel]
        row = recorded.get(delivery.id)
        state = preview_state(delivery, cfg.type, now, config.catch_up)
        if row is not None and (
            row.state in RECORDED or (row.state is State.EXPIRED and row.due_at == delivery.due_at)
        ):
            state = row.state.value
        if until is not None and delivery.due_at >= until:
            continue
        if (
            start is not None
            and delivery.due_at < start
            and (not keep_overdue or state not in ("overdue", "retrying"))
        ):
            continue
        warnings: tuple[str, ...] = ()
        if row is not None and row.state is State.SENT and row.payload is not None:
            payload = row.payload
            text = str((row.attempt or {}).get("text") or "")
            if row.changed:
                warnings = (
                    f"the post changed after it was sent; it is not posted again: "
                    f"`publisher update {delivery.id}` edits it (feeds: the next run)",
                )
        else:
            draft = channels[delivery.channel].render(delivery)
            payload, text = draft.payload, draft.text
            warnings = draft.warnings + tuple(f"will not be sent: {e}" for e in draft.errors)
        if not delivery.is_reminder:
            warnings = tuple(by_source.get(delivery.post.source, ())) + tuple(warnings)
        small = small_image_warning(channels[delivery.channel], _image(delivery, cfg))
        if small and not (row is not None and row.state is State.SENT):
            warnings = (*warnings, small)
        local = delivery.due_at.astimezone(zone(config.timezone))
        out.append(
            Entry(
                delivery,
                state,
                payload,
                tuple(warnings),
                local,
                row.remote_url if row else None,
                text,
            )
        )
    return out


def _image(delivery: Delivery, cfg: Any) -> Any:
    from publisher.core.render import effective

    return effective(delivery, cfg).image


def as_text(items: list[Entry]) -> str:
    """A human-readable listing, one block per delivery."""
    lines: list[str] = []
    for item in items:
        d = item.delivery
        lines.append(
            f"{item.due_local:%Y-%m-%d %H:%M %Z} ({d.due_at:%H:%M} UTC)  {d.channel}  "
            f"{d.language}  {d.kind}  [{item.state}]  {printable(d.post.title)}"
        )
        lines.append(f"  id: {d.id}")
        if item.remote_url:
            lines.append(f"  sent: {item.remote_url}")
        lines.extend(_fields(item.payload, "  "))
        lines.extend(f"  warning: {w}" for w in item.warnings)
        lines.append("")
    lines.append(f"{len(items)} deliveries")
    return "\n".join(lines)


LIST_HEADER = ("when", "channel", "lang", "kind", "state", "title")


def as_list(items: list[Entry]) -> str:
    """One line per delivery (local time, channel, language, kind, state, title), for reading."""
    rows = [
        (
            f"{i.due_local:%Y-%m-%d %H:%M %Z}",
            i.delivery.channel,
            i.delivery.language,
            i.delivery.kind,
            i.state,
            printable(i.delivery.post.title),
        )
        for i in items
    ]
    lines = table([LIST_HEADER, *rows])
    warned = sum(1 for i in items if i.warnings)
    tail = f"{len(items)} {'delivery' if len(items) == 1 else 'deliveries'}"
    if warned:
        tail += f", {warned} with warnings (see --format text)"
    return "\n".join([*lines, tail])


def table(rows: list[tuple[str, ...]]) -> list[str]:
    """Left-aligned columns two spaces apart; the last column is not padded."""
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(v.ljust(w) for v, w in zip(r, widths, strict=False)), r[-1]]).rstrip()
        for r in rows
    ]


def _fields(payload: Mapping[str, Any], indent: str) -> list[str]:
    lines: list[str] = []
    for key, value in payload.items():
        if isinstance(value, Mapping):
            lines.append(f"{indent}{key}:")
            lines.extend(_fields(value, indent + "  "))
        elif isinstance(value, str) and "\n" in value:
            lines.append(f"{indent}{key}: |")
            lines.extend(f"{indent}  {line}" if line else "" for line in value.split("\n"))
        elif isinstance(value, str):
            lines.append(f"{indent}{key}: {value}")
        else:
            lines.append(f"{indent}{key}: {json.dumps(value, ensure_ascii=False)}")
    return lines
