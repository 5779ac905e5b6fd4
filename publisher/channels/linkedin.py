"""LinkedIn organization Page: the Posts API (``/rest/posts``) over the shared HTTP session.

Text and link posts are one ``POST /rest/posts``; an image is uploaded first (initializeUpload,
``PUT`` of the bytes, wait until ``AVAILABLE``) and used as the article thumbnail or as the post's
media.  The commentary is escaped in LinkedIn's little format (see ``little``).  Errors become
``ChannelError`` with a hint an operator can act on; the token only ever travels in the
``Authorization`` header and is redacted from anything that could be shown.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

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
from publisher.channels.linkedin_errors import UNCERTAIN_HINT, classify
from publisher.channels.linkedin_payload import (
    IMAGE_URN,
    LinkedInPayload,
    article_description,
    image_info,
    image_problems,
)
from publisher.channels.little import RESERVED, commentary, plain
from publisher.core.config_values import REQUIRED, Key, _env_name, _str, _url
from publisher.core.errors import ChannelError, ConfigError
from publisher.core.models import Draft, Receipt
from publisher.core.plugins import SOCIAL_KEYS, Capabilities

if TYPE_CHECKING:
    import requests

    from publisher.channels.base import Http
    from publisher.core.config import ChannelConfig, Config
    from publisher.core.models import Delivery

LIMIT = 3000
POSTS = "/rest/posts"
UPLOAD_TIMEOUT = (5.0, 120.0)
FIND_PAGE = 50
#: Reconcile also accepts posts this much older than the first attempt (clocks disagree).
CLOCK_SKEW = timedelta(minutes=10)
PROTOCOL = {"X-Restli-Protocol-Version": "2.0.0"}
#: LinkedIn Help, "Single image ads advertising specifications" (answer a426534): landscape
#: at least 640 x 360 px (1200 x 628 recommended), square and vertical at least 360 px wide;
#: "images less than 401 pixels wide display as a thumbnail image".
MIN_LANDSCAPE, MIN_SIDE = (640, 360), 360


def _api_version(path: str, value: Any) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    text = _str(path, text)
    if not re.match(r"^\d{6}(\.\d+)?$", text):
        raise ConfigError(
            f"{path}: {text!r} is not a LinkedIn-Version", 'use YYYYMM, e.g. "202608"'
        )
    return text


class LinkedInChannel:
    """Posts to one LinkedIn organization Page as ``urn:li:organization:{organization_id}``."""

    keys: ClassVar[dict[str, Key]] = {
        **SOCIAL_KEYS,
        "organization_id": Key(_str, REQUIRED),
        "api_url": Key(_url, "https://api.linkedin.com"),
        "api_version": Key(_api_version, "202608"),
        "client_id_env": Key(_env_name, None),
        "client_secret_env": Key(_env_name, None),
    }
    capabilities = Capabilities()
    limit: int | None = LIMIT
    token_url_key = "api_url"
    service_hosts = ("api.linkedin.com",)
    unique_keys = ("organization_id",)
    #: Characters escaped with a backslash, so ``check`` can bound the escaped length cheaply.
    reserved = RESERVED

    def __init__(
        self,
        cfg: ChannelConfig,
        config: Config,
        http: Http,
        *,
        poll_interval: float = 2.0,
        poll_attempts: int = 30,
        poll_timeout: float = 120.0,
    ) -> None:
        self.name = cfg.name
        self.config = cfg
        self.settings = config
        self.http = http
        self.poll_interval, self.poll_attempts, self.poll_timeout = (
            poll_interval,
            poll_attempts,
            poll_timeout,
        )
        self.api_url: str = cfg.options["api_url"]
        self.version: str = cfg.options["api_version"]
        self.author = f"urn:li:organization:{cfg.options['organization_id']}"

    # -- render ---------------------------------------------------------------------------

    def image_advice(self, width: int, height: int) -> str | None:
        """Why an image this small looks poor on LinkedIn, or None."""
        landscape = width > height
        low = (
            (width < MIN_LANDSCAPE[0] or height < MIN_LANDSCAPE[1])
            if landscape
            else (min(width, height) < MIN_SIDE)
        )
        if not low:
            return None
        least = "640 x 360" if landscape else "360 px on each side"
        return (
            f"LinkedIn recommends at least {least} (best 1200 x 628); smaller images "
            "look blurred or show as a thumbnail"
        )

    @staticmethod
    def image_problems(path: Path) -> list[str]:
        """Why this network would refuse the image, by its bytes (``check`` asks without rendering)."""
        return image_problems(path)

    def render(self, delivery: Delivery) -> Draft:
        """The exact request for a delivery; pure (reads only the image's size), no token."""
        from publisher.core.render import effective

        view = effective(delivery, self.config)
        text, warnings = commentary(
            delivery, self.config, self.settings, link_in_payload=bool(view.link)
        )
        errors: list[str] = []
        if len(text) > LIMIT:
            errors.append(
                f"{delivery.id}: the text for LinkedIn channel {self.name!r} is {len(text)} "
                f"characters after escaping, over LinkedIn's limit of {LIMIT}; shorten it "
                f"(or give it a [{self.config.type}] text override)"
            )
        image = image_info(view.image, view.image_alt, delivery.id, errors) if view.image else None
        feed = {"feedDistribution": "MAIN_FEED", "targetEntities": []}
        body: dict[str, Any] = {
            "author": self.author,
            "commentary": text,
            "visibility": "PUBLIC",
            "distribution": {**feed, "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if view.link:
            article: dict[str, Any] = {"source": view.link, "title": view.title}
            if description := article_description(delivery.post, view.link):
                article["description"] = description
            if image:
                article["thumbnail"] = IMAGE_URN
            body["content"] = {"article": article}
        elif image:
            body["content"] = {"media": {"id": IMAGE_URN, "altText": view.image_alt}}
            if not view.image_alt:
                warnings.append(f"{delivery.id}: the image has no image_alt for LinkedIn")
        headers = {"LinkedIn-Version": self.version, **PROTOCOL, "Content-Type": "application/json"}
        payload: LinkedInPayload = {
            "method": "POST",
            "endpoint": POSTS,
            "headers": headers,
            "body": body,
            "image": image,
        }
        return Draft(
            delivery.id, self.name, payload, text, view.image, tuple(warnings), tuple(errors)
        )

    # -- publish --------------------------------------------------------------------------

    def publish(self, draft: Draft) -> Receipt:
        """Upload the image if any, then create the post; the id is the ``x-restli-id`` header."""
        refuse_invalid(draft, self.name)
        token = read_token(self.config)
        body = json.dumps(draft.payload["body"])
        image = draft.payload.get("image")
        if image:
            urn = self._upload(token, Path(image["path"]), image["type"])
            body = body.replace(json.dumps(IMAGE_URN), json.dumps(urn))
        resp = self._request("POST", POSTS, token, creating=True, json=json.loads(body))
        created: str | None = resp.headers.get("x-restli-id") or (json_body(resp) or {}).get("id")
        if not created:
            message = f"channel {self.name!r}: LinkedIn accepted the post but sent no post id"
            raise ChannelError(message, hint=UNCERTAIN_HINT, uncertain=True)
        return Receipt(remote_id=created, remote_url=post_url(created))

    def edit(self, remote_id: str, draft: Draft) -> Receipt:
        """Change a live post's commentary (escaped like a new post's) with a PARTIAL_UPDATE."""
        if not remote_id.startswith("urn:li:"):
            raise ChannelError(
                f"{draft.delivery_id}: no LinkedIn post URN to edit ({remote_id!r})",
                hint="edit the post by hand on the Page",
            )
        token = read_token(self.config)
        patch = {"patch": {"$set": {"commentary": draft.payload["body"]["commentary"]}}}
        self._request(
            "POST",
            f"{POSTS}/{quote(remote_id, safe='')}",
            token,
            json=patch,
            headers={"X-RestLi-Method": "PARTIAL_UPDATE"},
        )
        return Receipt(remote_id=remote_id, remote_url=post_url(remote_id))

    def _upload(self, token: str, path: Path, mime: str) -> str:
        """Register, send and wait for one image; returns its ``urn:li:image:...``."""
        resp = self._request(
            "POST",
            "/rest/images?action=initializeUpload",
            token,
            json={"initializeUploadRequest": {"owner": self.author}},
        )
        value = (json_body(resp) or {}).get("value") or {}
        upload_url, urn = value.get("uploadUrl"), value.get("image")
        if not upload_url or not urn:
            message = f"channel {self.name!r}: LinkedIn's initializeUpload answer has no uploadUrl"
            raise ChannelError(message, hint=RETRY_HINT, retry=True)
        data = read_image(path)
        headers = {"Content-Type": mime}
        if self._trusted(upload_url):
            headers["Authorization"] = f"Bearer {token}"
        self._request("PUT", upload_url, token, raw=headers, data=data, timeout=UPLOAD_TIMEOUT)
        self._wait_available(token, urn)
        return urn

    def _wait_available(self, token: str, urn: str) -> None:
        """Poll the image until LinkedIn has processed it, bounded in checks and in time."""
        deadline = time.monotonic() + self.poll_timeout
        status = "unknown"
        for _attempt in range(max(1, self.poll_attempts)):
            resp = self._request("GET", f"/rest/images/{quote(urn, safe='')}", token)
            status = str((json_body(resp) or {}).get("status") or "unknown")
            if status == "AVAILABLE":
                return
            if status == "PROCESSING_FAILED":
                raise ChannelError(
                    f"channel {self.name!r}: LinkedIn could not process the image ({urn})",
                    hint="use a JPEG, PNG or GIF under 36 megapixels, then `publisher retry` it",
                )
            if time.monotonic() + self.poll_interval > deadline:
                break
            time.sleep(self.poll_interval)
        message = f"channel {self.name!r}: the image {urn} is still {status} at LinkedIn"
        raise ChannelError(message, hint=RETRY_HINT, retry=True)

    # -- reconcile ------------------------------------------------------------------------

    def find(self, draft: Draft, since: datetime, hint: str | None = None) -> Receipt | None:
        """Look among the Page's recent posts for one with this draft's commentary."""
        token = read_token(self.config)
        want = plain(draft.text)
        named = hint
        if named:
            resp = self._request("GET", f"{POSTS}/{quote(named, safe='')}", token, missing_ok=True)
            element = json_body(resp) if resp.status_code == 200 else None
            if isinstance(element, dict) and plain(element.get("commentary") or "") == want:
                return Receipt(remote_id=named, remote_url=post_url(named))
        oldest = int((since - CLOCK_SKEW).timestamp() * 1000)
        for element in self._recent(token, FIND_PAGE):
            created = element.get("createdAt") or element.get("publishedAt") or oldest
            if created >= oldest and plain(element.get("commentary") or "") == want:
                return Receipt(remote_id=element["id"], remote_url=post_url(element["id"]))
        return None

    def _recent(self, token: str, count: int) -> list[dict[str, Any]]:
        """The Page's most recently changed posts, through the author finder."""
        query = f"q=author&author={quote(self.author, safe='')}&count={count}&sortBy=LAST_MODIFIED"
        resp = self._request(
            "GET", f"{POSTS}?{query}", token, headers={"X-RestLi-Method": "FINDER"}
        )
        return (json_body(resp) or {}).get("elements") or []

    # -- check --online -------------------------------------------------------------------

    def check_online(self, today: date) -> Health:
        """Read the Page's latest post: proves the token, the version and the Page role."""
        token = read_token(self.config)
        self._recent(token, 1)
        warnings = check_expiry(self.config, today)
        if not self.config.options.get("token_expires_at"):
            warnings += self._introspect(token, today)
        summary = f"posts as {self.author} (LinkedIn-Version {self.version}); Page posts readable"
        return Health(summary=summary, warnings=tuple(warnings))

    def _introspect(self, token: str, today: date) -> list[str]:
        """Expiry and scopes from LinkedIn's token introspection, when client credentials exist."""
        import os

        id_env, secret_env = (
            self.config.options.get(k) for k in ("client_id_env", "client_secret_env")
        )
        if not id_env or not secret_env:
            return []
        client_id, secret = os.environ.get(id_env, ""), os.environ.get(secret_env, "")
        where = f"channel {self.name!r}"
        if not client_id or not secret:
            return [f"{where}: set {id_env} and {secret_env} to check when the token expires"]
        url = f"{_oauth_base(self.api_url)}/oauth/v2/introspectToken"
        form = {"token": token, "client_id": client_id, "client_secret": secret}
        try:
            resp = self.http.request("POST", url, secrets=[token, secret], data=form)
        except ChannelError as exc:
            return [f"{where}: token introspection failed: {exc.message}"]
        info = json_body(resp)
        if resp.status_code != 200 or not isinstance(info, dict):
            return [f"{where}: token introspection answered HTTP {resp.status_code}"]
        if not info.get("active"):
            return [f"{where}: LinkedIn says the token is {info.get('status') or 'not active'}"]
        warnings = []
        scopes = set(re.split(r"[,\s]+", str(info.get("scope") or "")))
        for scope in ("w_organization_social", "r_organization_social"):
            if info.get("scope") and scope not in scopes:
                warnings.append(f"{where}: the token lacks the {scope} permission")
        if isinstance(info.get("expires_at"), int | float):
            expires = datetime.fromtimestamp(info["expires_at"], UTC).date()
            if (days := (expires - today).days) <= 14:
                warnings.append(f"{where}: the token expires in {days} days, on {expires}; renew")
        return warnings

    # -- HTTP -----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        token: str,
        *,
        creating: bool = False,
        missing_ok: bool = False,
        headers: Mapping[str, str] | None = None,
        raw: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """One call with LinkedIn's headers; a non-2xx answer becomes a ``ChannelError``."""
        url = path if path.startswith(("http://", "https://")) else self.api_url + path
        sent = {"Authorization": f"Bearer {token}", "LinkedIn-Version": self.version, **PROTOCOL}
        if "json" in kwargs:
            sent["Content-Type"] = "application/json"
        sent = dict(raw) if raw is not None else {**sent, **(headers or {})}
        try:
            resp = self.http.request(method, url, secrets=[token], headers=sent, **kwargs)
        except ChannelError as exc:
            if exc.uncertain and not creating:
                raise nothing_posted(exc) from None
            raise
        if 200 <= resp.status_code < 300 or (missing_ok and resp.status_code == 404):
            return resp
        raise self._error(resp, token, creating=creating)

    def _error(self, resp: requests.Response, token: str, *, creating: bool) -> ChannelError:
        """LinkedIn's error answer as an operator-readable ``ChannelError`` (rules in README)."""
        return classify(resp, token, self, creating=creating)

    def _trusted(self, url: str) -> bool:
        """Send the token only to LinkedIn itself (or to the configured API host)."""
        host = urlsplit(url).hostname or ""
        return host == urlsplit(self.api_url).hostname or host.endswith(".linkedin.com")


def post_url(urn: str) -> str:
    """The public address of a post."""
    return f"https://www.linkedin.com/feed/update/{urn}/"


def _oauth_base(api_url: str) -> str:
    """LinkedIn's OAuth endpoints live on www.linkedin.com; a test fake serves them itself."""
    return "https://www.linkedin.com" if api_url == "https://api.linkedin.com" else api_url


__all__ = ["IMAGE_URN", "LIMIT", "LinkedInChannel", "image_problems", "post_url"]
