"""A local website that serves news feeds (and their images) like real web servers do.

Each path is a ``Page``: a body with its Content-Type, or a redirect, an error status, a
slow or an oversized answer.  It answers conditional GETs (``If-None-Match`` /
``If-Modified-Since``) with 304, as Apache and nginx do for static feeds, and records every
request so tests can check the User-Agent and the conditional headers sent.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data" / "feeds"


@dataclass
class Page:
    """What one path answers."""

    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    location: str | None = None
    delay: float = 0.0
    #: Send this many bytes, chunked, without a Content-Length (an endless or huge answer).
    stream: int = 0
    validators: bool = True
    modified: float = field(default_factory=time.time)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'

    @property
    def last_modified(self) -> str:
        return formatdate(self.modified, usegmt=True)


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]


class FeedSite:
    """The fake website on 127.0.0.1, port chosen by the system."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.requests: list[Request] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                site.requests.append(
                    Request(self.path, {k.lower(): v for k, v in self.headers.items()})
                )
                page = site.pages.get(self.path)
                if page is None:
                    return self._send(
                        404, b"<html><body><h1>Not Found</h1></body></html>", "text/html"
                    )
                if page.delay:
                    time.sleep(page.delay)
                if page.location is not None:
                    return self._send(page.status, b"", "text/html", {"Location": page.location})
                if page.status != 200:
                    return self._send(page.status, b"<html><body>Gone</body></html>", "text/html")
                if page.stream:
                    return self._stream(page)
                extra = {}
                if page.validators:
                    extra = {"ETag": page.etag, "Last-Modified": page.last_modified}
                    match = self.headers.get("If-None-Match")
                    since = self.headers.get("If-Modified-Since")
                    if match == page.etag or (match is None and since == page.last_modified):
                        return self._send(304, b"", None, extra)
                return self._send(200, page.body, page.content_type, extra)

            def _send(
                self,
                status: int,
                body: bytes,
                kind: str | None,
                headers: dict[str, str] | None = None,
            ) -> None:
                self.send_response(status)
                if kind:
                    self.send_header("Content-Type", kind)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (a timeout test)

            def _stream(self, page: Page) -> None:
                self.send_response(200)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"<!-- " + b"x" * 65_000 + b" -->\n"
                sent = 0
                try:
                    while sent < page.stream:
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        sent += len(chunk)
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading, as it should
                self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(
        self,
        path: str,
        body: bytes | str,
        content_type: str = "application/rss+xml; charset=utf-8",
        **kwargs: Any,
    ) -> str:
        """Serve ``body`` at ``path``; returns the full URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.pages[path] = Page(data, content_type, **kwargs)
        return self.url + path

    def serve_file(self, path: str, name: str, content_type: str = "application/rss+xml") -> str:
        """Serve one of the sample feeds in tests/data/feeds as bytes, as a web server would."""
        return self.serve(path, (DATA / name).read_bytes(), content_type)

    def redirect(self, path: str, to: str, status: int) -> str:
        self.pages[path] = Page(status=status, location=to)
        return self.url + path

    def seen(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
