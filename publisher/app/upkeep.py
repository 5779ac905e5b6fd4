"""The steps after sending: edits of what is already published, and feed files rewritten."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from publisher.app.report import RunReport
from publisher.channels.base import Feed
from publisher.core import logs

if TYPE_CHECKING:
    from publisher.app.runner import Runner


def run_corrections(runner: Runner, report: RunReport, names: Iterable[str] | None = None) -> None:
    """Edit feed items, and live posts where ``update_published`` is set (DESIGN §9)."""
    from publisher.app.corrections import changed_rows, correct

    wanted = [n for n in (runner.channels if names is None else names) if n in runner.channels]
    rows = changed_rows(runner.ledger, channels=wanted)
    if not rows:
        return  # the usual pass: one query, no token read
    # a token is read only for a channel that has something to edit (DESIGN §2)
    editable = {
        name
        for name in {r.channel for r in rows}
        if isinstance(runner.channels[name], Feed)
        or runner.channels[name].config.options.get("update_published")
    }
    chosen = {name for name in editable if runner.token_ok(runner.channels[name], report)}
    mine = [r for r in rows if r.channel in chosen]
    for done in correct(runner.ledger, runner.channels, runner.deliveries, runner.now(), rows=mine):
        report.corrections.append(done)
        (logs.get().info if done.done else logs.get().warning)(f"{done.id}: {done.detail}")


def rebuild_feeds(runner: Runner, report: RunReport, names: Iterable[str] | None = None) -> None:
    """Rewrite the feed files (all, or the named channels') from the ledger if stale."""
    from publisher.app.feeds import rebuild

    wanted = None if names is None else set(names)
    for name, channel in runner.channels.items():
        follow = getattr(channel, "follow", None)  # a calendar: entries follow their posts
        if follow is not None and (wanted is None or name in wanted):
            keep = runner.keep_sources
            if keep is not None and follow(runner.ledger, runner.deliveries, keep, runner.now()):
                report.feeds_written.append(name)
                logs.get().info(f"calendar {name} written")
        elif isinstance(channel, Feed) and (wanted is None or name in wanted):
            rebuild(name, channel, runner.ledger, report.feeds_written, report.feed_errors)
