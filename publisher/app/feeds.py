"""Feed files rewritten from the ledger; a feed that cannot be written is an error naming it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from publisher.core import logs

if TYPE_CHECKING:
    from publisher.channels.base import Channel
    from publisher.store.ledger import Ledger


def rebuild(
    name: str, channel: Channel, ledger: Ledger, written: list[str], errors: list[str]
) -> None:
    """Rewrite one feed if stale; an unwritable file is reported and tried again next pass."""
    limit = int(channel.config.options.get("max_items", 50))
    items = [payload for _, payload in ledger.sent_payloads(name, limit)]
    try:
        changed = channel.rebuild(items)  # type: ignore[attr-defined]
    except OSError as exc:  # the file stays stale, so the next pass writes it again
        message = (
            f"feed {name}: cannot write {exc.filename or 'the feed file'} "
            f"({exc.strerror or exc}); make its folder writable for publisher"
        )
        logs.get().error(message)
        errors.append(message)
        return
    if changed:
        written.append(name)
        logs.get().info(f"feed {name} written: {len(items)} items")
