"""The command line: the one place where errors become messages and exit codes.

This module holds the group, that error handling and the helpers the commands share; the
commands live in ``cli_*`` modules and are added by ``cli_help.register``.

Heavy libraries (SQLAlchemy, requests, Babel, markdown) are imported inside the commands
that need them, so ``publisher --help`` starts fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from publisher import __version__
from publisher.app.cli_help import register
from publisher.app.cli_start import FastContext, show_version
from publisher.core.errors import ExitStatus, PostError, PublisherError, UsageError

if TYPE_CHECKING:
    from datetime import datetime

    from publisher.core.config import Config
    from publisher.core.posts import ReadResult
    from publisher.store.ledger import Ledger


class Options:
    """The group's options, passed to every command (a plain class: no dataclasses import)."""

    def __init__(self, config: str | None, debug: bool, log_format: str, clock: Any = None) -> None:
        self.config = config
        self.debug = debug
        self.log_format = log_format
        self.clock = clock

    def now(self) -> datetime:
        from publisher.core.times import now_utc

        return self.clock() if self.clock else now_utc()


def error(message: str, hint: str = "") -> None:
    from publisher.core.printable import printable  # a name cannot fake a line of output

    click.echo(f"publisher: error: {printable(message)}", err=True)
    if hint:
        click.echo(f"  hint: {printable(hint)}", err=True)


def warn(message: str) -> None:
    from publisher.core.printable import printable

    click.echo(f"warning: {printable(message)}", err=True)


def write_to(output: Path, text: str) -> None:
    """``-o FILE``: write the output there; a folder that is missing or read-only is a usage error."""
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"-o {output}: cannot write ({exc.strerror})",
            "check that the folder exists and is writable",
        ) from None


def finish(status: int) -> NoReturn:
    raise click.exceptions.Exit(int(status))


class PublisherGroup(click.Group):
    """Turns ``PublisherError`` into ``publisher: error: ...`` and its exit status."""

    context_class = FastContext

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Click's own usage errors read like ours too: ``publisher: error:`` and a hint (§3)."""
        kwargs.pop("standalone_mode", None)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "publisher"
            error(exc.format_message(), f"`{where} --help` lists the options, with examples")
            code = ExitStatus.BAD_INPUT
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
        except click.Abort:
            click.echo("Aborted!", err=True)
            code = 1
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PublisherError as exc:
            debug = isinstance(ctx.obj, Options) and ctx.obj.debug
            if debug:
                import traceback

                traceback.print_exc()
            error(exc.message, exc.hint)
            finish(exc.exit_status)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:  # `publisher preview | head`: the reader has all it wanted
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            finish(ExitStatus.OK)
        except Exception as exc:  # noqa: BLE001 - the last line of defence, no traceback by default
            if isinstance(ctx.obj, Options) and ctx.obj.debug:
                import traceback

                traceback.print_exc()
            if type(exc).__module__.startswith("sqlalchemy"):
                from publisher.store.schema import safe_db_error

                error(
                    f"the ledger cannot be used: {safe_db_error(exc)}",
                    "check [publisher].state and the database; a damaged SQLite file can be "
                    "moved aside (a new ledger may re-send what the old one recorded)",
                )
                finish(ExitStatus.BAD_INPUT)
            from publisher.core.secrets import scrub

            error(
                f"unexpected {type(exc).__name__}: {scrub(str(exc))}",
                "run again with --debug for a traceback, and report it",
            )
            finish(ExitStatus.BAD_INPUT)


@click.group(cls=PublisherGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    metavar="FILE",
    help="Config file (default: $PUBLISHER_CONFIG, else ./config.toml).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: local time with zone; json: one object per line, times in UTC (Z).",
)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=lambda ctx, _, on: show_version(ctx, on, __version__), help="Show the version and exit.")  # fmt: skip
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, debug: bool, log_format: str) -> None:
    """Publish post files and event reminders to your Pages, feeds and calendars: on time, once."""
    if not isinstance(ctx.obj, Options):
        ctx.obj = Options(config_file, debug, log_format)
    else:
        ctx.obj.config, ctx.obj.debug, ctx.obj.log_format = config_file, debug, log_format
    from publisher.core import logs

    logs.setup(log_format, debug)


def load(opts: Options) -> Config:
    from publisher.core import logs
    from publisher.core.config import config_path, load_config

    config = load_config(config_path(opts.config))
    logs.use_timezone(config.timezone)
    for message in config.warnings:  # doubts about the config (DESIGN §7), never errors
        warn(message)
    return config


def read_all(config: Config) -> ReadResult:
    from publisher.core.posts import read_posts

    return read_posts(config)


def report_post_errors(errors: list[PostError]) -> None:
    for exc in errors:
        error(exc.message, exc.hint)


def token_warnings(config: Config) -> None:
    from publisher.channels.base import read_token
    from publisher.core.errors import TokenMissing, TokenUnusable

    for cfg in config.channels.values():
        try:
            _ = cfg.token_env and read_token(cfg)
        except TokenUnusable as exc:
            warn(f"{exc.message} (needed to publish there)")
        except TokenMissing:
            warn(f"channel {cfg.name!r}: {cfg.token_env} is not set (needed to publish there)")


def open_ledger(config: Config) -> Ledger | None:
    """The existing ledger for status/retry/resolve; these never create one."""
    if not config.state_is_url and not Path(config.state).exists():
        return None
    from publisher.store.ledger import Ledger

    return Ledger.open(config.state_url)


def need_ledger(config: Config) -> Ledger:
    ledger = open_ledger(config)
    if ledger is None:
        raise UsageError(
            f"there is no ledger yet at {config.state}",
            "nothing was published yet; `publisher run` creates it",
        )
    return ledger


register(cli)  # commands in their own modules, and every command's examples


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="publisher")


if __name__ == "__main__":  # pragma: no cover
    main()
