"""Facebook Page channel: Graph API posts, reconcile by text (errors: ``facebook_errors``).

Facebook has no idempotency key, and it sometimes answers HTTP 500 (code 2, "retry later")
after it has created the post.  So every answer that leaves the outcome open is ``uncertain``,
and ``find`` reads the Page's recent posts for the same text before the runner tries again.
The Page token only ever travels in the ``Authorization`` header, never in a URL; paging
follows the ``after`` cursor, never ``paging.next`` (a URL that carries the token).
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NotRequired, TypedDict

from publisher.channels.base import (
    Health,
    check_expiry,
    json_body,
    normalize_text,
    read_image,
    read_token,
)
from publisher.channels.facebook_errors import UNCERTAIN_HINT, classify, retry_after, short_body
from publisher.core.config_values import REQUIRED, Key, _str, _url
from publisher.core.errors import ChannelError, ConfigError
from publisher.core.models import Draft, Receipt
from publisher.core.plugins import SOCIAL_KEYS, Capabilities

if TYPE_CHECKING:
    from publisher.channels.base import Http
    from publisher.core.config import ChannelConfig, Config
    from publisher.core.models import Delivery

log = logging.getLogger(__name__)

#: Facebook's maximum length of a post's message, in characters.
LIMIT = 63206
#: Reconcile reads back this far before the first attempt, for clocks that disagree.
CLOCK_SKEW = timedelta(minutes=10)
#: Reconcile never reads more pages than this (a safety net against a cursor that loops).
MAX_PAGES = 40
PAGE_SIZE = 25
#: Photos Facebook takes (DESIGN §7): these types, by their bytes, up to 10 MB.
PHOTO_TYPES = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/bmp": "BMP",
    "image/tiff": "TIFF",
}
PHOTO_MAX_BYTES = 10 * 1024 * 1024
#: Meta's Ads Guide for Facebook Feed images (facebook.com/business/ads-guide/image/
#: facebook-feed): "Minimum width: 600 pixels", resolution "at least 1080 x 1080 pixels".
MIN_IMAGE_WIDTH, GOOD_IMAGE_WIDTH = 600, 1080


class FacebookFile(TypedDict):
    """An upload as preview shows it: the path, its size and MIME type."""

    path: str
    bytes: int | None
    type: str


class FacebookPayload(TypedDict):
    """A Graph request: ``/feed`` with message and link, or ``/photos`` with the photo."""

    method: str
    endpoint: NotRequired[str]
    fields: NotRequired[dict[str, str]]
    files: NotRequired[dict[str, FacebookFile]]


def _api_version(path: str, value: Any) -> str:
    text = _str(path, value)
    if not re.match(r"^v\d+\.\d+$", text):
        raise ConfigError(f"{path}: {text!r} is not a Graph API version", 'e.g. "v26.0"')
    return text


class FacebookChannel:
    """A Facebook Page, posted to through the Graph API with a Page access token."""

    keys: ClassVar[dict[str, Key]] = {
        **SOCIAL_KEYS,
        "page_id": Key(_str, REQUIRED),
        "api_url": Key(_url, "https://graph.facebook.com"),
        "api_version": Key(_api_version, "v26.0"),
    }
    capabilities = Capabilities()
    limit: int | None = LIMIT
    token_url_key = "api_url"
    service_hosts = ("graph.facebook.com",)
    unique_keys = ("page_id",)

    def __init__(self, cfg: ChannelConfig, config: Config, http: Http) -> None:
        self.name = cfg.name
        self.config = cfg
        self.app_config = config
        self.http = http
        self.page_id = str(cfg.options["page_id"])
        self.api_url = str(cfg.options.get("api_url") or "https://graph.facebook.com").rstrip("/")
        self.version = str(cfg.options.get("api_version") or "v26.0")

    # -- render: pure -------------------------------------------------------------------

    def image_advice(self, width: int, height: int) -> str | None:
        """Why an image this small looks poor on Facebook, or None."""
        if width >= MIN_IMAGE_WIDTH:
            return None
        return (
            f"Facebook recommends at least {MIN_IMAGE_WIDTH} px wide (best "
            f"{GOOD_IMAGE_WIDTH} x {GOOD_IMAGE_WIDTH}); it will look blurred"
        )

    @staticmethod
    def image_problems(path: Path) -> list[str]:
        """Why this network would refuse the image, by its bytes (``check`` asks without rendering)."""
        return image_problems(path)

    def render(self, delivery: Delivery) -> Draft:
        """The exact request for a delivery: /feed with message and link, or /photos."""
        from publisher.core.render import effective, social_text

        view = effective(delivery, self.config)
        with_photo = view.image is not None
        text, found = social_text(
            delivery, self.config, self.app_config, link_in_payload=not with_photo
        )
        warnings = list(found)
        payload: FacebookPayload = {"method": "POST"}
        if view.image is not None:
            payload["endpoint"] = self._path("/photos")
            payload["fields"] = {"caption": text}
            payload["files"] = {"source": _file_entry(view.image, warnings)}
        else:
            payload["endpoint"] = self._path("/feed")
            payload["fields"] = {"message": text, **({"link": view.link} if view.link else {})}
        errors = image_problems(view.image) if view.image is not None else []
        if len(text) > LIMIT:
            errors.append(f"the text has {len(text)} characters; Facebook accepts at most {LIMIT}")
        return Draft(
            delivery_id=delivery.id,
            channel=self.name,
            payload=payload,
            text=text,
            image=view.image,
            warnings=tuple(warnings),
            errors=tuple(errors),
        )

    # -- publish --------------------------------------------------------------------------

    def publish(self, draft: Draft) -> Receipt:
        """Send the rendered payload once; the Receipt is the post id and its permalink."""
        if draft.errors:
            raise ChannelError(
                f"not sent to {self.name}: " + "; ".join(draft.errors),
                hint="fix the image or shorten the text (or its [facebook] override), "
                "then `publisher retry ID`",
            )
        payload = draft.payload
        fields = {key: _form_value(value) for key, value in payload.get("fields", {}).items()}
        files = {name: _read_file(entry) for name, entry in (payload.get("files") or {}).items()}
        token = read_token(self.config)
        timeout = None
        if files:
            connect, read = self.http.timeout
            timeout = (connect, read * 4)
        body = self._call(
            str(payload.get("method", "POST")),
            str(payload["endpoint"]),
            token,
            data=fields,
            files=files or None,
            timeout=timeout,
        )
        post_id = body.get("post_id") if files else body.get("id")
        if not isinstance(post_id, str) or not post_id:
            raise ChannelError(
                f"Facebook accepted the post but its answer has no post id: {short_body(body)}",
                hint=UNCERTAIN_HINT,
                uncertain=True,
            )
        return Receipt(remote_id=post_id, remote_url=permalink(post_id))

    # -- correct (DESIGN §9) -------------------------------------------------------------

    def edit(self, remote_id: str, draft: Draft) -> Receipt:
        """Change a live post's text to the draft's: ``POST /{version}/{post-id}`` with ``message``."""
        if not remote_id or "/" in remote_id or "?" in remote_id:
            raise ChannelError(
                f"{draft.delivery_id}: no Facebook post id to edit ({remote_id!r})",
                hint="edit the post by hand on the Page",
            )
        token = read_token(self.config)
        body = self._call(
            "POST", f"/{self.version}/{remote_id}", token, data={"message": draft.text}
        )
        if body.get("success") is False:
            raise ChannelError(
                f"Facebook did not edit {remote_id}: {short_body(body)}",
                hint="it is tried again; or edit it by hand on the Page",
            )
        return Receipt(remote_id=remote_id, remote_url=permalink(remote_id))

    # -- reconcile ------------------------------------------------------------------------

    def find(self, draft: Draft, since: datetime, hint: str | None = None) -> Receipt | None:
        """Look on the Page for a post with this draft's text, created since the first try."""
        token = read_token(self.config)
        wanted = normalize_text(draft.text)
        cutoff = (since if since.tzinfo else since.replace(tzinfo=UTC)) - CLOCK_SKEW
        after: str | None = None
        for _ in range(MAX_PAGES):
            params = {"fields": "id,message,created_time,permalink_url", "limit": str(PAGE_SIZE)}
            if after:
                params["after"] = after
            body = self._call("GET", self._path("/published_posts"), token, params=params)
            items = [item for item in body.get("data") or [] if isinstance(item, dict)]
            older = False
            for item in items:
                created = _parse_time(item.get("created_time"))
                if created is not None and created < cutoff:
                    older = True
                    continue
                if normalize_text(str(item.get("message") or "")) == wanted and item.get("id"):
                    post_id = str(item["id"])
                    return Receipt(remote_id=post_id, remote_url=permalink(post_id))
            paging = body.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if older or not items or not after or "next" not in paging:
                return None
        return None

    # -- check --online --------------------------------------------------------------------

    def check_online(self, today: date) -> Health:
        """Prove the token reaches the Page; warn when token_expires_at is near."""
        token = read_token(self.config)
        body = self._call("GET", self._path(""), token, params={"fields": "id,name"})
        summary = f"Facebook Page {body.get('name', '?')!r} (id {body.get('id', self.page_id)})"
        return Health(summary=summary, warnings=tuple(check_expiry(self.config, today)))

    # -- plumbing ---------------------------------------------------------------------------

    def _path(self, tail: str) -> str:
        return f"/{self.version}/{self.page_id}{tail}"

    def _call(self, method: str, path: str, token: str, **kwargs: Any) -> dict[str, Any]:
        """One Graph call with the token in the header; any failure becomes a ChannelError."""
        headers = {"Authorization": f"Bearer {token}"}
        response = self.http.request(
            method, self.api_url + path, secrets=[token], headers=headers, **kwargs
        )
        log.debug("%s %s -> HTTP %s", method, path, response.status_code)
        body = json_body(response)
        if response.status_code < 300 and isinstance(body, dict) and "error" not in body:
            return body
        raise classify(response.status_code, body, response.headers, self.config, [token])


def permalink(post_id: str) -> str:
    """The public URL of a Page post: ``https://www.facebook.com/{post_id}``."""
    return f"https://www.facebook.com/{post_id}"


def image_problems(path: Path) -> list[str]:
    """Why Facebook would refuse this photo, judged by its bytes (empty when it is fine)."""
    from publisher.core.images import problems_for

    return problems_for(path, "Facebook", PHOTO_TYPES, max_bytes=PHOTO_MAX_BYTES)


def _file_entry(image: Path, warnings: list[str]) -> FacebookFile:
    """What preview shows of an upload: the path, its size and MIME type (by its bytes)."""
    from publisher.core.images import ImageProblem, inspect

    try:
        facts = inspect(image)
    except ImageProblem:
        return {"path": str(image), "bytes": None, "type": "application/octet-stream"}
    mime = facts.mime or mimetypes.guess_type(image.name)[0] or "application/octet-stream"
    return {"path": str(image), "bytes": facts.size, "type": mime}


def _read_file(entry: Mapping[str, Any]) -> tuple[str, bytes, str]:
    """The bytes of an upload, read at publish time; a missing file fails before any request."""
    path = Path(str(entry["path"]))
    data = read_image(path)
    return path.name, data, str(entry.get("type") or "application/octet-stream")


def _form_value(value: Any) -> str:
    """A form field as Graph reads it: booleans as "true"/"false"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _parse_time(value: Any) -> datetime | None:
    """Graph's ``created_time`` (``2027-05-03T08:00:00+0000``) as an aware datetime."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)  # Python 3.11 reads Graph's "+0000" too
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


__all__ = ["FacebookChannel", "classify", "permalink", "retry_after"]
