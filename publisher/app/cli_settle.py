"""``publisher retry`` and ``resolve``: settle failed or uncertain deliveries by hand."""

from __future__ import annotations

import click

from publisher.app.cli import Options, error, finish, load, need_ledger
from publisher.core.errors import ExitStatus, UsageError


@click.command()
@click.argument("ids", nargs=-1)
@click.option("--failed", "all_failed", is_flag=True, help="Every failed delivery.")
@click.pass_obj
def retry(opts: Options, ids: tuple[str, ...], all_failed: bool) -> None:
    """Put failed deliveries back to pending (their catch-up clock restarts)."""
    if bool(ids) == all_failed:
        raise UsageError(
            "give the ids of failed deliveries, or --failed for all of them",
            "`publisher status` lists them",
        )
    ledger = need_ledger(load(opts))
    done = ledger.retry(None if all_failed else list(ids), opts.now())
    for delivery_id in done:
        click.echo(f"pending again: {delivery_id} (it goes out on the next run)")
    if all_failed and not done:
        click.echo("nothing to retry: no delivery is failed")
    missing = sorted(set(ids) - set(done))
    for delivery_id in missing:
        from publisher.core.results import retry_refusal

        row = ledger.get(delivery_id)
        error(*retry_refusal(delivery_id, row.state.value if row else None))
    finish(ExitStatus.BAD_INPUT if missing else ExitStatus.OK)


@click.command()
@click.argument("delivery_id", metavar="ID")
@click.option("--sent", "sent_url", metavar="URL", help="It was published, here.")
@click.option("--not-sent", is_flag=True, help="It was not published; send it again.")
@click.pass_obj
def resolve(opts: Options, delivery_id: str, sent_url: str | None, not_sent: bool) -> None:
    """Settle an uncertain delivery by hand (look on the Page first)."""
    if bool(sent_url) == not_sent:
        raise UsageError(
            "give exactly one of --sent URL or --not-sent",
            "--sent URL if it is on the Page, --not-sent to send it again",
        )
    from publisher.core.printable import printable, web_url

    if sent_url is not None and not web_url(sent_url):
        raise UsageError(
            f"--sent {printable(sent_url)!r} is not an http(s) URL",
            "give the post's address, e.g. https://www.facebook.com/123_456",
        )
    ledger = need_ledger(load(opts))
    from publisher.core.results import resolved

    done = ledger.resolve(delivery_id, opts.now(), sent_url=sent_url)
    click.echo(resolved(delivery_id, done, sent_url, None if done else ledger.get(delivery_id)))
    finish(ExitStatus.OK)
