"""``publisher run``: publish what is due, once for cron, as a service, or as a dry run."""

from __future__ import annotations

import click

from publisher.app.cli import Options, error, finish, load, report_post_errors
from publisher.app.cli_help import FROM_HELP, UNTIL_HELP
from publisher.core.errors import ExitStatus, UsageError


@click.command()
@click.option("--once", is_flag=True, help="One pass, then exit (for cron).")
@click.option("--dry-run", is_flag=True, help="Print the schedule; no network, no ledger.")
@click.option("--from", "start", metavar="T", help="With --dry-run: " + FROM_HELP)
@click.option("--until", metavar="T", help="With --dry-run: " + UNTIL_HELP)
@click.pass_obj
def run(opts: Options, once: bool, dry_run: bool, start: str | None, until: str | None) -> None:
    """Publish what is due: once (cron), or stay up and publish each delivery at its time."""
    config = load(opts)
    if (start or until) and not dry_run:
        raise UsageError("--from/--until go with --dry-run", "publisher run --dry-run --until +1w")
    if dry_run:
        from publisher.app.once import dry_run as schedule

        lines, errors = schedule(config, opts.now(), start, until)
        report_post_errors(errors)
        for line in lines:
            click.echo(line)
        finish(ExitStatus.BAD_INPUT if errors else ExitStatus.OK)
    if once:
        from publisher.app.once import run_once

        report = run_once(config, opts.now if opts.clock else None)
        report_post_errors(report.post_errors)
        for failed in report.source_errors:
            error(failed.message, failed.hint)
        for missing in report.token_errors.values():
            error(f"{missing.message}; its deliveries stay pending", missing.hint)
        for message in report.feed_errors:
            error(message, "its items stay unsent and are tried again on the next run")
        finish(report.exit_status)
    from publisher.app.once import serve

    finish(serve(config))
