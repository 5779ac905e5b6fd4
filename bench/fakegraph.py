"""A Graph API fake that answers after a fixed latency, run as its own process.

It reuses the test suite's ``tests/fakes/graph.py`` (strict about tokens, paths and fields)
when the checkout has it, and falls back to a minimal fake that answers ``POST
/{version}/{page}/feed`` and ``/photos`` with an id.  Its own process, so its threads never
compete with the code under test for the GIL.  Protocol: the first stdout line is JSON with
``url``, ``page_id``, ``token``, ``version`` and ``impl``; at stdin's end it prints the number
of posts it created and exits.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PAGE_ID = "104729381234567"
TOKEN = "EAAGbenchPageToken1234567890"
VERSION = "v26.0"


class _Minimal(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    latency = 0.05
    ids = itertools.count(1)
    created: list[str] = []

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.latency)
        parts = self.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == VERSION and parts[2] in ("feed", "photos"):
            post_id = f"{parts[1]}_{next(self.ids)}"
            self.created.append(post_id)
            body = {"id": post_id, "post_id": post_id}
            status = 200
        else:
            body = {"error": {"message": "Unknown path", "code": 2500, "type": "OAuthException"}}
            status = 400
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _start_tests_fake(latency: float) -> tuple[Any, dict[str, str], Any]:
    """The test suite's FakeGraph, with every POST delayed by ``latency`` seconds."""
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    from tests.fakes import graph  # type: ignore[import-not-found]

    class Slow(graph.FakeGraph):  # type: ignore[misc, name-defined]
        def __enter__(self) -> Slow:
            fake = self

            class Handler(graph._Handler):  # type: ignore[misc, name-defined]
                graph = fake
                # Headers and body leave in two writes; with Nagle on, the body waits for
                # the client's delayed ACK (40 ms on Linux), which is not the service's latency.
                disable_nagle_algorithm = True

                def do_POST(self) -> None:
                    time.sleep(latency)
                    super().do_POST()

            self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            self._server.daemon_threads = True
            threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
            return self

    fake = Slow().__enter__()
    info = {"url": fake.url, "page_id": fake.page_id, "token": fake.token,
            "version": fake.version, "impl": "tests/fakes/graph.py"}  # fmt: skip
    return fake, info, lambda: (len(fake.posts), len(fake.violations))


def _start_minimal(latency: float) -> tuple[Any, dict[str, str], Any]:
    _Minimal.latency = latency
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Minimal)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    host, port = server.server_address[:2]
    info = {"url": f"http://{host}:{port}", "page_id": PAGE_ID, "token": TOKEN,
            "version": VERSION, "impl": "bench/fakegraph.py (minimal)"}  # fmt: skip
    return server, info, lambda: (len(_Minimal.created), 0)


def main() -> None:
    latency = float(sys.argv[1]) if len(sys.argv) > 1 else 0.05
    try:
        _, info, counts = _start_tests_fake(latency)
    except (ImportError, AttributeError, TypeError):
        _, info, counts = _start_minimal(latency)
    print(json.dumps(info), flush=True)
    sys.stdin.read()
    posts, violations = counts()
    print(json.dumps({"posts": posts, "violations": violations}), flush=True)


if __name__ == "__main__":
    main()
