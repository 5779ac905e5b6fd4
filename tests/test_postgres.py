"""Several ``publisher run`` workers on one PostgreSQL ledger: the work is shared, each delivery
is sent exactly once, and a dead worker's send is taken over when its lease runs out.

Needs a server: ``PUBLISHER_TEST_PG=postgresql://user@host:port/db`` (the role must be allowed
to create databases: each test gets a fresh one).  Skipped when unset or unreachable, but a
failure under ``PUBLISHER_CI=1``.  ``/work/notes/ci-postgres.sh`` starts a throwaway cluster.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from publisher.core.models import State
from publisher.store.ledger import Ledger, history

try:
    from support.processes import Proc, daemon, wait_until, write_config
except ImportError:  # tests/ run as a package
    from tests.support.processes import Proc, daemon, wait_until, write_config

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]


def open_ledger(url: str) -> Ledger:
    return Ledger.open("postgresql+psycopg://" + url.removeprefix("postgresql://"))


def write_reminder_posts(posts: Path, count: int) -> None:
    """``count`` event posts, each due now with four reminders already due: five deliveries."""
    now = datetime.now(UTC)
    start = (now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    announce = (now - timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for i in range(count):
        (posts / f"event-{i:04}.md").write_text(
            f'+++\ntitle = "Workshop {i:04}"\npublish_at = {announce}\n[event]\nstart = {start}\n'
            f'location = "Maastricht"\nreminders = ["40m", "30m", "20m", "10m"]\n+++\nAgenda.\n',
            encoding="utf-8",
        )


def test_four_workers_share_2000_deliveries_and_send_each_exactly_once(
    tmp_path, pg_url, graph, env
):
    config = write_config(tmp_path, graph, state=pg_url, rss=False)
    workers = [Proc(config, "run", env=env) for _ in range(4)]
    for worker in workers:  # the ledger exists first: a new ledger would look each one up
        worker.wait_for("publisher run:")
    write_reminder_posts(tmp_path / "posts", 400)
    try:
        wait_until(
            lambda: len(graph.posts) >= 2000, 180, "2000 posts on the fake"
        )  # exactly once, not speed
        ledger = open_ledger(pg_url)
        wait_until(lambda: not ledger.rows(states=[State.PENDING, State.SENDING]), 5)
    finally:
        codes = [w.stop(timeout=20) for w in workers]
    assert codes == [0, 0, 0, 0], "\n".join(w.output[-2000:] for w in workers)

    rows = ledger.rows()
    assert len(rows) == 2000 and {r.state for r in rows} == {State.SENT}
    on_fake = [p["id"] for p in graph.posts]
    assert len(on_fake) == len(set(on_fake)) == 2000
    assert {r.remote_id for r in rows} == set(on_fake)
    with ledger.engine.connect() as conn:
        entries = conn.execute(sa.select(history.c.state, history.c.worker)).all()
    assert Counter(state for state, _ in entries)["sending"] == 2000, "no delivery claimed twice"
    by_worker = Counter(worker for state, worker in entries if state == "sent")
    assert len(by_worker) >= 3, f"the work must be shared: {by_worker}"
    print(f"\nsent per worker: {sorted(by_worker.values())}")


def test_a_dead_workers_send_is_reconciled_by_another_once_its_lease_runs_out(
    tmp_path, pg_url, graph, env
):
    config = write_config(tmp_path, graph, state=pg_url, rss=False, lease="2s")
    due = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (tmp_path / "posts" / "lease.md").write_text(
        f'+++\ntitle = "Lease test"\npublish_at = {due}\n+++\nText.\n', encoding="utf-8"
    )
    graph.hang_next(seconds=20, create=True, method="POST")
    first = daemon(config, env)
    wait_until(lambda: graph.posts, 5, "the post created by the first worker")
    first.kill()
    ledger = open_ledger(pg_url)
    assert ledger.get("lease/en/facebook/post").state is State.SENDING

    second = daemon(config, env)
    wait_until(lambda: ledger.get("lease/en/facebook/post").state is State.SENT, 8, "sent")
    assert second.stop() == 0

    [post] = graph.posts
    row = ledger.get("lease/en/facebook/post")
    assert row.remote_id == post["id"]
    assert "its lease ran out while sending" in second.output
