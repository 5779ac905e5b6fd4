"""Mastodon: statuses through the REST API, exactly once thanks to Mastodon's Idempotency-Key.

``POST /api/v1/statuses`` carries an ``Idempotency-Key`` derived from the delivery id and the
draft; Mastodon keeps a key for an hour and answers a repeated request with the status the first
one created.  So within that hour an unclear answer (5xx, timeout) is simply sent again with the
same key; later, ``find`` reads the account's recent statuses like any other network.  Images
go up first through ``POST /api/v2/media`` with their alt text; a 202 means the server is still
processing it, and ``GET /api/v1/media/:id`` is polled until it has a ``url``.  The token only
ever travels in the ``Authorization`` header.
"""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

from publisher.channels.base import (
    RETRY_HINT,
    Health,
    check_expiry,
    json_body,
    nothing_posted,
    read_image,
    read_token,
    refuse_invalid,
)
from publisher.core.config_values import REQUIRED, Key, _int, _str, _url
from publisher.core.errors import ChannelError, ConfigError
from publisher.core.models import Draft, Receipt
from publisher.core.plugins import SOCIAL_KEYS, Capabilities

if TYPE_CHECKING:
    import requests

    from publisher.channels.base import Http
    from publisher.core.config import ChannelConfig, Config
    from publisher.core.models import Delivery

DEFAULT_LIMIT = 500
IMAGE_BYTES = 16 * 1024 * 1024
VISIBILITIES = ("public", "unlisted", "private")
#: How long Mastodon remembers an Idempotency-Key (a little less, to be safe).
KEY_LIFETIME = timedelta(minutes=55)
CLOCK_SKEW = timedelta(minutes=10)
MEDIA_TIMEOUT = (5.0, 120.0)
SCOPES = "write:statuses write:media read:statuses profile"
RENEW_HINT = "create a new access token (README: 'Mastodon: the access token'), put it in {env}"
UNCERTAIN_HINT = "the status may exist; it will be sent again with the same Idempotency-Key"


class MastodonMedia(TypedDict):
    """The image of a status: uploaded first, with its alt text as ``description``."""

    path: str
    description: str


class MastodonPayload(TypedDict):
    """What ``POST /api/v1/statuses`` gets (form fields), plus the key and the image to upload."""

    status: str
    visibility: str
    language: str
    idempotency_key: str
    media: MastodonMedia | None
    #: The post's link (already in ``status``): reconcile also matches it among a status's links.
    link: str


def _visibility(path: str, value: Any) -> str:
    text = _str(path, value)
    if text not in VISIBILITIES:
        raise ConfigError(f"{path}: {text!r} is not a visibility", f"use one of: {VISIBILITIES}")
    return text


class MastodonChannel:
    """One Mastodon account on one instance, posted to with an application's access token."""

    keys: ClassVar[dict[str, Key]] = {
        **SOCIAL_KEYS,
        "instance": Key(_url, REQUIRED),
        "visibility": Key(_visibility, "public"),
        "max_characters": Key(_int, DEFAULT_LIMIT),
    }
    capabilities = Capabilities(idempotent=True)
    token_url_key = "instance"

    @staticmethod
    def text_length(text: str) -> int:
        """Graphemes, each URL as 23, ``@user@domain`` as ``@user`` (see ``mastodon_text``)."""
        from publisher.channels.mastodon_text import status_length

        return status_length(text)

    #: Each URL ("://") may count up to 23 more than its length: with one reserved ":" counted
    #: 23 times, ``check``'s cheap bound on the source stays an upper bound of the count.
    reserved = ":" * 23

    def __init__(
        self,
        cfg: ChannelConfig,
        config: Config,
        http: Http,
        *,
        poll_interval: float = 1.0,
        poll_timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.name = cfg.name
        self.config = cfg
        self.settings = config
        self.http = http
        self.instance = str(cfg.options["instance"]).rstrip("/")
        self.limit: int | None = int(cfg.options.get("max_characters") or DEFAULT_LIMIT)
        self.poll_interval, self.poll_timeout = poll_interval, poll_timeout
        self.sleep, self.clock, self.now = sleep, clock, now

    # -- render: pure -------------------------------------------------------------------

    @staticmethod
    def image_problems(path: Path) -> list[str]:
        """Why this network would refuse the image, by its bytes (``check`` asks without rendering)."""
        return image_problems(path)

    def render(self, delivery: Delivery) -> Draft:
        """The status for a delivery: its text with the link, visibility, language, image."""
        from publisher.core.render import effective, social_text

        view = effective(delivery, self.config)
        text, found = social_text(delivery, self.config, self.settings, link_in_payload=False)
        warnings, errors = list(found), []
        length = self.text_length(text)
        if self.limit is not None and length > self.limit:
            errors.append(
                f"the text counts {length} characters for Mastodon (URLs as 23); "
                f"{self.name!r} accepts at most {self.limit} (max_characters)"
            )
        media: MastodonMedia | None = None
        if view.image is not None:
            errors.extend(image_problems(view.image))
            media = {"path": str(view.image), "description": view.image_alt}
            if not view.image_alt:
                warnings.append(f"{delivery.id}: the image has no image_alt for Mastodon")
        visibility = str(self.config.options.get("visibility") or "public")
        language = delivery.language.split("-")[0].lower()
        payload: MastodonPayload = {
            "status": text,
            "visibility": visibility,
            "language": language,
            "idempotency_key": idempotency_key(delivery.id, text, visibility, language, media),
            "media": media,
            "link": view.link,
        }
        return Draft(
            delivery.id, self.name, payload, text, view.image, tuple(warnings), tuple(errors)
        )

    # -- publish --------------------------------------------------------------------------

    def publish(self, draft: Draft) -> Receipt:
        """Upload the image if any, then post the status; an unclear answer is sent again once."""
        refuse_invalid(draft, self.name)
        token = read_token(self.config)
        try:
            return self._post_status(draft, token)
        except ChannelError as exc:
            if not exc.uncertain:
                raise
        # Mastodon answers a repeated key with the status the first request created.
        return self._post_status(draft, token)

    def _post_status(self, draft: Draft, token: str) -> Receipt:
        payload: MastodonPayload = draft.payload  # type: ignore[assignment]
        form: list[tuple[str, str]] = [
            ("status", payload["status"]),
            ("visibility", payload["visibility"]),
            ("language", payload["language"]),
        ]
        if payload.get("media"):
            form.append(("media_ids[]", self._upload(token, payload["media"])))  # type: ignore[arg-type]
        headers = {"Idempotency-Key": payload["idempotency_key"]}
        resp = self._call(
            "POST", "/api/v1/statuses", token, creating=True, data=form, headers=headers
        )
        return _receipt(json_body(resp), self.instance)

    def _upload(self, token: str, media: MastodonMedia) -> str:
        """Upload an image with its alt text and wait until Mastodon has processed it."""
        path = Path(media["path"])
        data = read_image(path)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        resp = self._call(
            "POST",
            "/api/v2/media",
            token,
            timeout=MEDIA_TIMEOUT,
            files={"file": (path.name, data, mime)},
            data={"description": media["description"]},
        )
        body = json_body(resp) or {}
        media_id = str(body.get("id") or "")
        if not media_id:
            raise ChannelError(
                f"channel {self.name!r}: Mastodon gave no media id", hint=RETRY_HINT, retry=True
            )
        deadline = self.clock() + self.poll_timeout
        while not body.get("url"):
            if self.clock() >= deadline:
                raise ChannelError(
                    f"channel {self.name!r}: the image is still processing after "
                    f"{self.poll_timeout:.0f} s",
                    hint=RETRY_HINT,
                    retry=True,
                )
            self.sleep(self.poll_interval)
            body = json_body(self._call("GET", f"/api/v1/media/{media_id}", token)) or {}
        return media_id

    def edit(self, remote_id: str, draft: Draft) -> Receipt:
        """Change a live status's text to the draft's (``PUT /api/v1/statuses/:id``)."""
        token = read_token(self.config)
        payload: MastodonPayload = draft.payload  # type: ignore[assignment]
        form = [("status", payload["status"]), ("language", payload["language"])]
        resp = self._call("PUT", f"/api/v1/statuses/{remote_id}", token, data=form)
        return _receipt(json_body(resp), self.instance)

    # -- reconcile ------------------------------------------------------------------------

    def find(self, draft: Draft, since: datetime, hint: str | None = None) -> Receipt | None:
        """Within the key's hour, send again with the same key; later, look among the statuses."""
        token = read_token(self.config)
        if self.now() - since < KEY_LIFETIME and not draft.errors:
            try:
                return self._post_status(draft, token)
            except ChannelError as exc:
                if not exc.uncertain:
                    raise
                raise nothing_posted(exc) from None
        account = json_body(self._call("GET", "/api/v1/accounts/verify_credentials", token)) or {}
        params = {"limit": "40", "exclude_reblogs": "true"}
        listed = self._call(
            "GET", f"/api/v1/accounts/{account.get('id')}/statuses", token, params=params
        )
        from publisher.channels.mastodon_text import content_text

        want = " ".join(draft.text.split())
        link = str(draft.payload.get("link") or "")
        oldest = since - CLOCK_SKEW
        for status in json_body(listed) or []:
            created = _parse_time(status.get("created_at"))
            if created is not None and created < oldest:
                continue
            text, hrefs = content_text(str(status.get("content") or ""))
            if text == want or (link and link in hrefs):
                return _receipt(status, self.instance)
        return None

    # -- check --online -------------------------------------------------------------------

    def check_online(self, today: date) -> Health:
        """Prove the token works; warn when the instance's limit differs from max_characters."""
        token = read_token(self.config)
        account = json_body(self._call("GET", "/api/v1/accounts/verify_credentials", token)) or {}
        warnings = check_expiry(self.config, today)
        instance = json_body(self._call("GET", "/api/v2/instance", token)) or {}
        statuses = (instance.get("configuration") or {}).get("statuses") or {}
        served = statuses.get("max_characters")
        if isinstance(served, int) and served != self.limit:
            warnings.append(
                f"channel {self.name!r}: {self.instance} accepts {served} characters per status, "
                f"max_characters says {self.limit}; set max_characters = {served}"
            )
        return Health(f"posts as @{account.get('acct', '?')} on {self.instance}", tuple(warnings))

    # -- HTTP -----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        token: str,
        *,
        creating: bool = False,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        sent = {"Authorization": f"Bearer {token}", "Accept": "application/json", **(headers or {})}
        try:
            resp = self.http.request(
                method, self.instance + path, secrets=[token], headers=sent, **kwargs
            )
        except ChannelError as exc:
            if exc.uncertain and not creating:
                raise nothing_posted(exc) from None
            raise
        if 200 <= resp.status_code < 300:
            return resp
        raise self._error(resp, creating=creating)

    def _error(self, resp: requests.Response, *, creating: bool) -> ChannelError:
        """Mastodon's error answer as an operator-readable ``ChannelError`` (DESIGN §12)."""
        body = json_body(resp)
        said = str(body.get("error")) if isinstance(body, dict) and body.get("error") else ""
        status = resp.status_code
        where = f"channel {self.name!r}: Mastodon answered {status}"
        message = f"{where}: {said}" if said else where
        env = self.config.token_env or "token_env"
        if status == 401:
            return ChannelError(message, hint=RENEW_HINT.format(env=env), code="401")
        if status == 403:
            return ChannelError(message, hint=f"the token needs the scopes {SCOPES}", code="403")
        if status == 422 and "processing" in said.lower():
            return ChannelError(message, hint=RETRY_HINT, retry=True, retry_after=10, code="422")
        if status == 422:
            return ChannelError(message, hint="fix the post so Mastodon accepts it", code="422")
        if status == 429:
            return ChannelError(
                message, hint=RETRY_HINT, retry=True, code="429", retry_after=self._reset_in(resp)
            )
        if status >= 500:
            if creating:
                return ChannelError(message, hint=UNCERTAIN_HINT, uncertain=True, code=str(status))
            return ChannelError(message, hint=RETRY_HINT, retry=True, code=str(status))
        return ChannelError(message, hint="see Mastodon's message above", code=str(status))

    def _reset_in(self, resp: requests.Response) -> float | None:
        """Seconds until ``X-RateLimit-Reset`` (an ISO 8601 time), if Mastodon sent it."""
        reset = _parse_time(resp.headers.get("X-RateLimit-Reset"))
        return None if reset is None else max(0.0, (reset - self.now()).total_seconds())


def image_problems(path: Path) -> list[str]:
    """Why Mastodon would refuse this image (by its bytes and size), if it would."""
    try:
        size = path.stat().st_size
        with path.open("rb") as file:
            head = file.read(12)
    except OSError as exc:
        return [f"the image {path} cannot be read ({exc.strerror or exc})"]
    problems = []
    known = head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")) or (
        head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    )
    if not known:
        problems.append(f"the image {path.name} is not JPEG, PNG, GIF or WebP, as Mastodon needs")
    if size > IMAGE_BYTES:
        problems.append(f"the image {path.name} has {size:,} bytes; Mastodon takes at most 16 MB")
    return problems


def idempotency_key(
    delivery_id: str, text: str, visibility: str, language: str, media: MastodonMedia | None
) -> str:
    """The same delivery with the same draft always gets the same key; a changed draft a new one."""
    import hashlib

    material = json.dumps([delivery_id, text, visibility, language, media], sort_keys=True)
    return "publisher-" + hashlib.sha256(material.encode()).hexdigest()[:40]


def _receipt(status: Any, instance: str) -> Receipt:
    if not isinstance(status, dict) or not status.get("id"):
        raise ChannelError(
            f"Mastodon ({instance}) answered without a status id",
            hint=UNCERTAIN_HINT,
            uncertain=True,
        )
    return Receipt(remote_id=str(status["id"]), remote_url=status.get("url") or None)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
