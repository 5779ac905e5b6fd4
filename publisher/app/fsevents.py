"""File-system notifications for the daemon: an idle ``publisher run`` sleeps instead of polling.

A thread follows ``posts_dir`` with ``watchfiles`` (inotify on Linux, FSEvents on macOS) and
wakes the daemon's scan when anything below it changes.  The notifications only say *when*
to look; what changed is still decided by the stat scan, which also runs on every tick as
the safety net (a network share may send no events, a watch may be dropped).  Without
``watchfiles``, when the folder cannot be watched, or with ``PUBLISHER_FILE_EVENTS=off`` (a
share that sends no events), the daemon stat-scans every second instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from publisher.core import logs

#: Changes arriving this close together are reported as one wake-up (milliseconds).
STEP_MS = 100
#: The longest a burst of changes is gathered before the daemon is woken anyway.
DEBOUNCE_MS = 800


class FileEvents:
    """Calls ``changed()`` after anything below ``folder`` changes, until ``stop`` is set."""

    def __init__(self, folder: Path, changed: Callable[[], None], stop: threading.Event) -> None:
        self.folder = folder
        self.changed = changed
        self.stop = stop
        self._alive = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="file-events", daemon=True)

    @property
    def alive(self) -> bool:
        """True while notifications arrive; False means: poll."""
        return self._alive.is_set()

    def start(self, wait: float = 5.0) -> bool:
        """Start following the folder; False when notifications are not available here."""
        import os

        if os.environ.get("PUBLISHER_FILE_EVENTS", "").lower() in ("off", "0", "no"):
            return False
        try:
            import watchfiles  # noqa: F401
        except ImportError:
            logs.get().info("watchfiles is not installed: post files are scanned every second")
            return False
        self._thread.start()
        self._alive.wait(wait)
        return self.alive

    def _follow(self) -> None:
        from watchfiles import watch

        self._alive.set()
        try:
            for _ in watch(
                self.folder, watch_filter=None, debounce=DEBOUNCE_MS, step=STEP_MS,
                stop_event=self.stop, raise_interrupt=False, ignore_permission_denied=True,
            ):  # fmt: skip
                self.changed()
        except Exception as exc:  # noqa: BLE001 - e.g. inotify limits, folder gone: poll instead
            logs.get().warning(f"file notifications stopped ({type(exc).__name__}: {exc}); "
                               "post files are scanned every second")  # fmt: skip
        finally:
            self._alive.clear()
            if not self.stop.is_set():
                self.changed()  # let the loop notice at once and fall back to polling

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)
