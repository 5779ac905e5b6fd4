"""In-process measurements, each run in a fresh interpreter by ``bench.run``.

``python -m bench.tasks NAME ARGS_JSON OUT_JSON``: a fresh process per measurement keeps
caches, imports and peak memory of one measurement out of the next.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _quiet_cli(config: str, *args: str) -> int:
    """The real CLI entry point, in this process, with its output thrown away."""
    from publisher.app.cli import cli

    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            cli.main(["--config", config, *args], prog_name="publisher", standalone_mode=False)
        except SystemExit as exc:
            return int(exc.code or 0)
    return 0


def _warm_imports(config_path: str) -> None:
    """Load what a running daemon has loaded, so timings are of work, not of imports."""
    import publisher.app.cli  # noqa: F401
    import publisher.app.preview  # noqa: F401
    import publisher.channels.facebook  # noqa: F401
    import publisher.channels.linkedin  # noqa: F401
    import publisher.channels.rss  # noqa: F401
    import publisher.core.reminders  # noqa: F401
    import publisher.store.ledger  # noqa: F401
    from publisher.core.render import feed_html, markdown_text

    feed_html("*warm*", "https://example.org/")
    markdown_text("*warm*", "https://example.org/")
    import babel.dates  # noqa: F401


# -- 1 / 3: check in-process ----------------------------------------------------------------
def check(args: dict[str, Any]) -> dict[str, Any]:
    """``check`` through the CLI entry point in this process, imports already warm."""
    _warm_imports(args["config"])
    times = []
    for _ in range(args.get("runs", 1)):
        start = time.perf_counter()
        status = _quiet_cli(args["config"], "check")
        times.append(time.perf_counter() - start)
    return {"seconds": times, "status": status}


# -- 3: one daemon tick ---------------------------------------------------------------------
def _settle_past(ledger: Any, now: datetime) -> int:
    """Mark everything due before ``now`` as sent: years of posts that went out long ago."""
    import sqlalchemy as sa

    from publisher.store.ledger import deliveries as t

    with ledger.engine.begin() as conn:
        result = conn.execute(
            t.update().where(t.c.due_at < now).values(
                state="sent", sent_at=t.c.due_at, sent_hash=t.c.content_hash, attempts=1,
                remote_id="bench", remote_url="https://example.org/bench")
        )  # fmt: skip
        # Sent feed items carry their payload, as after a real send (feeds are rebuilt from it).
        conn.execute(sa.text(
            "UPDATE deliveries SET payload = json_object('guid', id, 'title', post, 'link', "
            "'https://example.org/' || post, 'description', 'bench', 'content_html', "
            "'<p>bench</p>', 'pub_date', 'Mon, 01 Jan 2024 09:00:00 +0000', 'categories', "
            "json_array()) WHERE state = 'sent' AND channel LIKE 'rss-%'"
        ))  # fmt: skip
        return int(result.rowcount)


def _daemon_tick(config: Any, ledger: Any, runner: Any, now: datetime) -> Any:
    """The daemon's tick as the code base has it; returns (how, tick, edit) callables."""
    from concurrent.futures import ThreadPoolExecutor

    from publisher.app.daemon import Daemon
    from publisher.core.watch import PostWatcher

    watcher = PostWatcher(config)
    daemon = Daemon(config, ledger, runner, watcher, clock=lambda: now)
    watcher.scan()  # what Daemon.start() does, without starting threads or APScheduler
    runner.sync(watcher.result())

    due_channels = getattr(daemon, "due_channels", lambda: list(daemon.workers))

    def tick() -> dict[str, float]:
        """The tick: the safety stat scan (nothing changed: no sync), the one query for the
        channels with work, and those channels' rounds (none when idle)."""
        start = time.perf_counter()
        changed = daemon.scan()
        scanned = time.perf_counter()
        names = due_channels()
        asked = time.perf_counter()
        if names:
            with ThreadPoolExecutor(len(names)) as pool:  # the workers run concurrently
                list(pool.map(lambda name: daemon.round(name, True), names))
        assert not changed, "the files changed between ticks"
        return {"scan": scanned - start, "query": asked - scanned,
                "rounds": time.perf_counter() - asked, "channels served": len(names)}  # fmt: skip

    def old_tick() -> float:
        """Round 1's tick for reference: every channel's round, whether it has work or not."""
        start = time.perf_counter()
        with ThreadPoolExecutor(len(daemon.workers)) as pool:
            list(pool.map(lambda name: daemon.round(name, True), daemon.workers))
        return time.perf_counter() - start

    tick.old = old_tick  # type: ignore[attr-defined]

    def edit(path: Path) -> float:
        """One post file edited: the scan that notices it and syncs the ledger."""
        original = path.read_bytes()
        path.write_bytes(original.replace(b"\n+++\n", b"\n+++\nEdited. ", 1))
        try:
            start = time.perf_counter()
            assert daemon.scan(), "the edit was not seen"
            return time.perf_counter() - start
        finally:
            path.write_bytes(original)
            daemon.scan()

    return "Daemon.scan() + due_channels() + Daemon.round() per due channel", tick, edit


def _run_once_tick(config: Any, ledger: Any, runner: Any, now: datetime) -> Any:
    """Before publisher.app.daemon existed: a tick was a full ``run --once`` pass."""
    from publisher.core.posts import read_posts

    def tick() -> dict[str, float]:
        runner.run_once(read_posts(config))
        return {}

    return "Runner.run_once(read_posts()) (no publisher.app.daemon)", tick, None


def tick(args: dict[str, Any]) -> dict[str, Any]:
    """Ticks of a warm daemon over unchanged files, nothing due; then a full check, same process."""
    from publisher.app.runner import Runner
    from publisher.channels import build_channels
    from publisher.core.config import load_config
    from publisher.core.posts import read_posts
    from publisher.store.ledger import Ledger

    _warm_imports(args["config"])
    path = Path(args["config"])
    daemon_config = path.with_name("config-daemon.toml")  # its own ledger: preview sees none
    daemon_config.write_text(path.read_text().replace("state/publisher.db", "state/daemon.db"))
    config = load_config(daemon_config)
    now = datetime.fromisoformat(args["now"]).astimezone(UTC)
    environ = {c.token_env: "bench-token" for c in config.channels.values() if c.token_env}
    fresh = not Path(config.state).exists()
    setup = time.perf_counter()
    ledger = Ledger.open(config.state_url, worker="bench")
    runner = Runner(config, ledger, build_channels(config), lambda: now, environ=environ)
    if fresh:
        runner.sync(read_posts(config))
    settled = _settle_past(ledger, now) if fresh else None
    try:
        how, run_tick, edit = _daemon_tick(config, ledger, runner, now)
    except ImportError:
        how, run_tick, edit = _run_once_tick(config, ledger, runner, now)
    setup = time.perf_counter() - setup
    run_tick()  # the first tick after start-up
    times, parts = [], []
    for _ in range(args["ticks"]):
        start = time.perf_counter()
        part = run_tick()
        times.append(time.perf_counter() - start)
        parts.append(part)
    old = [run_tick.old() for _ in range(args["ticks"])] if hasattr(run_tick, "old") else []
    edits = []
    if edit is not None:
        future = sorted(config.posts_dir.glob("2029/06/*.en.md"))
        edits = [edit(future[0])] if future else []
    checks = []
    os.environ["PUBLISHER_NO_CACHE"] = "1"  # the baseline is a cold check, as in round 1
    for _ in range(args.get("checks", 1)):
        start = time.perf_counter()
        _quiet_cli(args["config"], "check")
        checks.append(time.perf_counter() - start)
    breakdown = {k: statistics.median(p[k] for p in parts) for k in (parts[0] if parts else {})}
    return {"how": how, "tick": times, "check": checks, "parts": breakdown, "edit": edits,
            "setup": setup, "settled": settled, "old_tick": old}  # fmt: skip


# -- 6: RSS writer vs feedgen ---------------------------------------------------------------
def _rss_items(config_path: str, count: int) -> tuple[Any, list[dict[str, Any]]]:
    from publisher.channels import build_channels
    from publisher.core.config import load_config
    from publisher.core.plan import plan
    from publisher.core.posts import read_posts

    config = load_config(Path(config_path))
    channels = build_channels(config)
    rss = [n for n, c in config.channels.items() if c.type == "rss"]
    found = [d for d in plan(read_posts(config).posts, config).deliveries if d.channel in rss]
    payloads = [dict(channels[d.channel].render(d).payload) for d in found if d.kind == "post"]
    from email.utils import format_datetime

    items = []
    for index in range(count):
        item = dict(payloads[index % len(payloads)])
        item["guid"] = f"{item['guid']}#{index}"
        stamp = datetime(2030, 1, 1, tzinfo=UTC).timestamp() - index * 3600
        item["pub_date"] = format_datetime(datetime.fromtimestamp(stamp, UTC))
        items.append(item)
    return config, items


def _feedgen_write(items: list[dict[str, Any]], dates: list[datetime], path: Path) -> None:
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.title("S3Chem (en)")
    fg.link(href="https://www.interregeurope.eu/s3chem", rel="alternate")
    fg.link(href="https://www.interregeurope.eu/s3chem/feed.en.xml", rel="self")
    fg.description("S3Chem (en)")
    fg.language("en")
    fg.generator("publisher")
    for item, when in zip(items, dates, strict=True):
        fe = fg.add_entry(order="append")
        fe.title(item["title"])
        fe.link(href=item["link"])
        fe.guid(item["guid"], permalink=False)
        fe.pubDate(when)
        for tag in item["categories"]:
            fe.category(term=tag)
        fe.description(item["description"])
        fe.content(item["content_html"], type="CDATA")
        enclosure = item.get("enclosure")
        if enclosure:
            fe.enclosure(enclosure["url"], str(enclosure["length"]), enclosure["type"])
    fg.rss_file(str(path))


def rss(args: dict[str, Any]) -> dict[str, Any]:
    """Write one feed of ``items`` items with the RSS channel and with feedgen, alternately."""
    from email.utils import parsedate_to_datetime

    from publisher.channels.rss import RssChannel
    from publisher.core.config import ChannelConfig

    config, items = _rss_items(args["config"], args["items"])
    out = Path(args["out"])
    out.mkdir(parents=True, exist_ok=True)
    base = config.channels["rss-en"]
    options = {**base.options, "max_items": len(items), "path": str(out / "ours.xml")}
    cfg = ChannelConfig(**{**base.__dict__, "options": options})
    channel = RssChannel(cfg, config, None)  # type: ignore[arg-type]
    dates = [parsedate_to_datetime(i["pub_date"]) for i in items]
    ours, theirs = [], []
    for _ in range(args["runs"]):
        (out / "ours.xml").unlink(missing_ok=True)
        start = time.perf_counter()
        channel.rebuild(items)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        _feedgen_write(items, dates, out / "feedgen.xml")
        theirs.append(time.perf_counter() - start)
    return {"ours": ours, "feedgen": theirs, "items": len(items),
            "bytes": {"ours": (out / "ours.xml").stat().st_size,
                      "feedgen": (out / "feedgen.xml").stat().st_size}}  # fmt: skip


# -- 7: sending -----------------------------------------------------------------------------
def send(args: dict[str, Any]) -> dict[str, Any]:
    """Publish ``deliveries`` due posts to Facebook fakes answering after ``latency`` s."""
    from bench.corpus import make_send_corpus

    fake = subprocess.Popen(
        [sys.executable, "-m", "bench.fakegraph", str(args["latency"])],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert fake.stdout is not None and fake.stdin is not None
        info = json.loads(fake.stdout.readline())
        result = _send(args, info, make_send_corpus)
        fake.stdin.close()
        result["fake"] = {**json.loads(fake.stdout.readline()), "impl": info["impl"]}
    finally:
        if fake.poll() is None:
            fake.kill()
        fake.wait()
    return result


def _send(args: dict[str, Any], info: dict[str, str], make: Callable[..., Path]) -> dict[str, Any]:
    from publisher.app.runner import Runner, RunReport
    from publisher.channels import build_channels
    from publisher.core.config import load_config
    from publisher.core.posts import read_posts
    from publisher.store.ledger import Ledger

    now = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    caps = {int(k): v for k, v in args["caps"].items()}
    config_path = make(
        Path(args["root"]), deliveries=args["deliveries"], channels=args["channels"],
        api_url=info["url"], due=now, caps=caps, token=info["token"], page_id=info["page_id"],
    )  # fmt: skip
    os.environ["BENCH_SEND_TOKEN"] = info["token"]
    config = load_config(config_path)
    ledger = Ledger.open(config.state_url, worker="bench")
    runner = Runner(config, ledger, build_channels(config), lambda: now)
    report = RunReport()
    runner.sync(read_posts(config), report)
    cpu, start = _cpu(), time.perf_counter()
    runner.send_due(report)
    elapsed, cpu = time.perf_counter() - start, _cpu() - cpu
    per_channel: dict[str, int] = {}
    states: dict[str, int] = {}
    for outcome in report.outcomes:
        states[outcome.state.value] = states.get(outcome.state.value, 0) + 1
        if outcome.state.value == "sent":
            per_channel[outcome.channel] = per_channel.get(outcome.channel, 0) + 1
    return {"seconds": elapsed, "cpu": cpu, "states": states, "per_channel": per_channel,
            "caps": {f"page-{k}": v for k, v in caps.items()}}  # fmt: skip


def idle_ledger(args: dict[str, Any]) -> dict[str, Any]:
    """8: a ledger where everything due before now (plus a minute) went out: nothing is due."""
    from datetime import timedelta

    from publisher.app.runner import Runner
    from publisher.channels import build_channels
    from publisher.core.config import load_config
    from publisher.core.posts import read_posts
    from publisher.store.ledger import Ledger

    config = load_config(Path(args["config"]))
    Path(config.state).unlink(missing_ok=True)
    now = datetime.now(UTC)
    ledger = Ledger.open(config.state_url, worker="bench")
    runner = Runner(config, ledger, build_channels(config), lambda: now)
    runner.sync(read_posts(config))
    settled = _settle_past(ledger, now + timedelta(minutes=1))
    ledger.close()
    return {"settled": settled}


TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "check": check,
    "idle_ledger": idle_ledger,
    "tick": tick,
    "rss": rss,
    "send": send,
}


def main() -> None:
    name, raw, out = sys.argv[1], sys.argv[2], sys.argv[3]
    import publisher

    result = TASKS[name](json.loads(raw))
    result["publisher"] = str(Path(publisher.__file__).parent)
    result["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    Path(out).write_text(json.dumps(result, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
