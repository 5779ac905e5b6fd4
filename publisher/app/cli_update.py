"""``publisher update ID...``: edit live posts to match their post files (DESIGN §9)."""

from __future__ import annotations

import click

from publisher.app.cli import (
    Options,
    error,
    finish,
    load,
    need_ledger,
    read_all,
    report_post_errors,
)
from publisher.core.errors import ExitStatus


@click.command()
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@click.pass_obj
def update(opts: Options, ids: tuple[str, ...]) -> None:
    """Edit sent posts whose file changed since, so the live post reads like the file.

    Nothing is posted again: the live Facebook or LinkedIn post is edited in place, a feed
    item keeps its guid and date. `publisher status` marks the deliveries that changed."""
    from publisher.app.corrections import correct
    from publisher.app.runner import Runner
    from publisher.channels import build_channels
    from publisher.core.models import State
    from publisher.core.printable import printable

    config = load(opts)
    ledger = need_ledger(config)
    read = read_all(config)
    report_post_errors(read.errors)
    channels = build_channels(config)
    runner = Runner(config, ledger, channels, opts.now)
    runner.sync(read)  # the ledger learns which sent posts changed since
    status = ExitStatus.BAD_INPUT if read.errors else ExitStatus.OK
    for delivery_id in ids:
        shown = printable(delivery_id)
        row = ledger.get(delivery_id)
        if row is None:
            error(f"{shown}: not in the ledger", "`publisher status --all` lists the ids")
            status = max(status, ExitStatus.BAD_INPUT)
            continue
        if row.state is not State.SENT:
            click.echo(
                f"{shown}: nothing to do: it is {row.state.value}, not sent; "
                "it goes out as the file says now"
            )
            continue
        if not row.changed:
            click.echo(f"{shown}: nothing to do: the live post matches its post file")
            continue
        found = correct(
            ledger, channels, runner.plan.by_id(), opts.now(), ids=[delivery_id], on_demand=True
        )
        done = found[0] if found else None
        if done is not None and done.done:
            click.echo(f"{shown}: {done.detail}")
        else:
            why = done.detail if done is not None else "its channel is not configured now"
            error(
                f"{shown}: not edited: {why}",
                "the live post is unchanged and still marked sent; fix the cause and run "
                "`publisher update` again, or edit it by hand",
            )
            status = max(status, ExitStatus.DELIVERY_FAILED)
    from publisher.app.runner import RunReport

    runner.rebuild_feeds(RunReport())  # a corrected feed item is in the file at once
    finish(status)
