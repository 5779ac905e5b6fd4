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
from publisher.app.cli_help import FROM_HELP, UNTIL_HELP, register
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
            from publisher.core.secrets import scrub

            error(f"unexpected {type(exc).__name__}: {scrub(str(exc))}",
                  "run again with --debug for a traceback, and report it")  # fmt: skip
            finish(ExitStatus.BAD_INPUT)


@click.group(cls=PublisherGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_file", metavar="FILE",
              help="Config file (default: $PUBLISHER_CONFIG, else ./config.toml).")  # fmt: skip
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
    """Publish post files and event reminders to Facebook, LinkedIn and RSS: on time, once."""
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


@cli.command()
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
            for line in queue_file(path, config, opts.now()):
                click.echo(line)
        except PublisherError as exc:
            error(exc.message, exc.hint)
            status = ExitStatus.BAD_INPUT
    finish(status)


@cli.command()
@click.option("--from", "start", metavar="T", help=FROM_HELP)
@click.option("--until", metavar="T", help=UNTIL_HELP)
@click.option("--channel", "channel_name", metavar="NAME", help="Only this channel.")
@click.option("--post", "post_id", metavar="ID", help="Only this post id.")
@click.option("--format", "fmt", type=click.Choice(["text", "list", "json", "html"]),
              default="text", show_default=True, help="text: each delivery with its exact "
              "payload; list: one line per delivery; json: for scripts; html: the preview page, "
              "every post as its audience will see it.")  # fmt: skip
@click.option("-o", "output", metavar="FILE", type=click.Path(path_type=Path),
              help="Write to FILE instead of the terminal.")  # fmt: skip
@click.option("--open", "open_page", is_flag=True, help="html: open the page in the browser.")
@click.pass_obj
def preview(opts: Options, start: str | None, until: str | None, channel_name: str | None,
            post_id: str | None, fmt: str, output: Path | None, open_page: bool) -> None:  # fmt: skip
    """Dry run: what each channel will get, when. No network, no ledger changes."""
    from publisher.app.preview import as_list, as_text, entries
    from publisher.channels import build_channels
    from publisher.core.plan import plan
    from publisher.core.times import option_time

    if open_page and fmt != "html":
        raise UsageError("--open opens the page of --format html", "add --format html")
    config = load(opts)
    if channel_name and channel_name not in config.channels:
        raise UsageError(f"--channel {channel_name!r} is not configured",
                         f"channels: {', '.join(config.channels)}")  # fmt: skip
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
    chosen = [d for d in result.deliveries
              if (channel_name is None or d.channel == channel_name)
              and (post_id is None or d.post.id == post_id)]  # fmt: skip
    recorded = {}
    if config.state_is_url or Path(config.state).exists():
        from publisher.store.ledger import Ledger

        ledger = Ledger.open_read_only(config.state_url)
        recorded = {r.id: r for r in ledger.rows(ids=[d.id for d in chosen])} if ledger else {}
    channels = build_channels(config)
    items = entries(chosen, channels, config, now, recorded,
                    start=window_start, until=window_end, plan_warnings=result.warnings,
                    keep_overdue=start is None)  # fmt: skip
    if fmt == "html":
        from publisher.app.cli_page import write_page

        write_page(items, channels, config, now, (window_start, window_end), output, open_page)
        finish(ExitStatus.BAD_INPUT if read.errors else ExitStatus.OK)
    if fmt == "json":
        import json

        text = json.dumps([i.as_json() for i in items], ensure_ascii=False, indent=2)
    elif fmt == "list":
        text = as_list(items)
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
        click.echo(f"pending again: {delivery_id} (it goes out on the next run)")
    if all_failed and not done:
        click.echo("nothing to retry: no delivery is failed")
    missing = sorted(set(ids) - set(done))
    for delivery_id in missing:
        from publisher.core.results import retry_refusal

        row = ledger.get(delivery_id)
        error(*retry_refusal(delivery_id, row.state.value if row else None))
    finish(ExitStatus.BAD_INPUT if missing else ExitStatus.OK)


@cli.command()
@click.argument("delivery_id", metavar="ID")
@click.option("--sent", "sent_url", metavar="URL", help="It was published, here.")
@click.option("--not-sent", is_flag=True, help="It was not published; send it again.")
@click.pass_obj
def resolve(opts: Options, delivery_id: str, sent_url: str | None, not_sent: bool) -> None:
    """Settle an uncertain delivery by hand (look on the Page first)."""
    if bool(sent_url) == not_sent:
        raise UsageError("give exactly one of --sent URL or --not-sent",
                         "--sent URL if it is on the Page, --not-sent to send it again")  # fmt: skip
    from publisher.core.printable import printable, web_url

    if sent_url is not None and not web_url(sent_url):
        raise UsageError(f"--sent {printable(sent_url)!r} is not an http(s) URL",
                         "give the post's address, e.g. https://www.facebook.com/123_456")  # fmt: skip
    ledger = need_ledger(load(opts))
    from publisher.core.results import resolved

    done = ledger.resolve(delivery_id, opts.now(), sent_url=sent_url)
    click.echo(resolved(delivery_id, done, sent_url, None if done else ledger.get(delivery_id)))
    finish(ExitStatus.OK)


register(cli)  # commands in their own modules, and every command's examples


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="publisher")


if __name__ == "__main__":  # pragma: no cover
    main()
