"""A local fake of a Mastodon instance (statuses, media, accounts, instance), strict like the real one.

Every ``/api`` call must carry ``Authorization: Bearer <token>`` with the scope the real route
asks for (Doorkeeper's 401 ``The access token is invalid`` and 403 ``This action is outside the
authorized scopes`` otherwise).  ``POST /api/v1/statuses`` takes form or JSON fields, refuses
unknown ones and empty text with Mastodon's 422 bodies, and keeps each ``Idempotency-Key`` for
an hour: a repeated key gets the status the first request created.  ``POST /api/v2/media``
answers 202 with ``url: null`` while the image "processes"; ``GET /api/v1/media/:id`` answers
206 until it is done, and a status naming unprocessed media gets Mastodon's 422.  Scripted
failures (``fail_next``) may first create the status, as a real 500 after the commit can.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

STATUS_FIELDS = {
    "status",
    "visibility",
    "language",
    "media_ids[]",
    "media_ids",
    "spoiler_text",
    "sensitive",
    "in_reply_to_id",
    "scheduled_at",
    "poll",
}
INVALID_TOKEN = {"error": "The access token is invalid"}
OUT_OF_SCOPE = {"error": "This action is outside the authorized scopes"}
NOT_FOUND = {"error": "Record not found"}
PROCESSING = {
    "error": "Cannot attach files that have not finished processing. Try again in a moment!"
}
TOO_MANY = {"error": "Too many requests"}
KEY_SECONDS = 3600


@dataclass
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]
    fields: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Script:
    """A scripted answer for the next request that matches ``method`` and ``path`` prefix."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    create: bool = False
    method: str = "POST"
    path: str = "/api/v1/statuses"


class FakeMastodon:
    """One account on a local Mastodon instance; use as a context manager."""

    def __init__(
        self,
        token: str = "mastodon-secret-token-0123456789",
        *,
        processing_polls: int = 0,
        max_characters: int = 500,
    ) -> None:
        self.token = token
        self.scopes = {"write:statuses", "write:media", "read:statuses", "profile"}
        self.account = {"id": "109000000000000001", "acct": "s3chem", "username": "s3chem"}
        self.processing_polls = processing_polls
        self.max_characters = max_characters
        self.clock: Callable[[], float] = time.time  # the key store's clock; a test may move it
        self.statuses: list[dict[str, Any]] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, tuple[float, dict[str, Any]]] = {}
        self.seen: list[Seen] = []
        self.scripts: deque[Script] = deque()
        self._ids = itertools.count(110000000000000001)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> FakeMastodon:
        fake = self

        class Handler(_Handler):
            state = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_next(self, status: int, body: Any = None, **kw: Any) -> None:
        """Answer the next matching request (default: posting a status) with this answer."""
        self.scripts.append(Script(status, body, **kw))

    def add_status(self, text: str, created_at: str | None = None) -> dict[str, Any]:
        """A status already on the account (as if posted by hand)."""
        return self._store({"status": [text]}, created_at)

    def texts(self) -> list[str]:
        return [s["text"] for s in self.statuses]

    def requests_to(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path.startswith(path)]

    def _store(self, fields: dict[str, list[str]], created_at: str | None = None) -> dict[str, Any]:
        text = fields.get("status", [""])[0]
        status_id = str(next(self._ids))
        html = "".join(f"<p>{escape(p).replace(chr(10), '<br />')}</p>" for p in text.split("\n\n"))
        media_ids = fields.get("media_ids[]", [])
        status = {
            "id": status_id,
            "url": f"{self.url}/@{self.account['acct']}/{status_id}",
            "created_at": created_at or time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "content": html,
            "text": text,
            "visibility": fields.get("visibility", ["public"])[0],
            "language": fields.get("language", [None])[0],
            "media_attachments": [self.media[m] for m in media_ids if m in self.media],
            "account": self.account,
        }
        with self._lock:
            self.statuses.append(status)
        return status


class _Handler(BaseHTTPRequestHandler):
    state: FakeMastodon
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _handle(self, method: str) -> None:
        fake = self.state
        parts = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fields = self._fields(raw) if method != "GET" else parse_qs(parts.query)
        fake.seen.append(Seen(method, parts.path, dict(self.headers.items()), fields))
        if self.headers.get("Authorization") != f"Bearer {fake.token}":
            return self._send(401, INVALID_TOKEN)
        scope = _scope(method, parts.path)
        if scope and not (fake.scopes & scope):
            return self._send(403, OUT_OF_SCOPE)
        for script in list(fake.scripts):
            if script.method == method and parts.path.startswith(script.path):
                fake.scripts.remove(script)
                if script.create:
                    self._route(method, parts.path, fields)  # the real work, answer discarded
                return self._send(script.status, script.body, script.headers)
        self._route(method, parts.path, fields, answer=True)

    def _route(
        self, method: str, path: str, fields: dict[str, list[str]], answer: bool = False
    ) -> None:
        fake = self.state
        result: tuple[int, Any]
        if method == "POST" and path == "/api/v1/statuses":
            result = self._create(fields)
        elif method == "PUT" and path.startswith("/api/v1/statuses/"):
            result = self._edit(path.rsplit("/", 1)[1], fields)
        elif method == "POST" and path == "/api/v2/media":
            result = self._upload(fields)
        elif method == "GET" and path.startswith("/api/v1/media/"):
            result = self._media(path.rsplit("/", 1)[1])
        elif method == "GET" and path == "/api/v1/accounts/verify_credentials":
            result = (200, fake.account)
        elif method == "GET" and path == f"/api/v1/accounts/{fake.account['id']}/statuses":
            result = (200, list(reversed(fake.statuses))[:40])
        elif method == "GET" and path == "/api/v2/instance":
            config = {"statuses": {"max_characters": fake.max_characters}}
            result = (200, {"domain": "127.0.0.1", "configuration": config})
        else:
            result = (404, NOT_FOUND)
        if answer:
            self._send(*result)

    def _create(self, fields: dict[str, list[str]]) -> tuple[int, Any]:
        fake = self.state
        key = self.headers.get("Idempotency-Key")
        now = fake.clock()
        if key and key in fake.keys and now - fake.keys[key][0] < KEY_SECONDS:
            return 200, fake.keys[key][1]
        unknown = sorted(set(fields) - STATUS_FIELDS)
        if unknown:
            return 422, {"error": f"Validation failed: unknown parameter {unknown[0]}"}
        text = fields.get("status", [""])[0]
        media_ids = fields.get("media_ids[]", [])
        if not text.strip() and not media_ids:
            return 422, {"error": "Validation failed: Text can't be blank"}
        if len(re.sub(r"https?://\S+", "x" * 23, text)) > fake.max_characters:
            return 422, {
                "error": f"Validation failed: Text character limit of {fake.max_characters} exceeded"
            }
        if fields.get("visibility", ["public"])[0] not in (
            "public",
            "unlisted",
            "private",
            "direct",
        ):
            return 422, {"error": "Validation failed: Visibility is not included in the list"}
        for media_id in media_ids:
            media = fake.media.get(media_id)
            if media is None:
                return 422, {"error": "Validation failed: Media attachments is invalid"}
            if media["url"] is None:
                return 422, PROCESSING
        status = fake._store(fields)
        if key:
            fake.keys[key] = (now, status)
        return 200, status

    def _edit(self, status_id: str, fields: dict[str, list[str]]) -> tuple[int, Any]:
        for status in self.state.statuses:
            if status["id"] == status_id:
                text = fields.get("status", [""])[0]
                if not text.strip():
                    return 422, {"error": "Validation failed: Text can't be blank"}
                status["text"] = text
                status["content"] = f"<p>{escape(text)}</p>"
                return 200, status
        return 404, NOT_FOUND

    def _upload(self, fields: dict[str, list[str]]) -> tuple[int, Any]:
        fake = self.state
        if "file" not in fields:
            return 422, {"error": "Validation failed: File can't be blank"}
        media_id = str(next(fake._ids))
        done = fake.processing_polls == 0
        media = {
            "id": media_id,
            "type": "image",
            "url": f"{fake.url}/media/{media_id}.png" if done else None,
            "preview_url": f"{fake.url}/media/{media_id}-small.png",
            "description": fields.get("description", [None])[0],
            "polls_left": fake.processing_polls,
            "bytes": len(fields["file"][0]),
        }
        fake.media[media_id] = media
        return (200 if done else 202), media

    def _media(self, media_id: str) -> tuple[int, Any]:
        media = self.state.media.get(media_id)
        if media is None:
            return 404, NOT_FOUND
        if media["url"] is None:
            media["polls_left"] -= 1
            if media["polls_left"] > 0:
                return 206, media
            media["url"] = f"{self.state.url}/media/{media_id}.png"
        return 200, media

    def _fields(self, raw: bytes) -> dict[str, list[str]]:
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/json"):
            data = json.loads(raw or b"{}")
            return {
                k: [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in data.items()
            }
        if ctype.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                f"Content-Type: {ctype}\r\n\r\n".encode() + raw
            )
            out: dict[str, list[str]] = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                value = payload.decode("latin-1") if part.get_filename() else payload.decode()
                out.setdefault(str(name), []).append(value)
            return out
        return parse_qs(raw.decode(), keep_blank_values=True)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b"<html>Bad Gateway</html>"
        self.send_response(status)
        ctype = "application/json; charset=utf-8" if body is not None else "text/html"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _scope(method: str, path: str) -> set[str] | None:
    """The scopes any of which the real route accepts (Doorkeeper's ``authorize!`` lists)."""
    if path.startswith("/api/v1/statuses") and method in ("POST", "PUT"):
        return {"write", "write:statuses"}
    if path.startswith(("/api/v2/media", "/api/v1/media")):
        return {"write", "write:media"}
    if path == "/api/v1/accounts/verify_credentials":
        return {"profile", "read", "read:accounts"}
    if path.startswith("/api/v1/accounts/"):
        return {"read", "read:statuses"}
    return None
