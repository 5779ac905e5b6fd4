"""Failure notifications through Apprise, each raised exactly once even across restarts.

The ledger's history is the outbox: every transition to ``failed`` or ``uncertain`` (whoever
made it: this worker, another one, a crash taken over at start) becomes one row of the
``notifications`` table, keyed by its history entry, and so does a token about to expire
(keyed by channel and expiry day).  The unique key is what makes "once" hold when the
process restarts or several workers share the ledger.  Apprise is the optional ``notify``
extra, imported only when URLs are configured.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta

from publisher.core import logs
from publisher.core.config import Config
from publisher.core.models import State
from publisher.core.secrets import check_expiry, redact, scrub
from publisher.store.ledger import Ledger
from publisher.store.outbox import Outbox

#: A notification that could not be delivered is tried again this many times, this far apart.
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(seconds=60)
#: History this recent is scanned again (PostgreSQL may commit entries out of order).
RESCAN = timedelta(minutes=5)
#: Older transitions are not announced (e.g. when notifications are switched on later).
MAX_AGE = timedelta(days=1)
ALERT_STATES = (State.FAILED.value, State.UNCERTAIN.value)


def message_for(delivery_id: str, state: str, detail: str | None) -> tuple[str, str]:
    """Title and body of a delivery alert: what happened and what to do; never a secret."""
    if state == State.FAILED.value:
        todo = f"Fix the cause, then run: publisher retry {delivery_id}"
    else:
        todo = (
            "The post may or may not exist; publisher looks for it before any retry. "
            f"If it stays uncertain: publisher resolve {delivery_id} --sent URL (or --not-sent)"
        )
    title = f"publisher: delivery {state}: {delivery_id}"
    body = f"{delivery_id} is {state}: {detail or 'no detail'}\n{todo}"
    return scrub(title), scrub(body)


class Notifier:
    """Turns ledger history into Apprise notifications; ``run`` is safe to call any time."""

    def __init__(
        self,
        config: Config,
        ledger: Ledger,
        clock: Callable[[], datetime],
        environ: Mapping[str, str],
        *,
        sender: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.config = config
        self.ledger = ledger
        self.outbox = Outbox(ledger)
        self.clock = clock
        self.urls = [environ[n] for n in config.notify_urls_env if environ.get(n, "").strip()]
        self._unset = [n for n in config.notify_urls_env if not environ.get(n, "").strip()]
        self._send = sender
        self._lock = threading.Lock()
        self._done_tokens: set[str] = set()
        self.enabled = False
        self._apprise_log = ""

    def setup(self) -> bool:
        """Load Apprise if URLs are configured; one clear warning if that cannot work."""
        for name in self._unset:
            logs.get().warning(f"notify: {name} is not set; no notifications go there")
        if not self.urls:
            return False
        if self._send is None:
            try:
                import apprise
            except ImportError:
                logs.get().warning(
                    "notify: [notify] urls_env is set but Apprise is not installed, so no "
                    "failure notifications will be sent; install the extra: "
                    "pip install 'publisher[notify]'"
                )
                return False
            client = apprise.Apprise()
            for name, url in zip(self.config.notify_urls_env, self.urls, strict=False):
                if not client.add(url):
                    logs.get().warning(f"notify: the Apprise URL in {name} is not valid; skipped")
            if not len(client):
                return False

            def send(title: str, body: str) -> bool:
                # Apprise says why a notification failed only in its log: keep those lines.
                with apprise.LogCapture(level=logging.INFO) as captured:
                    ok = bool(client.notify(title=title, body=body))
                self._apprise_log = captured.getvalue()
                return ok

            self._send = send
        self.enabled = True
        return True

    # -- the outbox -------------------------------------------------------------------------
    def run(self, today: date | None = None) -> int:
        """Queue what is new in the history (and near token expiries), then deliver; a count."""
        if not self.enabled:
            return 0
        with self._lock:
            now = self.ledger.db_now(self.clock())
            self.outbox.add_from_history(now, message_for, ALERT_STATES, MAX_AGE, RESCAN)
            self._queue_tokens(today or self.clock().date(), now)
            return self._deliver(now)

    def _queue_tokens(self, today: date, now: datetime) -> None:
        for cfg in self.config.channels.values():
            for warning in check_expiry(cfg, today):
                key = f"token:{cfg.name}:{cfg.options.get('token_expires_at')}"
                if key in self._done_tokens:
                    continue
                body = (
                    f"{warning}\nRenew it, put it in {cfg.token_env} and update token_expires_at."
                )
                title = f"publisher: token of {cfg.name!r} expires soon"
                self.outbox.add(key, title, body, now)
                self._done_tokens.add(key)

    def _deliver(self, now: datetime) -> int:
        sent = 0
        for row in self.outbox.waiting(now, MAX_ATTEMPTS, RETRY_AFTER):
            if not self.outbox.claim(row.key, row.attempts, now):
                continue  # another worker sends this one
            ok, error = self._attempt(row.title, row.body)
            self.outbox.settle(row.key, ok, error, now)
            if ok:
                sent += 1
                logs.get().info(f"notification sent: {row.title}")
            elif row.attempts + 1 >= MAX_ATTEMPTS:
                logs.get().error(f"notification not delivered, giving up: {row.title} ({error})")
            else:
                logs.get().warning(f"notification not delivered, will retry: {row.title} ({error})")
        return sent

    def _attempt(self, title: str, body: str) -> tuple[bool, str | None]:
        assert self._send is not None
        try:
            self._apprise_log = ""
            if self._send(title, body):
                return True, None
            said = redact(self._apprise_log, self.urls)
            lines = [scrub(line.strip()) for line in said.splitlines() if line.strip()]
            for line in lines:
                logs.get().debug(f"apprise: {line}")
            reason = "; ".join(lines[-3:]) or "it logged no reason"
            return False, f"Apprise reported a failure: {reason}"
        except Exception as exc:  # noqa: BLE001 - a notification must never stop publishing
            return False, scrub(f"{type(exc).__name__}: {exc}")


class NotifyThread:
    """Runs the notifier in the background, so a slow alert never delays a send."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="notify", daemon=True)

    def start(self) -> None:
        if self.notifier.enabled:
            self._thread.start()

    def kick(self, *_: object) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                self.notifier.run()
            except Exception as exc:  # noqa: BLE001 - keep the daemon up; say why
                logs.get().warning(f"notifications: {type(exc).__name__}: {scrub(str(exc))}")
            if self._stop.is_set():
                return

    def stop(self, timeout: float) -> None:
        """Deliver what is queued (bounded by ``timeout``), then end the thread."""
        if self._thread.is_alive():
            self._stop.set()
            self._wake.set()
            self._thread.join(timeout)
