"""A local fake of the Facebook Graph API, strict where the real one is and failing on demand.

It serves one Page: ``POST /{v}/{page}/feed``, ``POST /{v}/{page}/photos`` (multipart),
``GET /{v}/{page}/published_posts`` (cursor paging; like Graph, ``paging.next`` carries the
token, so a client that follows it is caught) and ``GET /{v}/{page}``.  It rejects a token in
the URL with HTTP 400 and records the violation, and answers with Graph's error bodies.
Scripted failures (``fail_next``, ``html_next``, ``hang_next``, ``drop_next``) can first create
the post, as Facebook sometimes does before answering 500.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

#: Graph's own wording for the errors the fake is asked to produce.
MESSAGES = {
    1: "An unknown error occurred",
    2: "An unexpected error has occurred. Please retry your request later.",
    4: "(#4) Application request limit reached",
    10: "(#10) Application does not have permission for this action",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    100: "(#100) Invalid parameter",
    190: "Error validating access token: Session has expired on Tuesday, 19-Jan-27 04:00:00 PST.",
    200: "(#200) The user hasn't authorized the application to perform this action",
    283: "(#283) Requires pages_read_engagement permission to manage the object",
    368: "It looks like you were misusing this feature by going too fast. "
    "You've been temporarily blocked from using it.",
    506: "(#506) Duplicate status message",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    2635: "(#2635) You are calling a deprecated version of the Graph API. "
    "Please update to the latest version: v26.0.",
    80001: "(#80001) There have been too many calls to this Page account. "
    "Wait a bit and try again.",
}
TRANSIENT = {1, 2, 4, 17, 32, 613, 80001}


@dataclass
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Script:
    """A scripted answer for the next request: error, html, hang or drop."""

    kind: str
    status: int = 400
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    create: bool = False
    seconds: float = 0.0
    #: Answer only a request of this method (``"POST"``: a send), letting others through.
    method: str | None = None


def error_body(
    code: int,
    subcode: int | None = None,
    message: str | None = None,
    is_transient: bool | None = None,
) -> dict[str, Any]:
    """Graph's error body: message, type, code, error_subcode, is_transient, fbtrace_id."""
    error: dict[str, Any] = {
        "message": message or MESSAGES.get(code, f"(#{code}) An error occurred"),
        "type": "OAuthException",
        "code": code,
        "is_transient": code in TRANSIENT if is_transient is None else is_transient,
        "fbtrace_id": "AbCdEf1234567",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


class ScriptSource(Protocol):
    """Where the next scripted answer comes from: a queue, or anything with ``popleft``."""

    def __bool__(self) -> bool: ...

    def popleft(self) -> Script | None: ...


class FakeGraph:
    """The fake server; use as a context manager, ``.url`` is its base URL."""

    def __init__(
        self,
        *,
        page_id: str = "104729381234567",
        page_name: str = "S3Chem Interreg Europe",
        token: str = "EAAGfakePageTokenZX9Qw3rT7yU1iO5pA8sD2fG6hJ0kL4",
        version: str = "v26.0",
        page_size: int = 25,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.page_id = page_id
        self.page_name = page_name
        self.token = token
        self.version = version
        self.page_size = page_size
        self.clock = clock or (lambda: datetime.now(UTC))
        self.posts: list[dict[str, Any]] = []
        self.uploads: list[dict[str, Any]] = []
        self.requests: list[Seen] = []
        self.violations: list[str] = []
        self._scripts: ScriptSource = deque()
        #: Set by ``hold_posts``: every POST waits for it (their paths in ``held``).
        self.gate: threading.Event | None = None
        self.held: list[str] = []
        self._ids = itertools.count(900000000000001)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> FakeGraph:
        fake = self

        class Handler(_Handler):
            graph = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake with `with FakeGraph() as fake:`"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- scripting ------------------------------------------------------------------------

    def fail_next(
        self,
        code: int,
        subcode: int | None = None,
        *,
        status: int = 400,
        message: str | None = None,
        is_transient: bool | None = None,
        headers: dict[str, str] | None = None,
        create: bool = False,
        method: str | None = None,
    ) -> None:
        """Answer the next request (of ``method``) with a Graph error (creating the post first
        if ``create``)."""
        body = error_body(code, subcode, message, is_transient)
        self._scripts.append(Script("error", status, body, headers or {}, create, method=method))

    def html_next(
        self, status: int = 502, *, create: bool = False, method: str | None = None
    ) -> None:
        """Answer the next request with an HTML error page, as a proxy in front of Graph does."""
        self._scripts.append(Script("html", status, create=create, method=method))

    def hang_next(
        self, seconds: float = 1.5, *, create: bool = True, method: str | None = None
    ) -> None:
        """Answer the next request only after ``seconds`` (longer than the client waits)."""
        self._scripts.append(Script("hang", create=create, seconds=seconds, method=method))

    def drop_next(self, *, create: bool = True, method: str | None = None) -> None:
        """Close the connection without any answer after reading the request."""
        self._scripts.append(Script("drop", create=create, method=method))

    def script_with(self, source: ScriptSource) -> None:
        """Take the next scripted answers from ``source`` (e.g. seeded random faults)."""
        self._scripts = source

    def hold_posts(self) -> threading.Event:
        """Keep every POST open until the returned event is set; their paths go to ``held``."""
        self.gate = threading.Event()
        return self.gate

    def add_post(self, message: str, created_time: datetime | None = None) -> dict[str, Any]:
        """Seed a post the Page already has (e.g. older ones, for paging)."""
        return self._create(message, created_time=created_time)

    # -- state --------------------------------------------------------------------------------

    def _create(
        self, message: str, link: str = "", photo: str = "", created_time: datetime | None = None
    ) -> dict[str, Any]:
        with self._lock:
            post = {
                "id": f"{self.page_id}_{next(self._ids)}",
                "message": message,
                "link": link,
                "photo_id": photo,
                "created": created_time or self.clock(),
                "seq": len(self.posts),
            }
            self.posts.append(post)
            return post

    def post(self, post_id: str) -> dict[str, Any] | None:
        """The Page post with this id, if the Page has it."""
        with self._lock:
            return next((p for p in self.posts if p["id"] == post_id), None)

    def _newest_first(self) -> list[dict[str, Any]]:
        with self._lock:
            return sorted(self.posts, key=lambda p: (p["created"], p["seq"]), reverse=True)


class _Handler(BaseHTTPRequestHandler):
    graph: FakeGraph
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answer at once, not after the 40 ms delayed-ACK wait

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the tests read ``fake.requests`` instead."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        gate = self.graph.gate
        if gate is not None:
            self.graph.held.append(self.path)
            gate.wait(30)
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # -- dispatch -------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        g = self.graph
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fields, files = self._parse_body(raw)
        seen = Seen(method, url.path, query, {k.lower(): v for k, v in self.headers.items()})
        seen.fields = fields
        g.requests.append(seen)
        if "access_token" in query or g.token in self.path:
            g.violations.append(f"token in the URL of {method} {url.path}")
            return self._error(400, 100, "fake Graph: an access_token in the URL is refused")
        match = re.fullmatch(r"/(v\d+\.\d+)/([^/]+)(?:/([a-z_]+))?/?", url.path)
        if match is None:
            return self._error(400, 2500, "Unknown path components: " + url.path)
        version, node, edge = match.groups()
        if version != g.version:
            return self._error(400, 2635)
        auth = self.headers.get("Authorization", "")
        given = re.sub(r"^(Bearer|OAuth)\s+", "", auth) if auth else fields.get("access_token")
        if not given:
            return self._error(400, 104, "An access token is required to request this resource.")
        if given != g.token:
            return self._error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        editing = edge is None and method == "POST" and g.post(node) is not None
        if node != g.page_id and not editing:
            return self._error(
                400,
                100,
                f"Unsupported {method.lower()} request. Object with ID '{node}' does "
                "not exist, cannot be loaded due to missing permissions, or does not support "
                "this operation.",
            )
        scripts, script = g._scripts, None
        head = scripts[0] if isinstance(scripts, deque) and scripts else None
        if scripts and (head is None or head.method in (None, method)):
            script = scripts.popleft()
        if editing:  # a scripted failure answers instead of the edit, which then does not happen
            return self._edit(node, fields) if script is None else self._play(script)
        if script is None:
            return self._route(method, edge, query, fields, files)
        if script.create:
            self._route(method, edge, query, fields, files, answer=False)
        self._play(script)

    def _play(self, script: Script) -> None:
        if script.kind == "error":
            self._send(script.status, script.body, script.headers)
        elif script.kind == "html":
            page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            self._send_raw(script.status, page, "text/html; charset=utf-8")
        elif script.kind == "hang":
            time.sleep(script.seconds)
            self._send(500, {"error": "too late"})
        elif script.kind == "drop":
            self.close_connection = True

    def _route(
        self,
        method: str,
        edge: str | None,
        query: dict[str, list[str]],
        fields: dict[str, str],
        files: dict[str, dict[str, Any]],
        answer: bool = True,
    ) -> None:
        g = self.graph
        status, body = 400, error_body(100, message=f"(#100) Unknown edge {edge!r} for {method}")
        for key, value in fields.items():
            if value in ("True", "False"):
                status, body = 400, error_body(100, message=f"(#100) {key} must be a boolean")
                break
        else:
            if method == "POST" and edge == "feed":
                status, body = self._feed(fields)
            elif method == "POST" and edge == "photos":
                status, body = self._photos(fields, files)
            elif method == "GET" and edge == "published_posts":
                status, body = self._published(query)
            elif method == "GET" and edge is None:
                wanted = (query.get("fields") or ["id,name"])[0].split(",")
                page = {"id": g.page_id, "name": g.page_name}
                status, body = 200, {k: v for k, v in page.items() if k in wanted}
        if answer:
            self._send(status, body)

    # -- edges ----------------------------------------------------------------------------

    def _edit(self, post_id: str, fields: dict[str, str]) -> None:
        """``POST /{v}/{post-id}``: Graph edits an existing Page post's message in place."""
        unknown = set(fields) - {"message", "access_token"}
        if unknown:
            return self._error(
                400, 100, f"(#100) Unknown fields for a post edit: {sorted(unknown)}"
            )
        if not fields.get("message"):
            return self._error(400, 100, "(#100) Missing message")
        post = self.graph.post(post_id)
        assert post is not None
        post["message"] = fields["message"]
        post["edits"] = post.get("edits", 0) + 1
        self._send(200, {"success": True})

    def _feed(self, fields: dict[str, str]) -> tuple[int, dict[str, Any]]:
        unknown = set(fields) - {"message", "link", "published", "access_token"}
        if unknown:
            return 400, error_body(100, message=f"(#100) Unknown fields: {sorted(unknown)}")
        if not fields.get("message") and not fields.get("link"):
            return 400, error_body(100, message="(#100) Missing message or attachment")
        post = self.graph._create(fields.get("message", ""), link=fields.get("link", ""))
        return 200, {"id": post["id"]}

    def _photos(
        self, fields: dict[str, str], files: dict[str, dict[str, Any]]
    ) -> tuple[int, dict[str, Any]]:
        g = self.graph
        source = files.get("source")
        if source is None:
            return 400, error_body(324, message="(#324) Requires upload file")
        if not source["type"].startswith("image/"):
            return 400, error_body(324, message="(#324) Missing or invalid image file")
        if "link" in fields:
            return 400, error_body(100, message="(#100) link is not a field of a photo upload")
        photo_id = str(next(g._ids))
        g.uploads.append({**source, "photo_id": photo_id})
        post = g._create(fields.get("caption", ""), photo=photo_id)
        return 200, {"id": photo_id, "post_id": post["id"]}

    def _published(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        g = self.graph
        wanted = (query.get("fields") or ["id"])[0].split(",")
        limit = min(int((query.get("limit") or [g.page_size])[0]), g.page_size)
        posts = g._newest_first()
        start = 0
        after = (query.get("after") or [""])[0]
        if after:
            last = base64.urlsafe_b64decode(after.encode()).decode()
            start = next((i + 1 for i, p in enumerate(posts) if p["id"] == last), len(posts))
        chunk = posts[start : start + limit]
        data = []
        for post in chunk:
            full = {
                "id": post["id"],
                "created_time": post["created"].strftime("%Y-%m-%dT%H:%M:%S+0000"),
                "permalink_url": f"https://www.facebook.com/{post['id']}",
            }
            if post["message"]:
                full["message"] = post["message"]
            data.append({k: v for k, v in full.items() if k in wanted})
        body: dict[str, Any] = {"data": data}
        if chunk:
            cursor = base64.urlsafe_b64encode(chunk[-1]["id"].encode()).decode()
            first = base64.urlsafe_b64encode(chunk[0]["id"].encode()).decode()
            body["paging"] = {"cursors": {"before": first, "after": cursor}}
            if start + limit < len(posts):
                params = {"access_token": g.token, "fields": ",".join(wanted), "after": cursor}
                body["paging"]["next"] = (
                    f"{g.url}/{g.version}/{g.page_id}/published_posts?{urlencode(params)}"
                )
        return 200, body

    # -- wire -------------------------------------------------------------------------------

    def _parse_body(self, raw: bytes) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            pairs = parse_qs(raw.decode(), keep_blank_values=True)
            return {k: v[-1] for k, v in pairs.items()}, {}
        if ctype.startswith("multipart/form-data"):
            return _multipart(raw, ctype)
        return {}, {}

    def _error(self, status: int, code: int, message: str | None = None) -> None:
        self._send(status, error_body(code, message=message))

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self._send_raw(status, data, "application/json; charset=UTF-8", headers)

    def _send_raw(
        self, status: int, data: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _multipart(raw: bytes, ctype: str) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Split a multipart/form-data body exactly, keeping file bytes untouched."""
    boundary = re.search(r'boundary="?([^";]+)"?', ctype)
    fields: dict[str, str] = {}
    files: dict[str, dict[str, Any]] = {}
    if boundary is None:
        return fields, files
    for section in raw.split(b"--" + boundary.group(1).encode())[1:]:
        if section.startswith(b"--"):
            break
        head, _, data = section.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n") if ": " in line)
        disposition = headers.get("Content-Disposition", "")
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        if name is None:
            continue
        if filename is not None:
            files[name.group(1)] = {
                "filename": filename.group(1),
                "type": headers.get("Content-Type", "application/octet-stream"),
                "bytes": data,
            }
        else:
            fields[name.group(1)] = data.decode()
    return fields, files
