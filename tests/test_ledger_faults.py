"""Fault test: the ledger truncated, deleted or replaced under a running ``publisher run``.

The daemon must stop sending and exit 2 naming the ledger; after the operator starts it again
(with the empty file refused first), the fake Page ends with each post exactly once.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from publisher.core.models import State
from publisher.store.ledger import Ledger

try:
    from support.processes import ENV, Proc, daemon, rows, wait_until, write_config, write_post
except ImportError:  # tests/ run as a package
    from tests.support.processes import (
        ENV,
        Proc,
        daemon,
        rows,
        wait_until,
        write_config,
        write_post,
    )

pytestmark = pytest.mark.e2e


def all_sent(config: Path, ids: list[str]) -> bool:
    try:
        found = rows(config)
    except Exception:  # noqa: BLE001 - the ledger may be mid-change
        return False
    return all(i in found and found[i].state is State.SENT for i in ids)


def truncate(ledger: Path) -> None:
    with ledger.open("r+b") as handle:  # `: > ledger.db`
        handle.truncate(0)


def delete(ledger: Path) -> None:
    ledger.unlink()


def replace(ledger: Path) -> None:
    other = ledger.with_name("other.db")
    Ledger.open(f"sqlite:///{other}").close()  # a valid, new, empty ledger
    os.replace(other, ledger)


@pytest.mark.parametrize("fault", [truncate, delete, replace], ids=lambda f: f.__name__)
def test_a_lost_ledger_under_a_running_daemon_never_posts_twice(tmp_path, graph, fault):
    env = {**os.environ, ENV: graph.token, "PYTHONUNBUFFERED": "1"}
    config = write_config(tmp_path, graph)
    ledger = tmp_path / "state" / "ledger.db"
    now = datetime.now(UTC)
    for name in ("one", "two"):
        write_post(tmp_path / "posts", f"{name}.md", f"Post {name}", now - timedelta(seconds=1))
    first = daemon(config, env)
    wait_until(lambda: len(graph.posts) == 2, 8, "two posts")
    wait_until(lambda: all_sent(config, ["one/en/facebook/post", "two/en/rss/post"]), 5, "sent")

    fault(ledger)
    write_post(tmp_path / "posts", "three.md", "Post three", datetime.now(UTC))
    assert first.wait(10) == 2
    assert f"the ledger {ledger} " in first.output and "stopped sending" in first.output

    # SQLite writes its WAL back when the daemon closes the ledger; if the file is still
    # empty after that, a restart refuses it, and the operator's way out is a new ledger.
    if ledger.exists() and ledger.stat().st_size == 0:
        refused = Proc(config, "run", env=env)
        assert refused.wait(10) == 2
        assert "is an empty file (0 bytes)" in refused.output
        ledger.unlink()  # the operator's way out: a new ledger

    second = daemon(config, env)
    wait_until(lambda: all_sent(config, [f"{n}/en/{c}/post" for n in ("one", "two", "three")
                                         for c in ("facebook", "rss")]), 10, "all sent")  # fmt: skip
    assert second.stop() == 0

    messages = Counter(p["message"] for p in graph.posts)
    assert sorted(messages.values()) == [1, 1, 1], messages
    assert [r.method for r in graph.requests].count("POST") == 3
