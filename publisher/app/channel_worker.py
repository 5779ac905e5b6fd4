"""The daemon's per-channel thread: kicks coalesce, so one channel never runs twice at once."""

from __future__ import annotations

import threading
from collections.abc import Callable


class ChannelWorker:
    """One thread per channel: a kick while it works makes it go round once more, never twice."""

    def __init__(self, name: str, work: Callable[[str, bool], None]) -> None:
        self.name = name
        self._work = work
        self._wake = threading.Event()
        self._reconcile = False
        self._stop = False
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, name=f"channel-{name}", daemon=True)

    def kick(self, reconcile: bool = False) -> None:
        with self._lock:
            self._reconcile = self._reconcile or reconcile
        self._wake.set()

    def stop(self) -> None:
        self._stop = True
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            if self._stop:
                return
            self._wake.clear()
            with self._lock:
                reconcile, self._reconcile = self._reconcile, False
            self._work(self.name, reconcile)
