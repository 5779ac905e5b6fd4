"""``publisher check``: is the config and every post file ready, and (--online) every channel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from publisher.app.cli import (
    Options,
    error,
    finish,
    load,
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
    from publisher.core.checking import check_site
    from publisher.core.images import draft_hint
    from publisher.core.results import after_token_expiry

    config = load(opts)
    channels = build_channels(config)
    read, result = check_site(config, channels)
    report_post_errors(read.errors)
    now = opts.now()
    late = after_token_expiry(config, result.dues, now)
    for message in [*result.warnings, *long_ago(read.posts, now), *late]:
        warn(message)
    too_long: set[str] = set()
    for source, message in result.too_long:
        error(f"{source}: {message}", draft_hint(message))
        too_long.add(source)
    status = ExitStatus.BAD_INPUT if read.errors or too_long else ExitStatus.OK
    if online:
        status = max(status, check_online(opts, config, channels))
    else:
        token_warnings(config)
    files = len(read.posts) + len(read.bad_paths)
    bad = len(read.bad_paths | {e.path for e in read.errors} | too_long)
    click.echo(f"{files} post files, {bad} with errors; {result.deliveries} deliveries planned")
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
