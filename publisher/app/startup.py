"""The start-up ``run --once`` and the daemon share, in one place so the two cannot drift apart."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from publisher.app.notify import Notifier
from publisher.app.runner import Runner
from publisher.core import logs
from publisher.core.config import Config
from publisher.core.models import State, split_delivery_id
from publisher.store.ledger import Ledger
from publisher.store.lock import LedgerLock


@dataclass(frozen=True)
class Started:
    """What a started run works with: its ledger, its notifier and its runner."""

    ledger: Ledger
    notifier: Notifier
    runner: Runner


def open_for_run(config: Config) -> tuple[LedgerLock | None, Ledger]:
    """Take the SQLite lock (if SQLite) and open the ledger."""
    from publisher.store.ledger_safety import prepare_sqlite

    lock = None
    if not config.state_is_url:
        prepare_sqlite(Path(config.state))
        lock = LedgerLock(config.state)
        lock.acquire()
    ledger = Ledger.open(config.state_url, worker=f"{socket.gethostname()}:{os.getpid()}")
    return lock, ledger


@contextmanager
def started(
    config: Config, clock: Callable[[], datetime], environ: Mapping[str, str]
) -> Iterator[Started]:
    """Take the lock, open the ledger, mark what a crash left ``sending`` as uncertain, set up
    the notifier and a runner watched by the ledger identity guard; release the lock at the end.
    """
    from publisher.channels import build_channels
    from publisher.store.ledger_safety import guard_for

    lock, ledger = open_for_run(config)
    try:
        if lock is not None:  # we hold the only lock: whatever is still sending was ours
            for taken in ledger.take_over_sending(clock(), all_rows=True):
                logs.state_change(
                    taken,
                    split_delivery_id(taken)[2],
                    State.UNCERTAIN.value,
                    "the last run stopped while sending; looking for it",
                )
        notifier = Notifier(config, ledger, clock, environ)
        notifier.setup()
        runner = Runner(config, ledger, build_channels(config), clock, environ=environ)
        identity = guard_for(config)
        if identity is not None:
            runner.guard = identity.check
        yield Started(ledger, notifier, runner)
    finally:
        if lock is not None:
            lock.release()
