"""The daemon's parts in-process, with time passed in: wake-ups, file watching, retries,
downtime, caps, alerts, and 200 deliveries against a fake that fails at random."""

from __future__ import annotations

import json
import logging
import random
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from publisher.app.daemon import Daemon
from publisher.app.notify import Notifier
from publisher.app.runner import Runner
from publisher.channels import build_channels
from publisher.channels.base import Http
from publisher.core.config import Config
from publisher.core.models import UNSETTLED, Post, Receipt, State
from publisher.core.posts import read_post, read_posts
from publisher.core.watch import PostWatcher
from publisher.store.ledger import Ledger

try:
    from fakes.graph import FakeGraph, Script, error_body
    from support import Clock
    from support.in_process import ENV, T0, make_config, make_daemon, post_text
except ImportError:  # tests/ run as a package
    from tests.fakes.graph import FakeGraph, Script, error_body
    from tests.support import Clock
    from tests.support.in_process import ENV, T0, make_config, make_daemon, post_text


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraph]:
    with FakeGraph() as fake:
        monkeypatch.setenv(ENV, fake.token)
        yield fake


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """What the ``publisher`` logger says, as text."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            fields = getattr(record, "fields", None) or {}
            lines.append(" ".join([record.getMessage(), *(f"{k}={v}" for k, v in fields.items())]))

    logger = logging.getLogger("publisher")
    handler, level = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def due_job(daemon: Daemon, channel: str) -> Any:
    return daemon.scheduler.get_job(f"due:{channel}")


# -- watching post files ------------------------------------------------------------------------


def test_only_new_and_changed_post_files_are_parsed_again(tmp_path):
    config = make_config(tmp_path)
    posts = tmp_path / "posts"
    (posts / "media").mkdir()
    image = posts / "media" / "photo.png"
    image.write_bytes(b"\x89PNG one")
    for i in range(120):
        (posts / f"p{i:03}.md").write_text(post_text(f"Post {i}", T0), encoding="utf-8")
    (posts / "p000.md").write_text(post_text("Post 0", T0, 'image = "media/photo.png"\n'))
    parsed: list[str] = []

    def counting(path: Path, cfg: Config) -> Post:
        parsed.append(path.name)
        return read_post(path, cfg)

    watcher = PostWatcher(config, counting)
    first = watcher.scan()
    assert len(first.added) == 120 and len(parsed) == 120
    assert watcher.result() == read_posts(config)

    parsed.clear()
    assert not watcher.scan() and parsed == []

    (posts / "p007.md").write_text(post_text("Post 7, now longer", T0), encoding="utf-8")
    (posts / "p008.md").unlink()
    (posts / "new.md").write_text(post_text("New", T0), encoding="utf-8")
    image.write_bytes(b"\x89PNG two, a new photo")
    changes = watcher.scan()
    assert sorted(parsed) == ["new.md", "p000.md", "p007.md"]
    assert [p.name for p in changes.removed] == ["p008.md"]
    assert [p.name for p in changes.added] == ["new.md"]
    assert "Post 7, now longer" in {p.title for p in watcher.result().posts}


def test_a_bad_file_is_reported_once_per_change_not_on_every_scan(tmp_path, log_lines):
    config = make_config(tmp_path)
    daemon = make_daemon(config, Clock(T0))
    bad = tmp_path / "posts" / "bad.md"
    bad.write_text('+++\ntitle = "No time"\n+++\n', encoding="utf-8")
    daemon.scan()
    for _ in range(3):
        daemon.scan()
    assert sum("publish_at is missing" in line for line in log_lines) == 1

    bad.write_text('+++\ntitle = "Edited, still no time"\n+++\n', encoding="utf-8")
    daemon.scan()
    daemon.scan()
    assert sum("publish_at is missing" in line for line in log_lines) == 2


# -- wake-ups -------------------------------------------------------------------------------------


def test_the_wake_up_is_an_aware_utc_date_job_moved_when_the_plan_changes(tmp_path):
    clock = Clock(T0)
    config = make_config(tmp_path)
    daemon = make_daemon(config, clock)
    post = tmp_path / "posts" / "news.md"
    post.write_text(post_text("News", T0 + timedelta(hours=2)), encoding="utf-8")
    daemon.scan()
    daemon.round("rss", reconcile=True)

    job = due_job(daemon, "rss")
    assert job.trigger.run_date == T0 + timedelta(hours=2)
    assert (
        job.trigger.run_date.tzinfo is not None and job.trigger.run_date.utcoffset() == timedelta(0)
    )
    assert job.misfire_grace_time is None  # APScheduler's default (1 s) would drop a late job

    post.write_text(post_text("News", T0 + timedelta(minutes=30)), encoding="utf-8")
    daemon.scan()
    daemon.round("rss", reconcile=False)
    assert due_job(daemon, "rss").trigger.run_date == T0 + timedelta(minutes=30)

    clock.advance(minutes=30)
    daemon.round("rss", reconcile=False)
    assert daemon.ledger.get("news/en/rss/post").state is State.SENT
    assert due_job(daemon, "rss") is None


def test_a_blocked_delivery_does_not_wake_the_daemon_in_a_loop(
    tmp_path, graph, monkeypatch, log_lines
):
    monkeypatch.delenv(ENV)
    clock = Clock(T0)
    daemon = make_daemon(make_config(tmp_path, graph, rss=False), clock)
    posts = tmp_path / "posts"
    (posts / "now.md").write_text(post_text("Due now", T0 - timedelta(minutes=1)))
    (posts / "later.md").write_text(post_text("Due later", T0 + timedelta(hours=1)))
    daemon.scan()
    for _ in range(3):
        daemon.round("facebook", reconcile=True)

    assert due_job(daemon, "facebook").trigger.run_date == T0 + timedelta(hours=1)
    assert daemon.ledger.get("now/en/facebook/post").state is State.PENDING
    assert graph.requests == []
    assert sum(f"{ENV} is not set" in line for line in log_lines) == 1


def test_a_delivery_of_a_file_broken_after_planning_waits_without_blocking_the_next(
    tmp_path, graph
):
    daemon = make_daemon(make_config(tmp_path, graph, rss=False), Clock(T0))
    first = tmp_path / "posts" / "first.md"
    first.write_text(post_text("First", T0 - timedelta(minutes=2)))
    daemon.scan()
    first.write_text('+++\ntitle = "First"\npublish_at = "a typo"\n+++\n')  # being edited
    (tmp_path / "posts" / "second.md").write_text(post_text("Second", T0 - timedelta(minutes=1)))
    daemon.scan()
    for _ in range(2):
        daemon.round("facebook", reconcile=True)

    assert [p["message"].split("\n")[0] for p in graph.posts] == ["Second"]
    assert daemon.ledger.get("first/en/facebook/post").state is State.PENDING


def test_a_throttled_delivery_wakes_the_daemon_at_its_next_attempt(tmp_path, graph):
    clock = Clock(T0)
    daemon = make_daemon(make_config(tmp_path, graph, rss=False), clock)
    (tmp_path / "posts" / "a.md").write_text(post_text("Throttled", T0))
    usage = {graph.page_id: [{"type": "pages", "estimated_time_to_regain_access": 7}]}
    graph.fail_next(32, headers={"x-business-use-case-usage": json.dumps(usage)}, method="POST")
    daemon.scan()
    daemon.round("facebook", reconcile=True)

    row = daemon.ledger.get("a/en/facebook/post")
    assert row.state is State.RETRYING
    assert row.next_attempt_at >= T0 + timedelta(minutes=7)  # Facebook's hint, not our 1 s
    assert due_job(daemon, "facebook").trigger.run_date == row.next_attempt_at

    clock.now = row.next_attempt_at
    daemon.round("facebook", reconcile=False)
    assert daemon.ledger.get("a/en/facebook/post").state is State.SENT
    assert len(graph.posts) == 1


# -- downtime, expiry, caps -------------------------------------------------------------------------


def test_after_downtime_recent_ones_go_out_oldest_first_and_old_ones_expire(
    tmp_path, graph, log_lines
):
    daemon = make_daemon(make_config(tmp_path, graph, rss=False, catch_up="2d"), Clock(T0))
    posts = tmp_path / "posts"
    (posts / "old.md").write_text(post_text("Three days late", T0 - timedelta(days=3)))
    (posts / "b.md").write_text(post_text("One hour late", T0 - timedelta(hours=1)))
    (posts / "a.md").write_text(post_text("One day late", T0 - timedelta(days=1)))
    event = f'[event]\nstart = {T0 - timedelta(hours=2):%Y-%m-%dT%H:%M:%SZ}\nreminders = ["1d"]\n'
    (posts / "ev.md").write_text(post_text("Event", T0 - timedelta(hours=36), event))
    daemon.scan()
    daemon.round("facebook", reconcile=True)

    sent = [p["message"].split("\n")[0] for p in graph.posts]
    assert sent == ["Event", "One day late", "One hour late"]
    states = {r.id: r.state for r in daemon.ledger.rows()}
    assert states["old/en/facebook/post"] is State.EXPIRED
    assert states["ev/en/facebook/reminder-1d"] is State.EXPIRED
    assert any("old/en/facebook/post" in x and "catch_up" in x for x in log_lines)


def test_expiry_is_checked_again_before_a_retry(tmp_path, graph):
    clock = Clock(T0)
    daemon = make_daemon(make_config(tmp_path, graph, rss=False), clock)
    expires = (T0 + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (tmp_path / "posts" / "a.md").write_text(
        post_text("Short-lived", T0, f"expires_at = {expires}\n")
    )
    graph.fail_next(17, method="POST")
    daemon.scan()
    daemon.round("facebook", reconcile=True)
    assert daemon.ledger.get("a/en/facebook/post").state is State.RETRYING

    clock.advance(minutes=10)
    daemon.round("facebook", reconcile=True)
    assert daemon.ledger.get("a/en/facebook/post").state is State.EXPIRED
    assert graph.posts == []
    assert [r.method for r in graph.requests] == ["GET", "POST"]  # new ledger: looked first


def test_the_hourly_cap_holds_the_rest_until_the_hour_has_passed(tmp_path, graph):
    clock = Clock(T0)
    daemon = make_daemon(
        make_config(tmp_path, graph, rss=False, facebook={"max_per_hour": 2}), clock
    )
    for i in range(3):
        (tmp_path / "posts" / f"p{i}.md").write_text(
            post_text(f"Capped {i}", T0 - timedelta(minutes=3 - i))
        )
    daemon.scan()
    daemon.round("facebook", reconcile=True)
    assert len(graph.posts) == 2
    clock.advance(minutes=30)
    daemon.round("facebook", reconcile=True)
    assert len(graph.posts) == 2
    clock.advance(minutes=31)
    daemon.round("facebook", reconcile=True)
    assert [p["message"].split("\n")[0] for p in graph.posts] == [
        "Capped 0",
        "Capped 1",
        "Capped 2",
    ]


def test_a_stale_reconcile_never_moves_a_row_another_worker_is_sending(tmp_path):
    config = make_config(tmp_path)
    (tmp_path / "posts" / "a.md").write_text(post_text("Shared", T0))
    first = Ledger.open(config.state_url, worker="a")
    second = Ledger.open(config.state_url, worker="b")
    Runner(config, first, {}, Clock(T0)).sync(read_posts(config))
    [row] = first.claim(T0, timedelta(minutes=5))
    first.mark_uncertain(row.id, "timed out", T0)
    # worker a looks, finds nothing, retries and is sending again ...
    assert first.mark_retrying(row.id, "not found", T0, T0, allowed=[State.UNCERTAIN])
    assert first.claim(T0, timedelta(minutes=5))
    # ... while worker b's lookup (started when the row was uncertain) comes back late
    assert not second.mark_retrying(row.id, "not found", T0, T0, allowed=[State.UNCERTAIN])
    assert not second.mark_sent(row.id, Receipt("x"), T0, allowed=[State.UNCERTAIN])
    assert first.get(row.id).state is State.SENDING


# -- notifications ----------------------------------------------------------------------------------


def test_a_failure_and_a_token_expiring_soon_are_notified_once_even_after_a_restart(
    tmp_path, graph
):
    clock = Clock(T0)
    config = make_config(tmp_path, graph, rss=False, _notify=True,
                         facebook={"token_expires_at": date(2027, 5, 10)})  # fmt: skip
    daemon = make_daemon(config, clock)
    sent: list[tuple[str, str]] = []

    def alert(title: str, body: str) -> bool:
        sent.append((title, body))
        return True

    def notifier() -> Notifier:  # a new one per "process"
        made = Notifier(config, daemon.ledger, clock, {"ALERTS": "json://example"}, sender=alert)
        assert made.setup()
        return made

    (tmp_path / "posts" / "a.md").write_text(post_text("Refused", T0))
    graph.fail_next(100, method="POST")
    daemon.scan()
    daemon.round("facebook", reconcile=True)
    assert notifier().run() == 2
    assert notifier().run() == 0
    clock.advance(days=1)
    assert notifier().run() == 0

    titles = sorted(title for title, _ in sent)
    assert titles == ["publisher: delivery failed: a/en/facebook/post",
                      "publisher: token of 'facebook' expires soon"]  # fmt: skip
    assert all(graph.token not in body for _, body in sent)


def test_without_apprise_one_clear_warning_and_publishing_goes_on(tmp_path, monkeypatch, log_lines):
    monkeypatch.setitem(sys.modules, "apprise", None)  # as if the extra were not installed
    config = make_config(tmp_path, _notify=True)
    notifier = Notifier(config, Ledger.open(config.state_url), Clock(T0), {"ALERTS": "json://x"})
    assert not notifier.setup()
    assert notifier.run() == 0
    [warning] = [line for line in log_lines if "Apprise" in line]
    assert "pip install 'publisher[notify]'" in warning


# -- faults -----------------------------------------------------------------------------------------


class RandomFaults:
    """Stands in for the fake's script queue: seeded random failures, as Graph has them."""

    def __init__(self, graph: FakeGraph, seed: int) -> None:
        self.graph = graph
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()

    def __bool__(self) -> bool:
        return True

    def popleft(self) -> Script | None:
        method = self.graph.requests[-1].method
        roll = self.rng.random()
        if method == "GET":
            return (
                self._count("lookup 500", Script("error", 500, error_body(2)))
                if roll < 0.05
                else None
            )
        usage = {self.graph.page_id: [{"type": "pages", "estimated_time_to_regain_access": 1}]}
        faults = [
            (0.10, "500 after create", Script("error", 500, error_body(2), create=True)),
            (0.18, "proxy 502, not created", Script("html", 502)),
            (0.24, "proxy 502 after create", Script("html", 502, create=True)),
            (0.36, "throttled", Script("error", 400, error_body(32),
                                       {"x-business-use-case-usage": json.dumps(usage)})),
            (0.50, "transient", Script("error", 400, error_body(17))),
        ]  # fmt: skip
        for limit, name, script in faults:
            if roll < limit:
                return self._count(name, script)
        return None

    def _count(self, name: str, script: Script) -> Script:
        self.counts[name] += 1
        return script


def test_200_deliveries_against_random_faults_are_each_sent_once_or_failed(tmp_path, graph):
    clock = Clock(T0)
    graph.clock = clock
    config = make_config(tmp_path, graph, rss=False, max_attempts=3)
    for i in range(200):
        (tmp_path / "posts" / f"p{i:03}.md").write_text(post_text(f"Fault {i:03}", T0))
    faults = RandomFaults(graph, seed=20270503)
    graph.script_with(faults)
    ledger = Ledger.open(config.state_url)
    runner = Runner(config, ledger, build_channels(config, Http(timeout=(1.0, 2.0))), clock,
                    rng=random.Random(1))  # fmt: skip
    read = read_posts(config)
    for _ in range(40):
        runner.run_once(read)
        if not ledger.rows(states=UNSETTLED):
            break
        clock.advance(seconds=61)

    final = ledger.rows()
    on_page = Counter(p["message"].split("\n")[0] for p in graph.posts)
    ids = {p["id"] for p in graph.posts}
    assert len(final) == 200
    for row in final:
        title = f"Fault {row.post[1:]}"
        if row.state is State.SENT:
            assert on_page[title] == 1, f"{row.id} is on the Page {on_page[title]} times"
            assert row.remote_id in ids
        else:
            assert row.state is State.FAILED, f"{row.id} ended {row.state}"
            assert on_page[title] == 0 and row.error
    sent = [r for r in final if r.state is State.SENT]
    assert len(graph.posts) == len(sent)
    assert any(r.was_uncertain for r in sent), "some sends must have been found by reconciling"
    print(f"\nfaults: {dict(faults.counts)}; {len(sent)} sent, {len(final) - len(sent)} failed")
    assert 0 < len(final) - len(sent) < 20
    assert set(faults.counts) == {"500 after create", "proxy 502, not created", "lookup 500",
                                  "proxy 502 after create", "throttled", "transient"}  # fmt: skip
