"""``publisher preview``: the dry run of what each channel gets and when, in four formats."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from publisher.app.cli import (
    Options,
    finish,
    load,
    read_all,
    report_post_errors,
    token_warnings,
    warn,
    write_to,
)
from publisher.app.cli_help import FROM_HELP, UNTIL_HELP
from publisher.core.errors import ExitStatus, UsageError


@click.command()
@click.option("--from", "start", metavar="T", help=FROM_HELP)
@click.option("--until", metavar="T", help=UNTIL_HELP)
@click.option("--channel", "channel_name", metavar="NAME", help="Only this channel.")
@click.option("--post", "post_id", metavar="ID", help="Only this post id.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "list", "json", "html"]),
    default="text",
    show_default=True,
    help="text: each delivery with its exact "
    "payload; list: one line per delivery; json: for scripts; html: the preview page, "
    "every post as its audience will see it.",
)
@click.option(
    "-o",
    "output",
    metavar="FILE",
    type=click.Path(path_type=Path),
    help="Write to FILE instead of the terminal.",
)
@click.option("--open", "open_page", is_flag=True, help="html: open the page in the browser.")
@click.pass_obj
def preview(
    opts: Options,
    start: str | None,
    until: str | None,
    channel_name: str | None,
    post_id: str | None,
    fmt: str,
    output: Path | None,
    open_page: bool,
) -> None:
    """Dry run: what each channel will get, when. No network, no ledger changes."""
    from publisher.app.preview import as_list, as_text, entries
    from publisher.channels import build_channels
    from publisher.core.plan import plan
    from publisher.core.times import option_time

    if open_page and fmt != "html":
        raise UsageError("--open opens the page of --format html", "add --format html")
    config = load(opts)
    if channel_name and channel_name not in config.channels:
        raise UsageError(
            f"--channel {channel_name!r} is not configured",
            f"channels: {', '.join(config.channels)}",
        )
    now = opts.now()
    window_start = option_time(start, config.timezone, "--from", now) or now
    window_end = option_time(until, config.timezone, "--until", now)
    read = read_all(config)
    report_post_errors(read.errors)
    result = plan(read.posts, config, now)
    from publisher.core.advice import long_ago

    for message in [*result.warnings, *long_ago(read.posts, now)]:
        warn(message)
    token_warnings(config)
    if window_end is not None and window_end <= window_start:
        raise UsageError("--until is not later than --from", "the window is [--from, --until)")
    if post_id is not None and not any(p.id == post_id for p in read.posts):
        warn(f"no post with id {post_id!r}")
    chosen = [
        d
        for d in result.deliveries
        if (channel_name is None or d.channel == channel_name)
        and (post_id is None or d.post.id == post_id)
    ]
    recorded = {}
    if config.state_is_url or Path(config.state).exists():
        from publisher.store.ledger import Ledger

        ledger = Ledger.open_read_only(config.state_url)
        recorded = {r.id: r for r in ledger.rows(ids=[d.id for d in chosen])} if ledger else {}
    channels = build_channels(config)
    items = entries(
        chosen,
        channels,
        config,
        now,
        recorded,
        start=window_start,
        until=window_end,
        plan_warnings=result.warnings,
        keep_overdue=start is None,
    )
    refused = refused_images(items, channels)
    status = ExitStatus.BAD_INPUT if read.errors or refused else ExitStatus.OK
    if fmt == "html":
        from publisher.app.cli_page import write_page

        write_page(items, channels, config, now, (window_start, window_end), output, open_page)
        finish(status)
    if fmt == "json":
        text = json.dumps([i.as_json() for i in items], ensure_ascii=False, indent=2)
    elif fmt == "list":
        text = as_list(items)
    else:
        text = as_text(items)
    if output:
        write_to(output, text + "\n")
    else:
        click.echo(text)
    finish(status)


def refused_images(items: Sequence[Any], channels: Mapping[str, Any]) -> set[str]:
    """Post files whose image a channel refuses (§7: an error in preview too, not a warning).

    Each refusal is said once per file, image and channel, on stderr; the page and the text
    show it beside the delivery.
    """
    from publisher.app.cli import error
    from publisher.core.images import draft_hint
    from publisher.core.render import effective

    said: set[tuple[str, str, str]] = set()
    files: set[str] = set()
    for item in items:
        delivery = item.delivery
        channel = channels.get(delivery.channel)
        judge = getattr(channel, "image_problems", None)
        if item.state == "sent" or channel is None or judge is None:
            continue
        image = effective(delivery, channel.config).image
        if image is None or (delivery.post.source, str(image), delivery.channel) in said:
            continue
        said.add((delivery.post.source, str(image), delivery.channel))
        for problem in judge(image):
            error(f"{delivery.post.source}: {delivery.channel}: {problem}", draft_hint(problem))
            files.add(delivery.post.source)
    return files
