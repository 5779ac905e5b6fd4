"""``preview --format html``: write the page to a file (or stdout) and open it on request."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from publisher.app.preview import Entry
    from publisher.channels.base import Channel
    from publisher.core.config import Config


def write_page(
    items: Sequence[Entry],
    channels: Mapping[str, Channel],
    config: Config,
    now: datetime,
    window: tuple[datetime | None, datetime | None],
    output: Path | None,
    open_page: bool,
) -> None:
    """Write the page to ``output`` (stdout without it); ``--open`` needs a file to open.

    Without ``-o``, ``--open`` writes a file in the temporary folder: a browser cannot open
    standard output.
    """
    from publisher.app.preview_page import render_page

    html = render_page(items, channels, config, now, window=window)
    if output is None and open_page:
        import tempfile

        handle, name = tempfile.mkstemp(prefix="publisher-preview-", suffix=".html")
        with open(handle, "w", encoding="utf-8") as stream:
            stream.write(html)
        output = Path(name)
    elif output is not None:
        from publisher.app.cli import write_to

        write_to(output, html)
    else:
        sys.stdout.write(html)
        return
    click.echo(f"wrote {output} ({len(items)} deliveries)", err=True)
    if open_page:
        import webbrowser

        if not webbrowser.open(output.resolve().as_uri()):
            click.echo(f"warning: no browser could be started; open {output} yourself", err=True)
