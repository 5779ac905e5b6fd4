"""The real ``publisher run`` process for end-to-end tests, and the files it reads and writes.

``Proc`` keeps a process's output in a file; ``wait_until`` polls an outside observable (a fake,
a file, the ledger) instead of sleeping a fixed time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from publisher.core.models import LedgerRow, State
from publisher.store.ledger import Ledger

if TYPE_CHECKING:
    from fakes.graph import FakeGraph

ENV = "PUBLISHER_FACEBOOK_TOKEN"


def toml_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_post(posts: Path, name: str, title: str, at: datetime, *, channels: list[str] | None = None,
               extra: str = "", body: str = "") -> Path:  # fmt: skip
    """A post file, written atomically (a half-written file is not what these tests are about)."""
    lines = ["+++", f'title = "{title}"', f"publish_at = {toml_time(at)}"]
    if channels is not None:
        lines.append(f"channels = {json.dumps(channels)}")
    text = "\n".join(lines) + "\n" + extra + "+++\n" + (body or f"About {title}.") + "\n"
    path = posts / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_config(
    folder: Path,
    graph: FakeGraph | None = None,
    *,
    state: str = "state/ledger.db",
    tick: str = "1s",
    lease: str = "5m",
    rss: bool = True,
    notify_env: str | None = None,
    extra: str = "",
) -> Path:
    parts = [
        "[publisher]",
        'timezone = "Europe/Berlin"',
        'posts_dir = "posts"',
        f'state = "{state}"',
        'languages = ["en"]',
        f'tick = "{tick}"',
        f'lease = "{lease}"',
        'retry_backoff = "1s"',
        extra,
    ]
    if graph is not None:
        parts += [
            "[channels.facebook]",
            'type = "facebook"',
            f'page_id = "{graph.page_id}"',
            f'token_env = "{ENV}"',
            f'api_url = "{graph.url}"',
        ]
    if rss:
        parts += [
            "[channels.rss]",
            'type = "rss"',
            'path = "public/feed.xml"',
            'title = "S3Chem news"',
            'link = "https://example.org/s3chem"',
            'feed_url = "https://example.org/s3chem/feed.xml"',
        ]
    if notify_env:
        parts += ["[notify]", f'urls_env = ["{notify_env}"]']
    (folder / "posts").mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


def wait_until(check: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll an outside observable (the fake, a file, the ledger) until it holds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or check}")
        time.sleep(0.01)


class Proc:
    """One ``publisher`` process with its output in a file (a pipe could fill up and block)."""

    count = 0

    def __init__(self, config: Path, *args: str, env: dict[str, str] | None = None,
                 log_format: str = "text") -> None:  # fmt: skip
        Proc.count += 1
        self.out = config.parent / f"run-{Proc.count}.log"
        self.handle = self.out.open("w+", encoding="utf-8")
        command = [sys.executable, "-m", "publisher", "--config", str(config),
                   "--log-format", log_format, *args]  # fmt: skip
        self.proc = subprocess.Popen(command, stdout=self.handle, stderr=subprocess.STDOUT,
                                     env=env, cwd=config.parent)  # fmt: skip

    @property
    def output(self) -> str:
        return self.out.read_text(encoding="utf-8")

    def wait_for(self, text: str, timeout: float = 10.0) -> None:
        def seen() -> bool:
            if self.proc.poll() is not None and text not in self.output:
                raise AssertionError(
                    f"exited {self.proc.returncode} before {text!r}:\n{self.output}"
                )
            return text in self.output

        wait_until(seen, timeout, repr(text))

    def wait_for_more(self, text: str, more: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``text`` appears ``more`` times beyond now (e.g. ticks, with ``--debug``)."""
        target = self.output.count(text) + more
        wait_until(lambda: self.output.count(text) >= target, timeout, f"{more} more {text!r}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.handle.close()

    def wait(self, timeout: float = 10.0) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self.handle.close()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(5)
        self.handle.close()


def daemon(config: Path, env: dict[str, str], log_format: str = "text", *,
           debug: bool = False) -> Proc:  # fmt: skip
    """``publisher run`` started and ready; with ``debug`` it logs each tick (to wait for)."""
    proc = Proc(config, *(["--debug"] if debug else []), "run", env=env, log_format=log_format)
    proc.wait_for("publisher run:")
    return proc


def rows(config: Path, state: str | None = None) -> dict[str, LedgerRow]:
    url = state or f"sqlite:///{config.parent / 'state' / 'ledger.db'}"
    ledger = Ledger.open(url)
    try:
        return {r.id: r for r in ledger.rows()}
    finally:
        ledger.close()


def state_of(config: Path, delivery_id: str) -> State | None:
    row = rows(config).get(delivery_id)
    return row.state if row else None
