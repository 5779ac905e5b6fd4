"""A local fake of LinkedIn's REST API (Posts, Images, token introspection), strict like the real one.

It serves one organization Page.  Every ``/rest`` call must carry the bearer token, a
``LinkedIn-Version`` that is not retired and ``X-Restli-Protocol-Version: 2.0.0``; the answers
to a missing or wrong one are LinkedIn's own error bodies (401 65600/65601/65602, 400
``VERSION_MISSING``, 426 ``NONEXISTENT_VERSION``, 403 ``ACCESS_DENIED``).  Like the real service
it reads ``commentary`` in the little format: an unescaped reserved character silently cuts the
text there (a ``#Word`` hashtag is fine), escapes are read as the character, and posts read back
show hashtags as ``{hashtag|\\#|Word}``.  A text already on the Page gets 422 ``DUPLICATE_POST``.
Scripted failures (``fail_next``) can first create the post, as LinkedIn sometimes does.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

RESERVED = set("\\|{}@[]()<>#*_~")
_HASHTAG = re.compile(r"#([^\W_]+)")
TOP_FIELDS = {
    "author",
    "commentary",
    "visibility",
    "distribution",
    "content",
    "lifecycleState",
    "isReshareDisabledByAuthor",
    "contentLandingPage",
    "contentCallToActionLabel",
    "container",
}
ARTICLE_FIELDS = {"source", "title", "description", "thumbnail", "thumbnailAltText"}
MEDIA_FIELDS = {"id", "altText", "title"}


@dataclass
class Seen:
    """One request as the fake received it (the raw path keeps its query string)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Script:
    """A scripted answer for the next matching request."""

    kind: str  # "error", "html", "drop" or "hang"
    status: int = 500
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    create: bool = False
    method: str = "POST"
    path: str = "/rest/posts"
    seconds: float = 0.0


def error_body(status: int, code: str, message: str, service: int | None = None) -> dict[str, Any]:
    """LinkedIn's plain error body."""
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if service is not None:
        body["serviceErrorCode"] = service
    return body


def validation_body(
    status: int, inputs: list[tuple[str, str, str]], message: str
) -> dict[str, Any]:
    """LinkedIn's validation envelope: ``errorDetails.inputErrors[]`` with field paths."""
    return {
        "errorDetailType": "com.linkedin.common.error.BadRequest",
        "message": message,
        "errorDetails": {
            "inputErrors": [
                {"description": desc, "input": {"inputPath": {"fieldPath": path}}, "code": code}
                for path, code, desc in inputs
            ]
        },
        "status": status,
    }


def read_little(raw: str) -> tuple[str, str, str]:
    """(plain text, the part LinkedIn kept, that part as read back) for a commentary."""
    plain: list[str] = []
    shown: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            plain.append(raw[i + 1])
            shown.append(raw[i : i + 2])
            i += 2
            continue
        tag = _HASHTAG.match(raw, i) if ch == "#" else None
        if tag:
            plain.append(tag.group(0))
            shown.append("{hashtag|\\#|" + tag.group(1) + "}")
            i = tag.end()
            continue
        if ch in RESERVED:
            break  # LinkedIn silently drops the rest of the text
        plain.append(ch)
        shown.append(ch)
        i += 1
    return "".join(plain), raw[:i], "".join(shown)


class FakeLinkedIn:
    """One organization Page on a local LinkedIn; use as a context manager."""

    def __init__(
        self,
        token: str = "li-secret-token-0123456789",
        organization: str = "2414183",
        *,
        retired: tuple[str, ...] = ("202401",),
        processing_polls: int = 0,
    ) -> None:
        self.token = token
        self.organization = organization
        self.author = f"urn:li:organization:{organization}"
        self.retired = set(retired)
        self.processing_polls = processing_polls
        self.token_state = "active"  # or "expired", "revoked"
        self.page_role = True
        self.image_fails = False
        self.client_id, self.client_secret = "client-id", "client-secret-987654"
        self.token_expires_at = int(time.time()) + 50 * 86400
        self.scope = "r_organization_social,w_organization_social"
        self.clock: Callable[[], float] = time.time  # posts' createdAt; a test may move it
        self.posts: list[dict[str, Any]] = []
        self.images: dict[str, dict[str, Any]] = {}
        self.seen: list[Seen] = []
        #: What a strict LinkedIn would have got wrong silently (e.g. an unescaped patch).
        self.violations: list[str] = []
        self.scripts: deque[Script] = deque()
        self._ids = itertools.count(7100000000000000001)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> FakeLinkedIn:
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

    def fail_next(self, status: int, body: dict[str, Any] | None = None, **kw: Any) -> None:
        """Answer the next matching request (default: creating a post) with this error."""
        self.scripts.append(Script("error", status, body, **kw))

    def script(self, kind: str, **kw: Any) -> None:
        """Answer the next matching request with an HTML page, a dropped socket or a hang."""
        self.scripts.append(Script(kind, **kw))

    def add_post(self, commentary: str, created_ms: int | None = None) -> dict[str, Any]:
        """A post already on the Page (as if made by hand), commentary in little format."""
        return self._store({"author": self.author, "commentary": commentary}, created_ms)

    def texts(self) -> list[str]:
        """The plain texts of the Page's posts, oldest first."""
        return [p["text"] for p in self.posts]

    def _store(self, body: dict[str, Any], created_ms: int | None = None) -> dict[str, Any]:
        text, kept, shown = read_little(body.get("commentary", ""))
        now = created_ms or int(self.clock() * 1000)
        post = {
            "id": f"urn:li:share:{next(self._ids)}",
            "author": body["author"],
            "commentary": shown,
            "text": text,
            "kept": kept,
            "content": body.get("content"),
            "visibility": body.get("visibility", "PUBLIC"),
            "lifecycleState": body.get("lifecycleState", "PUBLISHED"),
            "createdAt": now,
            "publishedAt": now,
            "lastModifiedAt": now,
        }
        with self._lock:
            self.posts.append(post)
        return post

    def _element(self, post: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in post.items() if k not in ("text", "kept")}


class _Handler(BaseHTTPRequestHandler):
    state: FakeLinkedIn
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answer at once, not after the 40 ms delayed-ACK wait

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
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fake.seen.append(Seen(method, self.path, dict(self.headers.items()), raw))
        split = urlsplit(self.path)
        script = next(
            (s for s in fake.scripts if s.method == method and split.path == s.path), None
        )
        if script is not None:
            fake.scripts.remove(script)
            if not script.create:
                return self._play(script)
        if split.path == "/oauth/v2/introspectToken":
            return self._introspect(raw)
        refused = self._gate(split.path)
        if refused:
            return self._send(*refused)
        status, body, headers = self._route(method, split.path, split.query, raw)
        if script is not None and status < 300:
            return self._play(script)
        self._send(status, body, headers)

    def _gate(self, path: str) -> tuple[int, dict[str, Any]] | None:
        """Auth, version and role checks, in LinkedIn's order."""
        fake = self.state
        if self.headers.get("Authorization") != f"Bearer {fake.token}":
            return 401, error_body(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)
        if fake.token_state == "expired":
            message = "The token used in the request has expired"
            return 401, error_body(401, "EXPIRED_ACCESS_TOKEN", message, 65602)
        if fake.token_state == "revoked":
            message = "The token used in the request has been revoked by the user"
            return 401, error_body(401, "REVOKED_ACCESS_TOKEN", message, 65601)
        if path.startswith("/dms-uploads/"):
            return None
        version = self.headers.get("LinkedIn-Version")
        if not version:
            message = "A version must be present. Please specify a version by adding the "
            return 400, error_body(400, "VERSION_MISSING", message + "LinkedIn-Version header.")
        if version in fake.retired or not re.fullmatch(r"\d{6}(\.\d+)?", version):
            message = f"Requested version {version[:6]}01 is not active"
            return 426, error_body(426, "NONEXISTENT_VERSION", message)
        if self.headers.get("X-Restli-Protocol-Version") != "2.0.0":
            return 400, error_body(400, "ILLEGAL_ARGUMENT", "Rest.li protocol 2.0.0 required")
        if not fake.page_role:
            resource = path.split("/")[2] if path.count("/") >= 2 else path
            message = f"Not enough permissions to access: {resource}.CREATE.{version}01"
            return 403, error_body(403, "ACCESS_DENIED", message, 100)
        return None

    def _route(
        self, method: str, path: str, query: str, raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        fake = self.state
        if method == "POST" and path == "/rest/posts":
            return self._create(raw)
        if method == "GET" and path == "/rest/posts":
            return self._finder(query)
        if method == "POST" and path.startswith("/rest/posts/"):
            return self._partial_update(unquote(path.rsplit("/", 1)[1]), raw)
        if method == "GET" and path.startswith("/rest/posts/"):
            urn = unquote(path.rsplit("/", 1)[1])
            found = [fake._element(p) for p in fake.posts if p["id"] == urn]
            if found:
                return 200, found[0], {}
            return 404, error_body(404, "NOT_FOUND", f"Post {urn} not found"), {}
        if method == "POST" and path == "/rest/images" and query == "action=initializeUpload":
            return self._initialize(raw)
        if method == "PUT" and path.startswith("/dms-uploads/"):
            urn = unquote(path.rsplit("/", 1)[1])
            if urn not in fake.images:
                return 404, error_body(404, "NOT_FOUND", "no such upload"), {}
            fake.images[urn]["bytes"] = raw
            fake.images[urn]["type"] = self.headers.get("Content-Type")
            return 201, None, {}
        if method == "GET" and path.startswith("/rest/images/"):
            return self._image(unquote(path.rsplit("/", 1)[1]))
        return 404, error_body(404, "NOT_FOUND", f"No resource at {method} {path}"), {}

    def _create(self, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        fake = self.state
        if self.headers.get("Content-Type") != "application/json":
            return 400, error_body(400, "ILLEGAL_ARGUMENT", "Content-Type must be JSON"), {}
        try:
            body = json.loads(raw)
        except ValueError:
            message = "Request body could not be converted to data map"
            return 400, error_body(400, "ILLEGAL_ARGUMENT", message), {}
        problems = self._validate(body)
        if problems:
            return 422, validation_body(422, problems, "Invalid post"), {}
        text = read_little(body["commentary"])[0]
        for post in fake.posts:
            if post["text"] == text and post["author"] == body["author"]:
                message = (
                    "com.linkedin.content.common.exception.BadRequestResponseException: "
                    f"Content is a duplicate of {post['id']}"
                )
                inputs = [
                    {
                        "description": "Duplicate post is detected",
                        "input": {},
                        "code": "DUPLICATE_POST",
                    }
                ]
                envelope = validation_body(422, [], message)
                envelope["errorDetails"]["inputErrors"] = inputs
                return 422, envelope, {}
        post = fake._store(body)
        return 201, None, {"x-restli-id": post["id"]}

    def _partial_update(self, urn: str, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        """``POST /rest/posts/{urn}`` with ``X-RestLi-Method: PARTIAL_UPDATE``: a new commentary.

        Like LinkedIn, an unescaped reserved character silently cuts the text; the fake also
        records it as a violation, so a test sees that a patch was not escaped.
        """
        fake = self.state
        if self.headers.get("X-RestLi-Method") != "PARTIAL_UPDATE":
            message = "POST to an entity needs X-RestLi-Method: PARTIAL_UPDATE"
            return 400, error_body(400, "ILLEGAL_ARGUMENT", message), {}
        if self.headers.get("Content-Type") != "application/json":
            return 400, error_body(400, "ILLEGAL_ARGUMENT", "Content-Type must be JSON"), {}
        post = next((p for p in fake.posts if p["id"] == urn), None)
        if post is None:
            return 404, error_body(404, "NOT_FOUND", f"Post {urn} not found"), {}
        try:
            patch = json.loads(raw)["patch"]
            commentary = patch["$set"]["commentary"]
        except (ValueError, KeyError, TypeError):
            message = 'expected {"patch": {"$set": {"commentary": ...}}}'
            return 400, error_body(400, "ILLEGAL_ARGUMENT", message), {}
        if set(patch) != {"$set"} or set(patch["$set"]) - {
            "commentary",
            "contentCallToActionLabel",
            "lifecycleState",
        }:
            inputs = [("/patch", "UNPROCESSABLE", "only commentary can be changed")]
            return 422, validation_body(422, inputs, "Invalid patch"), {}
        text, kept, shown = read_little(commentary)
        if kept != commentary:
            fake.violations.append(f"unescaped reserved character in the patch of {urn}")
        post.update(
            commentary=shown,
            text=text,
            kept=kept,
            lastModifiedAt=int(fake.clock() * 1000),
            edits=post.get("edits", 0) + 1,
        )
        return 204, None, {}

    def _validate(self, body: Any) -> list[tuple[str, str, str]]:
        fake = self.state
        if not isinstance(body, dict):
            return [("/", "INVALID_TYPE", "expected a record")]
        out = [
            (f"/{k}", "UNRECOGNIZED_FIELD", "unrecognized field")
            for k in body
            if k not in TOP_FIELDS
        ]
        for name in ("author", "commentary", "visibility", "distribution", "lifecycleState"):
            if name not in body:
                out.append((f"/{name}", "FIELD_REQUIRED", "field is required"))
        if body.get("author") not in (None, fake.author):
            out.append(("/author", "INVALID_VALUE", "not an organization this member administers"))
        if len(body.get("commentary") or "") > 3000:
            out.append(("/commentary", "MAX_LENGTH_EXCEEDED", "at most 3000 characters"))
        dist = body.get("distribution") or {}
        if dist and dist.get("feedDistribution") != "MAIN_FEED":
            out.append(("/distribution/feedDistribution", "INVALID_VALUE", "MAIN_FEED expected"))
        content = body.get("content") or {}
        article, media = content.get("article"), content.get("media")
        if article is not None:
            out += [
                (f"/content/article/{k}", "UNRECOGNIZED_FIELD", "unrecognized field")
                for k in article
                if k not in ARTICLE_FIELDS
            ]
            for name in ("source", "title"):
                if not article.get(name):
                    out.append((f"/content/article/{name}", "FIELD_REQUIRED", "required"))
            if "thumbnail" in article and not self._usable(article["thumbnail"]):
                out.append(("/content/article/thumbnail", "INVALID_VALUE", "image not available"))
        if media is not None:
            out += [
                (f"/content/media/{k}", "UNRECOGNIZED_FIELD", "unrecognized field")
                for k in media
                if k not in MEDIA_FIELDS
            ]
            if not self._usable(media.get("id")):
                out.append(("/content/media/id", "INVALID_VALUE", "image not available"))
        return out

    def _usable(self, urn: Any) -> bool:
        image = self.state.images.get(urn)
        return bool(image and image.get("bytes") and image["polls"] <= 0)

    def _finder(self, query: str) -> tuple[int, Any, dict[str, str]]:
        fake = self.state
        params = {k: v[0] for k, v in parse_qs(query).items()}
        if self.headers.get("X-RestLi-Method") != "FINDER" or params.get("q") != "author":
            return (
                400,
                error_body(
                    400,
                    "ILLEGAL_ARGUMENT",
                    "Resource method could not be resolved from request parameters.",
                ),
                {},
            )
        if "author=urn%3Ali%3Aorganization%3A" not in query:
            return 400, error_body(400, "ILLEGAL_ARGUMENT", "author must be URL-encoded"), {}
        if params.get("author") != fake.author:
            return 403, error_body(403, "ACCESS_DENIED", "Not enough permissions", 100), {}
        start, count = int(params.get("start", 0)), int(params.get("count", 10))
        newest = sorted(fake.posts, key=lambda p: p["lastModifiedAt"], reverse=True)
        page = [fake._element(p) for p in newest[start : start + count]]
        paging = {"start": start, "count": count, "links": [], "total": len(newest)}
        return 200, {"paging": paging, "elements": page}, {}

    def _initialize(self, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        fake = self.state
        request = (json.loads(raw or b"{}") or {}).get("initializeUploadRequest") or {}
        if request.get("owner") != fake.author:
            problems = [("/initializeUploadRequest/owner", "INVALID_VALUE", "bad owner")]
            return 422, validation_body(422, problems, "Invalid owner"), {}
        urn = f"urn:li:image:D4E10AQ{next(fake._ids)}"
        fake.images[urn] = {"owner": fake.author, "bytes": b"", "polls": fake.processing_polls}
        value = {
            "uploadUrlExpiresAt": int(time.time() * 1000) + 3600_000,
            "uploadUrl": f"{fake.url}/dms-uploads/{urn}",
            "image": urn,
        }
        return 200, {"value": value}, {}

    def _image(self, urn: str) -> tuple[int, Any, dict[str, str]]:
        image = self.state.images.get(urn)
        if image is None:
            return 404, error_body(404, "NOT_FOUND", f"Image {urn} not found"), {}
        if not image["bytes"]:
            status = "WAITING_UPLOAD"
        elif self.state.image_fails:
            status = "PROCESSING_FAILED"
        elif image["polls"] > 0:
            image["polls"] -= 1
            status = "PROCESSING"
        else:
            status = "AVAILABLE"
        return 200, {"id": urn, "owner": image["owner"], "status": status}, {}

    def _introspect(self, raw: bytes) -> None:
        fake = self.state
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if (form.get("client_id"), form.get("client_secret")) != (
            fake.client_id,
            fake.client_secret,
        ):
            return self._send(401, {"error": "invalid_client", "error_description": "bad client"})
        active = form.get("token") == fake.token and fake.token_state == "active"
        body = {
            "active": active,
            "status": fake.token_state if form.get("token") == fake.token else "invalid",
            "client_id": fake.client_id,
            "authorized_at": fake.token_expires_at - 60 * 86400,
            "created_at": fake.token_expires_at - 60 * 86400,
            "expires_at": fake.token_expires_at,
            "scope": fake.scope,
            "auth_type": "3L",
        }
        self._send(200, body)

    def _play(self, script: Script) -> None:
        if script.kind == "drop":
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if script.kind == "hang":
            time.sleep(script.seconds)
        if script.kind == "html":
            page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            return self._send_raw(script.status, page, "text/html", script.headers)
        self._send(script.status, script.body, script.headers)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self._send_raw(status, data, "application/json", headers or {})

    def _send_raw(self, status: int, data: bytes, ctype: str, headers: dict[str, str]) -> None:
        extra = dict(headers)
        date = extra.pop("Date", None)
        if date:
            self.date_time_string = lambda timestamp=None: date  # type: ignore[method-assign]
        self.send_response(status)
        if data:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-RestLi-Protocol-Version", "2.0.0")
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
