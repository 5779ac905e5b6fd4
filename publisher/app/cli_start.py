"""What ``publisher --help`` and ``--version`` need, without the imports click would add.

A plain ``--version`` flag instead of ``click.version_option`` (its gettext look-ups were a
third of the start), and the help width found like ``shutil.get_terminal_size`` without
importing ``shutil`` (and with it bz2 and lzma).
"""

from __future__ import annotations

import sys

import click


def show_version(ctx: click.Context, on: bool, version: str) -> None:
    """``--version``, without ``click.version_option``'s gettext look-ups (a third of the start)."""
    if on and not ctx.resilient_parsing:
        click.echo(f"publisher, version {version}")
        ctx.exit()


class FastContext(click.Context):
    """click's context, with a help formatter that does not import shutil."""

    def make_formatter(self) -> click.HelpFormatter:
        """click's formatter, sized like ``shutil.get_terminal_size`` without importing shutil
        (and with it bz2 and lzma: a tenth of ``publisher --help``)."""
        width = self.terminal_width
        if width is None:
            width = max(min(_columns(), self.max_content_width or 80) - 2, 50)
        return click.HelpFormatter(width=width, max_width=self.max_content_width)


def _columns() -> int:
    import os

    text = os.environ.get("COLUMNS", "")
    columns = int(text) if text.isdigit() else 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80
