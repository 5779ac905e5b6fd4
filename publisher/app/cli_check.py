"""``publisher check``: is the config and every post file ready, and (--online) every channel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from publisher.app.cli import (
    Options,
    error,
    finish,
    load,
    read_all,
    report_post_errors,
    token_warnings,
    warn,
)
from publisher.core.errors import ExitStatus, PublisherError

if TYPE_CHECKING:
    from publisher.core.config import Config


@click.command()
@click.option("--online", is_flag=True, help="Also check each token and Page access.")
@click.pass_obj
def check(opts: Options, online: bool) -> None:
    """Validate the config and every post file."""
    from publisher.channels import build_channels
    from publisher.core.advice import long_ago
    from publisher.core.plan import plan

    config = load(opts)
    read = read_all(config)
    report_post_errors(read.errors)
    channels = build_channels(config)
    result = plan(read.posts, config, opts.now())
    for message in [*result.warnings, *long_ago(read.posts, opts.now())]:
        warn(message)
    from publisher.core.results import plan_warnings

    for message in plan_warnings(config, result.deliveries, channels, opts.now()):
        warn(message)
    too_long: set[str] = set()
    from publisher.core.images import draft_hint, has_image
    from publisher.core.render import length_bound

    for delivery in result.deliveries:
        channel = channels[delivery.channel]
        limit = getattr(channel, "limit", None)
        image = has_image(delivery)
        if limit is None and not image:
            continue  # no length limit and no image: nothing to find by rendering
        bound = length_bound(delivery, channel.config, config, getattr(channel, "reserved", ""))
        if not image and bound is not None and limit is not None and bound <= limit:
            continue  # provably short enough, without the cost of rendering it
        draft = channel.render(delivery)
        for message in draft.errors:
            where = message if delivery.id in message else f"{delivery.id}: {message}"
            error(f"{delivery.post.source}: {where}", draft_hint(message))
            too_long.add(delivery.post.source)
    status = ExitStatus.BAD_INPUT if read.errors or too_long else ExitStatus.OK
    if online:
        status = max(status, check_online(opts, config, channels))
    else:
        token_warnings(config)
    files = len(read.posts) + len(read.bad_paths)
    bad = len(read.bad_paths | {e.path for e in read.errors} | too_long)
    click.echo(
        f"{files} post files, {bad} with errors; {len(result.deliveries)} deliveries planned"
    )
    finish(status)


def check_online(opts: Options, config: Config, channels: dict[str, Any]) -> ExitStatus:
    from publisher.core.errors import ChannelError

    status = ExitStatus.OK
    today = opts.now().date()
    for name, channel in channels.items():
        try:
            health = channel.check_online(today)
        except (ChannelError, PublisherError) as exc:
            hint = getattr(exc, "hint", "")
            message = getattr(exc, "message", str(exc))
            error(
                message if message.startswith("channel ") else f"channel {name!r}: {message}", hint
            )
            status = ExitStatus.BAD_INPUT
            continue
        click.echo(f"channel {name}: ok: {health.summary}")
        for message in health.warnings:
            warn(message)
    return status
