"""The real ``publisher run`` process: on time, live files, crashes, signals, lock, alerts.

Each test starts ``python -m publisher ... run`` against a local fake Graph API (in this
process, on 127.0.0.1) and an RSS feed file, and waits on what the outside world sees: the
fake's posts, the feed file, the ledger, the exit code.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from publisher.core.models import State

try:
    from support.processes import (
        daemon,
        rows,
        state_of,
        wait_until,
        write_config,
        write_post,
    )
except ImportError:  # tests/ run as a package
    from tests.support.processes import (
        daemon,
        rows,
        state_of,
        wait_until,
        write_config,
        write_post,
    )

pytestmark = pytest.mark.e2e


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
    proc = daemon(config, env, debug=True)

    due = datetime.now(UTC) + timedelta(seconds=2)
    write_post(posts, "added.md", "Added while running", due)
    write_post(posts, "moved.md", "Moved earlier", due)
    (posts / "doomed.md").unlink()
    (posts / "bad.md").write_text('+++\ntitle = "No time"\n+++\nText.\n', encoding="utf-8")

    wait_until(lambda: state_of(config, "doomed/en/facebook/post") is State.CANCELLED, 2.5,
               "the deleted file's delivery cancelled")  # fmt: skip
    wait_until(lambda: len(graph.posts) == 2, 6, "both posts")
    proc.wait_for_more("safety tick", 2)  # more ticks and scans: the bad file is not re-reported
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
    graph.hang_next(seconds=20, create=created, method="POST")
    first = daemon(config, env)
    wait_until(lambda: any(r.method == "POST" for r in graph.requests), 5, "the POST")
    if created:
        wait_until(lambda: graph.posts, 2)
    first.kill()
    assert state_of(config, "crash/en/facebook/post") is State.SENDING

    second = daemon(config, env)
    if not created:  # not on the Page: re-sent only after a read 60 s after the attempt
        second.wait_for("not found yet; looking again after")
        assert state_of(config, "crash/en/facebook/post") is State.UNCERTAIN
        assert second.stop() == 0 and graph.posts == []
        assert graph.token not in first.output + second.output
        return
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
    gate = graph.hold_posts()
    proc = daemon(config, env)
    wait_until(lambda: graph.held, 5, "the POST to arrive")

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
    gate = graph.hold_posts()
    proc = daemon(config, env)
    wait_until(lambda: graph.held, 5, "the POST to arrive")
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
        graph.fail_next(100, method="POST")
        proc = daemon(config, env, debug=True)
        wait_until(lambda: sink.received, 8, "the notification")
        proc.wait_for_more("safety tick")  # another tick: no second alert
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
    assert "Invalid parameter" in alert["message"]
    assert "publisher retry refused/en/facebook/post" in alert["message"]
    assert graph.token not in json.dumps(alert)
    assert state_of(config, "refused/en/facebook/post") is State.FAILED


def test_the_daemon_corrects_a_live_post_and_its_feed_item_when_the_file_changes(
    tmp_path, graph, env
):
    config = write_config(tmp_path, graph)
    config.write_text(config.read_text().replace(
        '[channels.rss]', "update_published = true\n[channels.rss]"), encoding="utf-8")  # fmt: skip
    posts = tmp_path / "posts"
    write_post(posts, "news.md", "News", datetime.now(UTC) - timedelta(minutes=1),
               body="Partners meet in Lyon.")  # fmt: skip
    write_post(posts, "later.md", "Later", datetime.now(UTC) + timedelta(days=1))
    proc = daemon(config, env)
    assert re.search(r"next delivery due \d{4}-\d\d-\d\d \d\d:\d\d CES?T", proc.output)
    wait_until(lambda: len(graph.posts) == 1 and state_of(config, "news/en/rss/post")
               is State.SENT, 6, "the post sent")  # fmt: skip
    write_post(posts, "news.md", "News", datetime.now(UTC) - timedelta(minutes=1),
               body="Partners met in Lyon.")  # fmt: skip
    wait_until(lambda: "Partners met" in graph.posts[0]["message"], 6, "the live post edited")
    feed = tmp_path / "public" / "feed.xml"
    wait_until(lambda: "Partners met" in feed.read_text(encoding="utf-8"), 6, "the item updated")
    assert proc.stop() == 0
    assert len(graph.posts) == 1 and graph.posts[0]["edits"] == 1
    assert not any(r.changed for r in rows(config).values())
