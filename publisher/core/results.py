"""What a command did, said plainly: counts by outcome, and each failure with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

ORDER = ("sent", "failed", "uncertain", "expired", "retrying")


def run_summary(outcomes: Sequence[Any], corrections: Sequence[Any] = ()) -> str:
    """``2 sent, 1 failed: a/en/facebook/post (the token must be renewed)``, or nothing went out."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.state.value] = counts.get(outcome.state.value, 0) + 1
    edited = sum(1 for c in corrections if c.done)
    parts = [f"{counts[s]} {s}" for s in ORDER if counts.get(s)]
    parts += [f"{n} {s}" for s, n in sorted(counts.items()) if s not in ORDER]
    if edited:
        parts.append(f"{edited} edited")
    if not parts:
        return "nothing went out"
    troubles = [o for o in outcomes if o.state.value in ("failed", "uncertain")]
    text = ", ".join(parts)
    if troubles:
        text += ": " + "; ".join(f"{o.id} ({o.detail or o.state.value})" for o in troubles)
        if any(o.state.value == "uncertain" for o in troubles):
            text += (
                " - uncertain ones are looked for on the next run, or settle them with "
                "`publisher resolve`"
            )
    return text


def retry_refusal(delivery_id: str, state: str | None) -> tuple[str, str]:
    """Why a delivery cannot be retried, and what to do instead (message, hint)."""
    if state is None:
        return f"{delivery_id}: not in the ledger", "`publisher status --all` lists the ids"
    if state == "uncertain":
        return (
            f"{delivery_id}: cannot retry: it is uncertain (it may be on the Page already)",
            f"look on the Page, then `publisher resolve {delivery_id} --sent URL` if it is "
            "there, or `--not-sent` to send it again",
        )
    if state in ("pending", "retrying", "sending"):
        return (
            f"{delivery_id}: nothing to retry: it is {state} and goes out by itself",
            "`publisher status` shows when",
        )
    return (f"{delivery_id}: cannot retry ({state})", "only failed deliveries can be retried")


def after_token_expiry(config: Any, deliveries: Sequence[Any], now: Any) -> list[str]:
    """A warning per channel with deliveries planned after its ``token_expires_at``."""
    from datetime import datetime, time

    from publisher.core.times import local_text, zone

    warnings = []
    tz = zone(config.timezone)
    ends = {
        name: (
            cfg.options["token_expires_at"],
            datetime.combine(cfg.options["token_expires_at"], time(0, 0), tz),
        )
        for name, cfg in config.channels.items()
        if cfg.options.get("token_expires_at")
    }
    after: dict[str, list[Any]] = {name: [] for name in ends}
    for d in deliveries:
        if d.channel in ends and d.due_at >= max(ends[d.channel][1], now):
            after[d.channel].append(d)
    for name, late in after.items():
        expires = ends[name][0]
        if late:
            first = local_text(min(d.due_at for d in late), config.timezone)
            warnings.append(
                f"channel {name!r}: {plural(len(late), 'delivery is', 'deliveries are')} "
                f"planned after its token expires "
                f"on {expires} (token_expires_at), the first {first}; renew the token before "
                f"then and update token_expires_at"
            )
    return warnings


def plan_warnings(config: Any, deliveries: Sequence[Any], channels: Any, now: Any) -> list[str]:
    """What ``check`` adds to the plan's warnings: tokens that run out, images too small."""
    from publisher.core.image_size import image_warnings

    return after_token_expiry(config, deliveries, now) + image_warnings(deliveries, channels)


def resolved(delivery_id: str, done: bool, sent_url: str | None, row: Any) -> str:
    """What ``resolve`` did; a delivery already sent is nothing to do, anything else an error."""
    from publisher.core.errors import UsageError

    if done and sent_url:
        return f"{delivery_id}: marked sent ({sent_url}); it will not be sent again"
    if done:
        return f"{delivery_id}: marked not sent; pending again, it goes out on the next run"
    if row is not None and row.state.value == "sent":
        return (
            f"{delivery_id}: nothing to do: it is already sent ({row.remote_url or row.remote_id})"
        )
    state = row.state.value if row is not None else "not in the ledger"
    raise UsageError(
        f"{delivery_id}: cannot resolve ({state})",
        "only uncertain deliveries can be resolved; see `publisher status`",
    )


def plural(n: int, one: str, many: str) -> str:
    """``1 delivery is`` but ``2 deliveries are``."""
    return f"{n} {one if n == 1 else many}"
