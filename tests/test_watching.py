"""The running daemon follows post files by file-system notifications, and restarts from its cache.

The tick is an hour here, so only the notifications can explain a change seen within seconds.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

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


def planned(config, post: str) -> State | None:
    return state_of(config, f"{post}/en/facebook/post")


def test_edits_adds_deletes_and_renames_are_seen_within_seconds_without_polling(
    tmp_path, graph, env
):
    config = write_config(tmp_path, graph, rss=False, tick="1h")
    posts = tmp_path / "posts"
    later = datetime.now(UTC) + timedelta(days=3)
    write_post(posts, "kept.md", "Kept", later)
    write_post(posts, "doomed.md", "Doomed", later)
    write_post(posts, "old-name.md", "Renamed", later)
    proc = daemon(config, env)
    assert "post files followed by file-system notifications" in proc.output

    write_post(posts, "2027/added.md", "Added in a new folder", later)
    wait_until(lambda: planned(config, "2027/added") is State.PENDING, 3, "the added file")
    (posts / "doomed.md").unlink()
    wait_until(lambda: planned(config, "doomed") is State.CANCELLED, 3, "the deleted file")
    os.rename(posts / "old-name.md", posts / "new-name.md")
    wait_until(lambda: planned(config, "new-name") is State.PENDING, 3, "the renamed file")
    assert planned(config, "old-name") is State.CANCELLED
    sooner = later - timedelta(days=1)
    write_post(posts, "kept.md", "Kept", sooner)
    wait_until(lambda: rows(config)["kept/en/facebook/post"].due_at == sooner, 3, "the edit")
    assert proc.stop() == 0
    assert graph.posts == []


def test_a_restart_reads_only_what_changed_while_stopped_and_misses_nothing(tmp_path, graph, env):
    config = write_config(tmp_path, graph, rss=False, tick="1h")
    posts = tmp_path / "posts"
    later = datetime.now(UTC) + timedelta(days=3)
    for name in ("a", "b", "c"):
        write_post(posts, f"{name}.md", name.upper(), later)
    proc = daemon(config, env)
    assert proc.stop() == 0
    assert (tmp_path / "state" / "ledger.db.posts-cache").is_file()

    write_post(posts, "a.md", "A", later + timedelta(hours=1))  # edited while stopped
    (posts / "b.md").unlink()  # deleted
    os.rename(posts / "c.md", posts / "d.md")  # renamed
    write_post(posts, "e.md", "E", later)  # added
    proc = daemon(config, env)
    assert proc.stop() == 0
    found = rows(config)
    assert found["a/en/facebook/post"].due_at == (later + timedelta(hours=1))
    assert found["b/en/facebook/post"].state is State.CANCELLED
    assert found["c/en/facebook/post"].state is State.CANCELLED
    assert found["d/en/facebook/post"].state is State.PENDING
    assert found["e/en/facebook/post"].state is State.PENDING
