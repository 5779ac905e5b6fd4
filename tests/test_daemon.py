"""The real ``publisher run`` process: on time, live files, crashes, signals, lock, alerts.

Each test starts ``python -m publisher ... run`` against a local fake Graph API (in this
process, on 127.0.0.1) and an RSS feed file, and waits on what the outside world sees: the
fake's posts, the feed file, the ledger, the exit code.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from publisher.core.models import LedgerRow, State
from publisher.store.ledger import Ledger

try:
    from fakes.graph import FakeGraph
except ImportError:  # tests/ run as a package
    from tests.fakes.graph import FakeGraph

pytestmark = pytest.mark.e2e
ENV = "PUBLISHER_FACEBOOK_TOKEN"


# -- helpers (test_postgres.py uses them too) ---------------------------------------------------


def toml_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_post(posts: Path, name: str, title: str, at: datetime, *, channels: list[str] | None = None,
               extra: str = "", body: str = "") -> Path:  # fmt: skip
    """A post file, written atomically (a half-written file is not what these tests are about)."""
    lines = ["+++", f'title = "{title}"', f"publish_at = {toml_time(at)}"]
    if channels is not None:
        lines.append(f"channels = {json.dumps(channels)}")
    text = "\n".join(lines) + "\n" + extra + "+++\n" + (body or f"About {title}.") + "\n"
    path = posts / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_config(
    folder: Path,
    graph: FakeGraph | None = None,
    *,
    state: str = "state/ledger.db",
    tick: str = "1s",
    lease: str = "5m",
    rss: bool = True,
    notify_env: str | None = None,
    extra: str = "",
) -> Path:
    parts = [
        "[publisher]",
        'timezone = "Europe/Berlin"',
        'posts_dir = "posts"',
        f'state = "{state}"',
        'languages = ["en"]',
        f'tick = "{tick}"',
        f'lease = "{lease}"',
        'retry_backoff = "1s"',
        extra,
    ]
    if graph is not None:
        parts += [
            "[channels.facebook]",
            'type = "facebook"',
            f'page_id = "{graph.page_id}"',
            f'token_env = "{ENV}"',
            f'api_url = "{graph.url}"',
        ]
    if rss:
        parts += [
            "[channels.rss]",
            'type = "rss"',
            'path = "public/feed.xml"',
            'title = "S3Chem news"',
            'link = "https://example.org/s3chem"',
            'feed_url = "https://example.org/s3chem/feed.xml"',
        ]
    if notify_env:
        parts += ["[notify]", f'urls_env = ["{notify_env}"]']
    (folder / "posts").mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


def wait_until(check: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll an outside observable (the fake, a file, the ledger) until it holds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or check}")
        time.sleep(0.01)


class Proc:
    """One ``publisher`` process with its output in a file (a pipe could fill up and block)."""

    count = 0

    def __init__(self, config: Path, *args: str, env: dict[str, str] | None = None,
                 log_format: str = "text") -> None:  # fmt: skip
        Proc.count += 1
        self.out = config.parent / f"run-{Proc.count}.log"
        self.handle = self.out.open("w+", encoding="utf-8")
        command = [sys.executable, "-m", "publisher", "--config", str(config),
                   "--log-format", log_format, *args]  # fmt: skip
        self.proc = subprocess.Popen(command, stdout=self.handle, stderr=subprocess.STDOUT,
                                     env=env, cwd=config.parent)  # fmt: skip

    @property
    def output(self) -> str:
        return self.out.read_text(encoding="utf-8")

    def wait_for(self, text: str, timeout: float = 10.0) -> None:
        def seen() -> bool:
            if self.proc.poll() is not None and text not in self.output:
                raise AssertionError(
                    f"exited {self.proc.returncode} before {text!r}:\n{self.output}"
                )
            return text in self.output

        wait_until(seen, timeout, repr(text))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.handle.close()

    def wait(self, timeout: float = 10.0) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self.handle.close()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(5)
        self.handle.close()


def daemon(config: Path, env: dict[str, str], log_format: str = "text") -> Proc:
    proc = Proc(config, "run", env=env, log_format=log_format)
    proc.wait_for("publisher run:")
    return proc


def rows(config: Path, state: str | None = None) -> dict[str, LedgerRow]:
    url = state or f"sqlite:///{config.parent / 'state' / 'ledger.db'}"
    ledger = Ledger.open(url)
    try:
        return {r.id: r for r in ledger.rows()}
    finally:
        ledger.close()


def state_of(config: Path, delivery_id: str) -> State | None:
    row = rows(config).get(delivery_id)
    return row.state if row else None


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with FakeGraph() as fake:
        yield fake


@pytest.fixture
def env(graph: FakeGraph) -> dict[str, str]:
    return {**os.environ, ENV: graph.token, "PYTHONUNBUFFERED": "1"}


def hold_posts(graph: FakeGraph) -> threading.Event:
    """Make the fake keep every POST open until the returned event is set."""
    gate = threading.Event()
    base = graph._server.RequestHandlerClass  # type: ignore[union-attr]

    class Held(base):  # type: ignore[misc, valid-type]
        def do_POST(self) -> None:
            held.append(self.path)
            gate.wait(30)
            super().do_POST()

    held: list[str] = []
    graph._server.RequestHandlerClass = Held  # type: ignore[union-attr]
    gate.held = held  # type: ignore[attr-defined]
    return gate


# -- on time ------------------------------------------------------------------------------------


def test_a_post_due_in_seconds_goes_out_on_time_with_json_log_lines(tmp_path, graph, env):
    config = write_config(tmp_path, graph)
    due = datetime.now(UTC) + timedelta(seconds=3)
    write_post(tmp_path / "posts", "soon.md", "Partners meet in Magdeburg", due)
    proc = daemon(config, env, log_format="json")
    feed = tmp_path / "public" / "feed.xml"

    def in_feed() -> datetime | None:
        if feed.exists() and "Partners meet in Magdeburg" in feed.read_text(encoding="utf-8"):
            return datetime.now(UTC)
        return None

    seen_in_feed = wait_until(in_feed, 8, "the item in the feed")
    [post] = wait_until(lambda: graph.posts, 5, "the Facebook post")
    assert proc.stop() == 0

    fb_late = (post["created"] - due).total_seconds()
    rss_late = (seen_in_feed - due).total_seconds()
    print(f"\non-time latency: facebook {fb_late * 1000:.0f} ms, rss {rss_late * 1000:.0f} ms")
    assert 0 <= fb_late < 2.0, "the post must go out at its time, not before and not late"
    assert rss_late < 2.0
    lines = [json.loads(line) for line in proc.output.splitlines() if line.startswith("{")]
    sent = [x for x in lines if x.get("state") == "sent"]
    assert {(x["delivery"], x["channel"]) for x in sent} == {
        ("soon/en/facebook/post", "facebook"), ("soon/en/rss/post", "rss")
    }  # fmt: skip
    assert any(x.get("detail") == f"https://www.facebook.com/{post['id']}" for x in sent)
    assert graph.token not in proc.output
    assert graph.violations == []


# -- live post files ------------------------------------------------------------------------------


def test_files_added_changed_and_deleted_while_running_are_followed(tmp_path, graph, env):
    config = write_config(tmp_path, graph, rss=False)
    posts = tmp_path / "posts"
    later = datetime.now(UTC) + timedelta(minutes=5)
    write_post(posts, "doomed.md", "Doomed", later)
    write_post(posts, "moved.md", "Moved earlier", later)
    proc = daemon(config, env)

    due = datetime.now(UTC) + timedelta(seconds=2)
    write_post(posts, "added.md", "Added while running", due)
    write_post(posts, "moved.md", "Moved earlier", due)
    (posts / "doomed.md").unlink()
    (posts / "bad.md").write_text('+++\ntitle = "No time"\n+++\nText.\n', encoding="utf-8")

    wait_until(lambda: state_of(config, "doomed/en/facebook/post") is State.CANCELLED, 2.5,
               "the deleted file's delivery cancelled")  # fmt: skip
    wait_until(lambda: len(graph.posts) == 2, 6, "both posts")
    time.sleep(1.5)  # some more ticks and scans: the bad file must not be reported again
    assert proc.stop() == 0

    by_text = {p["message"].split("\n")[0]: p for p in graph.posts}
    assert set(by_text) == {"Added while running", "Moved earlier"}
    for post in graph.posts:
        assert 0 <= (post["created"] - due).total_seconds() < 2.0
    assert proc.output.count("bad.md") == 1, proc.output
    assert "publish_at is missing" in proc.output
    assert "state=cancelled" in proc.output


# -- crashes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("created", [True, False], ids=["after-create", "before-create"])
def test_kill_9_in_the_middle_of_a_send_then_restart_sends_exactly_once(
    tmp_path, graph, env, created
):
    config = write_config(tmp_path, graph, rss=False)
    write_post(
        tmp_path / "posts", "crash.md", "Crash test", datetime.now(UTC) - timedelta(seconds=1)
    )
    graph.hang_next(seconds=20, create=created)
    first = daemon(config, env)
    wait_until(lambda: any(r.method == "POST" for r in graph.requests), 5, "the POST")
    if created:
        wait_until(lambda: graph.posts, 2)
    first.kill()
    assert state_of(config, "crash/en/facebook/post") is State.SENDING

    second = daemon(config, env)
    wait_until(lambda: state_of(config, "crash/en/facebook/post") is State.SENT, 6, "sent")
    assert second.stop() == 0

    [post] = graph.posts
    row = rows(config)["crash/en/facebook/post"]
    assert row.remote_id == post["id"]
    assert "state=uncertain" in second.output  # taken over at start, then looked for
    assert graph.token not in first.output + second.output


# -- signals and the lock -------------------------------------------------------------------------


def test_sigterm_during_a_send_lets_it_finish_records_it_and_exits_0(tmp_path, graph, env):
    config = write_config(tmp_path, graph, rss=False)
    write_post(tmp_path / "posts", "slow.md", "Slow send", datetime.now(UTC) - timedelta(seconds=1))
    gate = hold_posts(graph)
    proc = daemon(config, env)
    wait_until(lambda: gate.held, 5, "the POST to arrive")  # type: ignore[attr-defined]

    proc.proc.send_signal(signal.SIGTERM)
    proc.wait_for("SIGTERM: stopping")
    assert proc.proc.poll() is None, "it must wait for the send in flight"
    gate.set()

    assert proc.wait() == 0
    [post] = graph.posts
    row = rows(config)["slow/en/facebook/post"]
    assert (row.state, row.remote_id) == (State.SENT, post["id"])


def test_a_second_sigterm_exits_at_once_and_the_next_start_settles_the_send(tmp_path, graph, env):
    config = write_config(tmp_path, graph, rss=False)
    write_post(
        tmp_path / "posts", "twice.md", "Two signals", datetime.now(UTC) - timedelta(seconds=1)
    )
    gate = hold_posts(graph)
    proc = daemon(config, env)
    wait_until(lambda: gate.held, 5, "the POST to arrive")  # type: ignore[attr-defined]
    proc.proc.send_signal(signal.SIGTERM)
    proc.wait_for("SIGTERM: stopping")
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 128 + signal.SIGTERM
    assert "SIGTERM again: exiting now" in proc.output
    gate.set()  # the request had left: Facebook creates the post after all
    wait_until(lambda: graph.posts, 5)

    again = daemon(config, env)
    wait_until(lambda: state_of(config, "twice/en/facebook/post") is State.SENT, 6, "sent")
    assert again.stop() == 0
    assert len(graph.posts) == 1


def test_a_second_run_on_the_same_sqlite_ledger_exits_2_with_a_clear_message(tmp_path, graph, env):
    config = write_config(tmp_path, graph)
    proc = daemon(config, env)
    for args in (["run"], ["run", "--once"]):
        again = subprocess.run([sys.executable, "-m", "publisher", "--config", str(config), *args],
                               capture_output=True, text=True, env=env, timeout=20)  # fmt: skip
        assert again.returncode == 2
        assert f"is in use by publisher run (pid {proc.proc.pid})" in again.stderr
        assert "only one `publisher run` may use an SQLite ledger" in again.stderr
    assert proc.stop() == 0


def test_dry_run_prints_the_schedule_without_network_or_ledger(tmp_path, graph, env):
    config = write_config(tmp_path, graph)
    write_post(tmp_path / "posts", "next.md", "Next week", datetime.now(UTC) + timedelta(days=7))
    write_post(tmp_path / "posts", "late.md", "Late", datetime.now(UTC) - timedelta(hours=1))
    done = subprocess.run([sys.executable, "-m", "publisher", "--config", str(config), "run",
                           "--dry-run"], capture_output=True, text=True, env=env, timeout=20)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "would send now: late/en/facebook/post" in done.stdout
    assert "next/en/rss/post" in done.stdout
    assert not (tmp_path / "state").exists()
    assert graph.requests == []


# -- notifications ----------------------------------------------------------------------------------


class Sink(ThreadingHTTPServer):
    """A local HTTP endpoint that keeps what Apprise's json:// posts to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.received.append({"path": self.path, **json.loads(body)})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()


def test_a_failed_delivery_is_notified_exactly_once_across_restarts(tmp_path, graph, env):
    try:
        import apprise  # noqa: F401
    except ImportError:
        if os.environ.get("PUBLISHER_CI") == "1":
            pytest.fail("Apprise (the notify extra) must be installed when PUBLISHER_CI=1")
        pytest.skip("the notify extra (Apprise) is not installed")
    sink = Sink()
    try:
        env["PUBLISHER_NOTIFY_URL"] = f"json://127.0.0.1:{sink.server_address[1]}/alerts"
        config = write_config(tmp_path, graph, rss=False, notify_env="PUBLISHER_NOTIFY_URL")
        write_post(tmp_path / "posts", "refused.md", "Refused", datetime.now(UTC))
        graph.fail_next(368)
        proc = daemon(config, env)
        wait_until(lambda: sink.received, 8, "the notification")
        time.sleep(1.2)  # another tick
        assert proc.stop() == 0
        again = subprocess.run([sys.executable, "-m", "publisher", "--config", str(config), "run",
                                "--once"], capture_output=True, text=True, env=env, timeout=20)  # fmt: skip
        assert again.returncode == 0, again.stderr
    finally:
        sink.shutdown()
        sink.server_close()

    [alert] = sink.received
    assert alert["path"] == "/alerts"
    assert alert["title"] == "publisher: delivery failed: refused/en/facebook/post"
    assert "temporarily blocked" in alert["message"]
    assert "publisher retry refused/en/facebook/post" in alert["message"]
    assert graph.token not in json.dumps(alert)
    assert state_of(config, "refused/en/facebook/post") is State.FAILED
