"""The command line: the one place where errors become messages and exit codes.

Heavy libraries (SQLAlchemy, requests, Babel, markdown) are imported inside the commands
that need them, so ``publisher --help`` starts fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from publisher import __version__
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
    click.echo(f"publisher: error: {message}", err=True)
    if hint:
        click.echo(f"  hint: {hint}", err=True)


def warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def finish(status: int) -> NoReturn:
    raise click.exceptions.Exit(int(status))


class PublisherGroup(click.Group):
    """Turns ``PublisherError`` into ``publisher: error: ...`` and its exit status."""

    context_class = FastContext

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

                error(f"the ledger cannot be used: {safe_db_error(exc)}",
                      "check [publisher].state and the database; a damaged SQLite file can be "
                      "moved aside (a new ledger may re-send what the old one recorded)")  # fmt: skip
                finish(ExitStatus.BAD_INPUT)
            from publisher.channels.base import scrub

            error(f"unexpected {type(exc).__name__}: {scrub(str(exc))}",
                  "run again with --debug for a traceback, and report it")  # fmt: skip
            finish(ExitStatus.BAD_INPUT)


@click.group(cls=PublisherGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_file", metavar="FILE",
              help="Config file (default: $PUBLISHER_CONFIG, else ./config.toml).")  # fmt: skip
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=lambda ctx, _, on: show_version(ctx, on, __version__), help="Show the version and exit.")  # fmt: skip
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, debug: bool, log_format: str) -> None:
    """Publish post files and event reminders to Facebook, LinkedIn and RSS: on time, once."""
    if not isinstance(ctx.obj, Options):
        ctx.obj = Options(config_file, debug, log_format)
    else:
        ctx.obj.config, ctx.obj.debug, ctx.obj.log_format = config_file, debug, log_format
    from publisher.core import logs

    logs.setup(log_format, debug)


def load(opts: Options) -> Config:
    from publisher.core.config import config_path, load_config

    return load_config(config_path(opts.config))


def read_all(config: Config) -> ReadResult:
    from publisher.core.posts import read_posts

    return read_posts(config)


def report_post_errors(errors: list[PostError]) -> None:
    for exc in errors:
        error(exc.message, exc.hint)


def token_warnings(config: Config) -> None:
    import os

    for cfg in config.channels.values():
        if cfg.token_env and not os.environ.get(cfg.token_env):
            warn(f"channel {cfg.name!r}: {cfg.token_env} is not set (needed to publish there)")


@cli.command()
@click.option("--online", is_flag=True, help="Also check each token and Page access.")
@click.pass_obj
def check(opts: Options, online: bool) -> None:
    """Validate the config and every post file."""
    from publisher.channels import build_channels
    from publisher.core.checking import check_site

    config = load(opts)
    channels = build_channels(config)
    read, result = check_site(config, channels)
    report_post_errors(read.errors)
    for message in result.warnings:
        warn(message)
    too_long: set[str] = set()
    for source, message in result.too_long:
        error(f"{source}: {message}", "shorten the text or its override")
        too_long.add(source)
    status = ExitStatus.BAD_INPUT if read.errors or too_long else ExitStatus.OK
    if online:
        status = max(status, check_online(opts, config, channels))
    else:
        token_warnings(config)
    files = len(read.posts) + len(read.bad_paths)
    bad = len(read.bad_paths | {e.path for e in read.errors} | too_long)
    click.echo(f"{files} post files, {bad} with errors; "
               f"{result.deliveries} deliveries planned")  # fmt: skip
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


@cli.command()
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
            for line in queue_file(path, config):
                click.echo(line)
        except PublisherError as exc:
            error(exc.message, exc.hint)
            status = ExitStatus.BAD_INPUT
    finish(status)


@cli.command()
@click.option("--from", "start", metavar="T", help="Window start (default: now).")
@click.option("--until", metavar="T", help="Window end, exclusive (default: none).")
@click.option("--channel", "channel_name", metavar="NAME", help="Only this channel.")
@click.option("--post", "post_id", metavar="ID", help="Only this post id.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("-o", "output", type=click.Path(path_type=Path), help="Write to FILE.")
@click.pass_obj
def preview(opts: Options, start: str | None, until: str | None, channel_name: str | None,
            post_id: str | None, fmt: str, output: Path | None) -> None:  # fmt: skip
    """Dry run: what each channel will get, when. No network, no ledger changes."""
    from publisher.app.preview import as_text, entries
    from publisher.channels import build_channels
    from publisher.core.plan import plan
    from publisher.core.times import option_time

    config = load(opts)
    if channel_name and channel_name not in config.channels:
        raise UsageError(f"--channel {channel_name!r} is not configured",
                         f"channels: {', '.join(config.channels)}")  # fmt: skip
    now = opts.now()
    window_start = option_time(start, config.timezone, "--from") or now
    window_end = option_time(until, config.timezone, "--until")
    read = read_all(config)
    report_post_errors(read.errors)
    result = plan(read.posts, config, now)
    for message in result.warnings:
        warn(message)
    token_warnings(config)
    if window_end is not None and window_end <= window_start:
        raise UsageError("--until is not later than --from", "the window is [--from, --until)")
    if post_id is not None and not any(p.id == post_id for p in read.posts):
        warn(f"no post with id {post_id!r}")
    chosen = [d for d in result.deliveries
              if (channel_name is None or d.channel == channel_name)
              and (post_id is None or d.post.id == post_id)]  # fmt: skip
    recorded = {}
    if config.state_is_url or Path(config.state).exists():
        from publisher.store.ledger import Ledger

        ledger = Ledger.open_read_only(config.state_url)
        recorded = {r.id: r for r in ledger.rows(ids=[d.id for d in chosen])} if ledger else {}
    items = entries(chosen, build_channels(config), config, now, recorded,
                    start=window_start, until=window_end, plan_warnings=result.warnings,
                    keep_overdue=start is None)  # fmt: skip
    if fmt == "json":
        import json

        text = json.dumps([i.as_json() for i in items], ensure_ascii=False, indent=2)
    else:
        text = as_text(items)
    if output:
        try:
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"-o {output}: cannot write ({exc.strerror})",
                             "check that the folder exists and is writable") from None  # fmt: skip
    else:
        click.echo(text)
    finish(ExitStatus.BAD_INPUT if read.errors else ExitStatus.OK)


@cli.command()
@click.option("--once", is_flag=True, help="One pass, then exit (for cron).")
@click.option("--dry-run", is_flag=True, help="Print the schedule; no network, no ledger.")
@click.pass_obj
def run(opts: Options, once: bool, dry_run: bool) -> None:
    """Publish what is due: once (cron), or stay up and publish each delivery at its time."""
    config = load(opts)
    if dry_run:
        from publisher.app.once import dry_run as schedule

        lines, errors = schedule(config, opts.now())
        report_post_errors(errors)
        for line in lines:
            click.echo(line)
        finish(ExitStatus.BAD_INPUT if errors else ExitStatus.OK)
    if once:
        from publisher.app.once import run_once

        report = run_once(config, opts.now if opts.clock else None)
        report_post_errors(report.post_errors)
        for missing in report.token_errors.values():
            error(f"{missing.message}; its deliveries stay pending", missing.hint)
        finish(report.exit_status)
    from publisher.app.once import serve

    finish(serve(config))


def open_ledger(config: Config) -> Ledger | None:
    """The existing ledger for status/retry/resolve; these never create one."""
    if not config.state_is_url and not Path(config.state).exists():
        return None
    from publisher.store.ledger import Ledger

    return Ledger.open(config.state_url)


def need_ledger(config: Config) -> Ledger:
    ledger = open_ledger(config)
    if ledger is None:
        raise UsageError(f"there is no ledger yet at {config.state}",
                         "nothing was published yet; `publisher run` creates it")  # fmt: skip
    return ledger


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="A JSON array on stdout.")
@click.option("--all", "show_all", is_flag=True, help="Every delivery, not only recent ones.")
@click.pass_obj
def status(opts: Options, as_json: bool, show_all: bool) -> None:
    """The ledger: unsettled deliveries and those changed in the last 7 days."""
    from publisher.app.status import status_rows, status_text

    config = load(opts)
    ledger = open_ledger(config)
    rows = status_rows(ledger, opts.now(), show_all=show_all) if ledger else []
    if as_json:
        import json

        click.echo(json.dumps([r for r, _ in rows], ensure_ascii=False, indent=2))
    else:
        click.echo(status_text(rows, config))
    bad = any(r["state"] in ("failed", "uncertain") for r, _ in rows)
    finish(ExitStatus.DELIVERY_FAILED if bad else ExitStatus.OK)


@cli.command()
@click.argument("ids", nargs=-1)
@click.option("--failed", "all_failed", is_flag=True, help="Every failed delivery.")
@click.pass_obj
def retry(opts: Options, ids: tuple[str, ...], all_failed: bool) -> None:
    """Put failed deliveries back to pending (their catch-up clock restarts)."""
    if bool(ids) == all_failed:
        raise UsageError("give the ids of failed deliveries, or --failed for all of them",
                         "`publisher status` lists them")  # fmt: skip
    ledger = need_ledger(load(opts))
    done = ledger.retry(None if all_failed else list(ids), opts.now())
    for delivery_id in done:
        click.echo(f"pending again: {delivery_id}")
    missing = sorted(set(ids) - set(done))
    for delivery_id in missing:
        row = ledger.get(delivery_id)
        state = row.state.value if row else "not in the ledger"
        error(f"{delivery_id}: cannot retry ({state})", "only failed deliveries can be retried")
    finish(ExitStatus.BAD_INPUT if missing else ExitStatus.OK)


@cli.command()
@click.argument("delivery_id", metavar="ID")
@click.option("--sent", "sent_url", metavar="URL", help="It was published, here.")
@click.option("--not-sent", is_flag=True, help="It was not published; send it again.")
@click.pass_obj
def resolve(opts: Options, delivery_id: str, sent_url: str | None, not_sent: bool) -> None:
    """Settle an uncertain delivery by hand."""
    if bool(sent_url) == not_sent:
        raise UsageError("give exactly one of --sent URL or --not-sent",
                         "--sent URL if it is on the Page, --not-sent to send it again")  # fmt: skip
    ledger = need_ledger(load(opts))
    if not ledger.resolve(delivery_id, opts.now(), sent_url=sent_url):
        row = ledger.get(delivery_id)
        state = row.state.value if row else "not in the ledger"
        raise UsageError(f"{delivery_id}: cannot resolve ({state})",
                         "only uncertain deliveries can be resolved; see `publisher status`")  # fmt: skip
    click.echo(f"{delivery_id}: {'sent' if sent_url else 'pending'}")
    finish(ExitStatus.OK)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="publisher")


if __name__ == "__main__":  # pragma: no cover
    main()
    sys.exit(0)
