"""The ledger on real SQLite files: migrations, sync, atomic claims, nothing ever deleted."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from publisher.core.models import Receipt, State
from publisher.store.ledger import MIGRATIONS, Ledger, deliveries, history

NOW = datetime(2027, 6, 1, 12, tzinfo=UTC)


def _planned(
    n: int, *, due: datetime = NOW, source: str = "posts/a.en.md", text: str = "h"
) -> list[dict]:
    return [
        {"id": f"p{i}/en/rss/post", "post": f"p{i}", "language": "en", "channel": "rss",
         "kind": "post", "source": source, "due_at": due - timedelta(minutes=i),
         "expires_at": None, "content_hash": f"{text}{i}"}
        for i in range(n)
    ]  # fmt: skip


def _open(tmp_path: Path, worker: str = "w1") -> Ledger:
    return Ledger.open(f"sqlite:///{tmp_path / 'state' / 'ledger.db'}", worker=worker)


def _count(ledger: Ledger, table: sa.Table) -> int:
    with ledger.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_created_on_first_use_and_migrated_once(tmp_path: Path) -> None:
    ledger = _open(tmp_path)
    assert (tmp_path / "state" / "ledger.db").exists()
    assert ledger.schema_version() == len(MIGRATIONS)
    ledger.sync(_planned(2), NOW)
    again = _open(tmp_path)
    assert again.schema_version() == len(MIGRATIONS)
    assert len(again.rows()) == 2


def test_read_only_open_never_creates_a_ledger(tmp_path: Path) -> None:
    assert Ledger.open_read_only(f"sqlite:///{tmp_path / 'none.db'}") is None
    assert not (tmp_path / "none.db").exists()


def test_sync_is_idempotent(tmp_path: Path) -> None:
    ledger = _open(tmp_path)
    assert ledger.sync(_planned(3), NOW)["new"] == 3
    counts = ledger.sync(_planned(3), NOW)
    assert counts == {"new": 0, "updated": 0, "cancelled": 0, "restored": 0, "changed": 0}
    assert _count(ledger, history) == 3


def test_vanished_post_is_cancelled_and_comes_back(tmp_path: Path) -> None:
    ledger = _open(tmp_path)
    ledger.sync(_planned(2), NOW)
    ledger.sync(_planned(1), NOW)
    assert ledger.get("p1/en/rss/post").state is State.CANCELLED
    ledger.sync(_planned(2), NOW)
    assert ledger.get("p1/en/rss/post").state is State.PENDING


def test_rows_of_a_file_that_fails_to_parse_are_kept(tmp_path: Path) -> None:
    ledger = _open(tmp_path)
    ledger.sync(_planned(2, source="posts/broken.en.md"), NOW)
    ledger.sync([], NOW, keep_sources=frozenset({"posts/broken.en.md"}))
    assert {r.state for r in ledger.rows()} == {State.PENDING}


def test_pending_follows_the_file_but_sent_is_only_flagged(tmp_path: Path) -> None:
    ledger = _open(tmp_path)
    ledger.sync(_planned(2), NOW)
    [claimed] = ledger.claim(NOW, timedelta(minutes=5), limit=1)
    ledger.mark_sent(claimed.id, Receipt("r1", "https://x/1"), NOW, {"title": "t"})
    later = NOW + timedelta(days=1)
    ledger.sync(_planned(2, due=later, text="edited"), NOW)
    sent = ledger.get(claimed.id)
    other = next(r for r in ledger.rows() if r.id != claimed.id)
    assert sent.state is State.SENT and sent.changed and sent.due_at == claimed.due_at
    assert other.state is State.PENDING and other.due_at > NOW


def test_claim_is_atomic_across_workers(tmp_path: Path) -> None:
    _open(tmp_path).sync(_planned(60), NOW)
    claimed: list[str] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        ledger = _open(tmp_path, worker=name)
        while rows := ledger.claim(NOW, timedelta(minutes=5), limit=2):
            with lock:
                claimed.extend(r.id for r in rows)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(f"p{i}/en/rss/post" for i in range(60))


def test_claim_takes_only_due_deliveries_oldest_first(tmp_path: Path) -> None:
    ledger = _open(tmp_path)
    ledger.sync(_planned(3, due=NOW + timedelta(minutes=1)), NOW)
    rows = ledger.claim(NOW, timedelta(minutes=5), limit=5)
    assert [r.id for r in rows] == ["p2/en/rss/post", "p1/en/rss/post"]
    assert all(r.state is State.SENDING and r.attempts == 1 for r in rows)


def test_leftover_sending_becomes_uncertain(tmp_path: Path) -> None:
    ledger = _open(tmp_path)
    ledger.sync(_planned(2), NOW)
    ledger.claim(NOW, timedelta(minutes=5), limit=2)
    assert ledger.take_over_sending(NOW + timedelta(minutes=1), all_rows=False) == []
    assert len(ledger.take_over_sending(NOW + timedelta(minutes=6), all_rows=False)) == 2
    assert {r.state for r in ledger.rows()} == {State.UNCERTAIN}


def test_retry_and_resolve(tmp_path: Path) -> None:
    ledger = _open(tmp_path)
    ledger.sync(_planned(2), NOW)
    a, b = ledger.claim(NOW, timedelta(minutes=5), limit=2)
    ledger.mark_failed(a.id, "token expired", NOW)
    ledger.mark_uncertain(b.id, "timeout", NOW)
    later = NOW + timedelta(days=5)
    assert ledger.retry(None, later) == [a.id]
    row = ledger.get(a.id)
    assert row.state is State.PENDING and row.catch_up_from == later and row.attempts == 0
    assert ledger.resolve(b.id, later, sent_url="https://x/7")
    assert ledger.get(b.id).remote_url == "https://x/7"
    assert not ledger.resolve(b.id, later, sent_url=None)


def test_nothing_is_ever_deleted(tmp_path: Path) -> None:
    ledger = _open(tmp_path)
    ledger.sync(_planned(5), NOW)
    counts = [_count(ledger, deliveries)]
    ledger.sync([], NOW)
    counts.append(_count(ledger, deliveries))
    ledger.sync(_planned(2), NOW)
    counts.append(_count(ledger, deliveries))
    assert counts == [5, 5, 5]
    assert [s for _, s, _ in ledger.history("p4/en/rss/post")] == ["pending", "cancelled"]
