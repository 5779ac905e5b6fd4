"""Claims in small batches, and a tick that asks the ledger once: cheaper, and still exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest

try:
    from fakes.graph import FakeGraph
    from support import Clock
    from support.in_process import ENV, T0, make_config, make_daemon, post_text
except ImportError:  # tests/ run as a package
    from tests.fakes.graph import FakeGraph
    from tests.support import Clock
    from tests.support.in_process import ENV, T0, make_config, make_daemon, post_text

from publisher.app.sending import CLAIM_BATCH
from publisher.core.models import State


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch):
    with FakeGraph() as fake:
        monkeypatch.setenv(ENV, fake.token)
        yield fake


def write_due(tmp_path, count: int) -> None:
    """Posts due one minute apart after T0 (a new ledger at T0 has nothing overdue to look for)."""
    for i in range(count):
        at = T0 + timedelta(minutes=i + 1)
        (tmp_path / "posts" / f"p{i}.md").write_text(post_text(f"Due {i}", at))


def test_a_stop_in_the_middle_of_a_batch_hands_the_rest_back_untouched(tmp_path, graph):
    clock = Clock(T0)
    daemon = make_daemon(make_config(tmp_path, graph, rss=False), clock)
    write_due(tmp_path, CLAIM_BATCH + 2)
    daemon.scan()
    clock.advance(minutes=CLAIM_BATCH + 3)  # every one of them is due now
    runner = daemon.runner
    publish = runner.channels["facebook"].publish

    def publish_then_stop(draft):  # SIGTERM arrives while the first send is in flight
        receipt = publish(draft)
        runner.stopping.set()
        return receipt

    runner.channels["facebook"].publish = publish_then_stop  # type: ignore[method-assign]
    daemon.round("facebook", reconcile=False)
    rows = {r.id: r for r in daemon.ledger.rows()}
    states = [rows[f"p{i}/en/facebook/post"].state for i in range(CLAIM_BATCH + 2)]
    assert states == [State.SENT] + [State.PENDING] * (CLAIM_BATCH + 1)
    assert [rows[f"p{i}/en/facebook/post"].attempts for i in range(1, CLAIM_BATCH + 2)] == [0] * (
        CLAIM_BATCH + 1
    )
    assert len(graph.posts) == 1
    runner.stopping.clear()  # the next start sends the rest, each once
    runner.channels["facebook"].publish = publish  # type: ignore[method-assign]
    daemon.round("facebook", reconcile=True)
    assert sorted(p["message"].split("\n")[0] for p in graph.posts) == [
        f"Due {i}" for i in range(CLAIM_BATCH + 2)
    ]


def test_the_hourly_cap_is_held_inside_a_batch(tmp_path, graph):
    clock = Clock(T0)
    config = make_config(tmp_path, graph, rss=False, facebook={"max_per_hour": CLAIM_BATCH - 1})
    daemon = make_daemon(config, clock)
    write_due(tmp_path, CLAIM_BATCH + 1)
    daemon.scan()
    clock.advance(minutes=CLAIM_BATCH + 2)
    daemon.round("facebook", reconcile=True)
    assert len(graph.posts) == CLAIM_BATCH - 1
    assert {r.state for r in daemon.ledger.rows()} == {State.SENT, State.PENDING}


def test_an_idle_tick_serves_no_channel_and_a_due_one_only_its_channel(tmp_path, graph):
    clock = Clock(T0)
    daemon = make_daemon(make_config(tmp_path, graph), clock)
    (tmp_path / "posts" / "later.md").write_text(post_text("Later", T0 + timedelta(hours=2)))
    daemon.scan()
    assert daemon.due_channels() == []
    clock.advance(hours=2, minutes=1)
    assert sorted(daemon.due_channels()) == ["facebook", "rss"]
    daemon.round("facebook", reconcile=True)
    assert daemon.due_channels() == ["rss"]
    daemon.round("rss", reconcile=True)
    assert daemon.due_channels() == []
    with daemon.ledger.engine.begin() as conn:  # a send that died: uncertain wants a reconcile
        conn.exec_driver_sql("UPDATE deliveries SET state = 'uncertain' WHERE channel = 'facebook'")
    assert daemon.due_channels() == ["facebook"]
