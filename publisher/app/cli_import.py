"""``publisher import``: poll the feed sources now and print what was written (DESIGN §10)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from publisher.app.cli import Options
    from publisher.app.importer import PollResult
    from publisher.core.config import Config
    from publisher.store.ledger import Ledger
    from publisher.store.source_ledger import SourceLedger


@click.command("import")
@click.argument("names", nargs=-1, metavar="[SOURCE]...")
@click.option(
    "--dry-run", is_flag=True, help="Fetch and show what would be written; change nothing."
)
@click.option(
    "--backfill",
    type=click.IntRange(min=0),
    metavar="N",
    help="Also import up to N items already in the feed and never imported.",
)
@click.pass_obj
def import_command(
    opts: Options, names: tuple[str, ...], dry_run: bool, backfill: int | None
) -> None:
    """Poll feed sources ([sources.*]) now: each new item becomes a post file."""
    from pathlib import Path

    from publisher.app.cli import error, finish, load, warn
    from publisher.core.errors import ExitStatus, UsageError

    config = load(opts)
    if not config.sources:
        raise UsageError("no sources are configured", "add a [sources.<name>] table; see README")
    unknown = [n for n in names if n not in config.sources]
    if unknown:
        raise UsageError(
            f"unknown source {unknown[0]!r}", f"configured sources: {', '.join(config.sources)}"
        )
    from publisher.app.importer import poll_all

    store: SourceLedger | None = None
    ledger: Ledger | None = None
    if not dry_run:
        from publisher.store.ledger import Ledger

        ledger = Ledger.open(config.state_url)
    elif config.state_is_url or Path(config.state).exists():
        store = _read_only_store(config.state_url)
    if ledger is not None:
        from publisher.store.source_ledger import SourceLedger

        store = SourceLedger(ledger)
    results = poll_all(
        config, store, opts.now(), names=list(names) or None, backfill=backfill, dry_run=dry_run
    )
    for result in results:
        for message in result.warnings:
            warn(message)
        if result.error is not None:
            error(result.error.message, result.error.hint)
            continue
        for line in describe(result, dry_run):
            click.echo(line)
    if ledger is not None:
        _deliver_alerts(opts, config, ledger)
    finish(ExitStatus.BAD_INPUT if any(r.error for r in results) else ExitStatus.OK)


def describe(result: PollResult, dry_run: bool) -> list[str]:
    """One line per file written (or that would be), and a line saying why there are none."""
    name = result.source
    lines = [f"{name}: would write {p}" for p in result.would_write]
    lines += [f"{name}: wrote {p}" for p in result.written]
    if result.recorded:
        done = "would import" if dry_run else "imported"
        lines.append(
            f"{name}: first poll: {result.recorded} items already in the feed are "
            f"recorded, {done} none (--backfill N imports some)"
        )
    if result.waiting:
        lines.append(f"{name}: {result.waiting} more new items wait for the next poll (max_new)")
    if not lines:
        lines.append(
            f"{name}: not modified since the last poll"
            if result.not_modified
            else f"{name}: nothing new"
        )
    return lines


def _read_only_store(url: str) -> SourceLedger | None:
    from publisher.store.source_ledger import read_only

    return read_only(url)


def _deliver_alerts(opts: Options, config: Config, ledger: Ledger) -> None:
    import os

    from publisher.app.notify import Notifier

    notifier = Notifier(config, ledger, opts.now, os.environ)
    if notifier.setup():
        notifier.run()
