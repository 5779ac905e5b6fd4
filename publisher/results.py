"""What a command did, said plainly: counts by outcome, and each failure with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

ORDER = ("sent", "failed", "uncertain", "expired", "retrying")


def run_summary(outcomes: Sequence[Any], corrections: Sequence[Any] = ()) -> str:
    """``2 sent, 1 failed: a/en/facebook/post (the token must be renewed)``, or nothing done."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.state.value] = counts.get(outcome.state.value, 0) + 1
    edited = sum(1 for c in corrections if c.done)
    parts = [f"{counts[s]} {s}" for s in ORDER if counts.get(s)]
    parts += [f"{n} {s}" for s, n in sorted(counts.items()) if s not in ORDER]
    if edited:
        parts.append(f"{edited} edited")
    if not parts:
        return "nothing was due"
    troubles = [o for o in outcomes if o.state.value in ("failed", "uncertain")]
    text = ", ".join(parts)
    if troubles:
        text += ": " + "; ".join(f"{o.id} ({o.detail or o.state.value})" for o in troubles)
        if any(o.state.value == "uncertain" for o in troubles):
            text += " - uncertain ones are looked for on the next run, or settle them with " \
                    "`publisher resolve`"  # fmt: skip
    return text


def retry_refusal(delivery_id: str, state: str | None) -> tuple[str, str]:
    """Why a delivery cannot be retried, and what to do instead (message, hint)."""
    if state is None:
        return f"{delivery_id}: not in the ledger", "`publisher status --all` lists the ids"
    if state == "uncertain":
        return (f"{delivery_id}: cannot retry: it is uncertain (it may be on the Page already)",
                f"look on the Page, then `publisher resolve {delivery_id} --sent URL` if it is "
                "there, or `--not-sent` to send it again")  # fmt: skip
    if state in ("pending", "retrying", "sending"):
        return (f"{delivery_id}: nothing to retry: it is {state} and goes out by itself",
                "`publisher status` shows when")  # fmt: skip
    return (f"{delivery_id}: cannot retry ({state})",
            "only failed deliveries can be retried")  # fmt: skip
