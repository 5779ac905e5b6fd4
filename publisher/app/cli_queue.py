"""``publisher queue``: bring post files from elsewhere into posts_dir, checked first."""

from __future__ import annotations

from pathlib import Path

import click

from publisher.app.cli import Options, error, finish, load
from publisher.core.errors import ExitStatus, PublisherError


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_obj
def queue(opts: Options, files: tuple[Path, ...]) -> None:
    """Validate post files, copy them (and their images) into posts_dir, show their plan."""
    from publisher.app.queue import queue_file

    config = load(opts)
    status = ExitStatus.OK
    config.posts_dir.mkdir(parents=True, exist_ok=True)
    for path in files:
        try:
            for line in queue_file(path, config, opts.now()):
                click.echo(line)
        except PublisherError as exc:
            error(exc.message, exc.hint)
            status = ExitStatus.BAD_INPUT
    finish(status)
