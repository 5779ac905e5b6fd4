"""``publisher status``: what is pending, what went out and where, what failed and what to do."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from publisher.app.cli import Options, finish, load, open_ledger, read_all, report_post_errors, warn
from publisher.core.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    from publisher.core.config import Config
    from publisher.core.models import Post

STATES = ("pending", "sending", "retrying", "sent", "failed", "uncertain", "cancelled", "expired")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="A JSON array on stdout.")
@click.option("--all", "show_all", is_flag=True, help="Every delivery, not only recent ones.")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(STATES),
    metavar="STATE",
    help=f"Only deliveries in this state (repeatable): {', '.join(STATES)}.",
)
@click.option("--channel", "channel", metavar="NAME", help="Only this channel.")
@click.option("--post", "post", metavar="ID", help="Only this post id.")
@click.option(
    "--since",
    metavar="T",
    help="Only deliveries sent, failed or edited since T, "
    "e.g. -7d, 2027-05, today, 2027-05-03T10:00.",
)
@click.pass_obj
def status(
    opts: Options,
    as_json: bool,
    show_all: bool,
    states: tuple[str, ...],
    channel: str | None,
    post: str | None,
    since: str | None,
) -> None:
    """The ledger: unsettled deliveries and those changed in the last 7 days."""
    from publisher.app.status import Filters, no_ledger_text, parse_states, status_rows, status_text
    from publisher.app.status import as_json as row_json
    from publisher.core.times import option_time

    config = load(opts)
    now = opts.now()
    if channel is not None and channel not in config.channels:
        warn(
            f"--channel {channel!r} is not configured now (channels: {', '.join(config.channels)})"
        )
    start = option_time(since, config.timezone, "--since", now)
    if start is not None and start > now:
        raise UsageError(f"--since {since} is in the future", "e.g. --since -7d or --since today")
    filters = Filters(parse_states(states), channel, post, start, show_all)
    ledger = open_ledger(config)
    read = read_all(config)
    report_post_errors(read.errors)  # a bad file is named here too, and status exits 2 (§7)
    bad_files = ExitStatus.BAD_INPUT if read.errors else ExitStatus.OK
    titles = {(p.id, p.language): p.title for p in read.posts}
    if ledger is None:
        if as_json:
            click.echo("[]")
        else:
            planned, overdue = _planned(opts, config, read.posts)
            click.echo(no_ledger_text(config, planned, overdue))
        finish(bad_files)
    rows = status_rows(ledger, now, filters)
    if as_json:
        data = [row_json(r, titles.get((r.post, r.language)), config.timezone) for r in rows]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        filtered = bool(states or channel or post or since)
        click.echo(status_text(rows, titles, config, filtered))
    bad = any(r.state.value in ("failed", "uncertain") for r in rows)
    finish(max(bad_files, ExitStatus.DELIVERY_FAILED if bad else ExitStatus.OK))


def _planned(opts: Options, config: Config, posts: list[Post]) -> tuple[int, int]:
    """How many deliveries the post files plan, and how many of them are overdue now."""
    from publisher.core.plan import plan, preview_state

    now = opts.now()
    deliveries = plan(posts, config, now).deliveries
    states = [
        preview_state(d, config.channels[d.channel].type, now, config.catch_up) for d in deliveries
    ]
    live = [s for s in states if s != "will expire"]
    return len(live), sum(1 for s in live if s == "overdue")
