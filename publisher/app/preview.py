"""Preview entries: every planned delivery with its exact payload, state and warnings."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from publisher.channels.base import Channel
from publisher.core.config import Config
from publisher.core.models import Delivery, LedgerRow, State
from publisher.core.plan import preview_state
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
        if row is not None and row.state is State.SENT and row.payload is not None:
            payload, warnings = row.payload, ()
            if row.changed:
                warnings = ("the post changed after it was sent; the change is not re-posted",)
        else:
            draft = channels[delivery.channel].render(delivery)
            payload = draft.payload
            warnings = draft.warnings + tuple(f"will not be sent: {e}" for e in draft.errors)
        if delivery.kind == "post":
            warnings = tuple(by_source.get(delivery.post.source, ())) + tuple(warnings)
        local = delivery.due_at.astimezone(zone(delivery.post.timezone))
        out.append(Entry(delivery, state, payload, tuple(warnings), local,
                         row.remote_url if row else None))  # fmt: skip
    return out


def as_text(items: list[Entry]) -> str:
    """A human-readable listing, one block per delivery."""
    lines: list[str] = []
    for item in items:
        d = item.delivery
        lines.append(
            f"{item.due_local:%Y-%m-%d %H:%M %Z} ({d.due_at:%H:%M} UTC)  {d.channel}  "
            f"{d.language}  {d.kind}  [{item.state}]"
        )
        lines.append(f"  id: {d.id}")
        if item.remote_url:
            lines.append(f"  sent: {item.remote_url}")
        lines.extend(_fields(item.payload, "  "))
        lines.extend(f"  warning: {w}" for w in item.warnings)
        lines.append("")
    lines.append(f"{len(items)} deliveries")
    return "\n".join(lines)


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
