"""The SQLite ledger's lock: one ``run`` at a time per ledger file."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from publisher.core.errors import LedgerError


class LedgerLock:
    """An exclusive ``flock`` on ``<ledger>.lock``; released when the process exits, even by kill -9."""

    def __init__(self, ledger_path: str) -> None:
        self.path = Path(f"{ledger_path}.lock")
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise LedgerError(
                f"the ledger {self.path.with_suffix('')} is in use by publisher run (pid {holder})",
                "only one `publisher run` may use an SQLite ledger; stop the other one, "
                "or use a postgresql:// state for several workers",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> LedgerLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
