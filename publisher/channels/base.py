"""The channel protocol, the shared HTTP session (timeouts, secret redaction) and token reading.

A channel is built from its config section and an ``Http``; ``render`` is pure, ``publish``
has one external effect or raises ``ChannelError``; ``find`` lets the runner reconcile a send
whose outcome is unknown.  No base class: each network is one module that fits this shape.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from publisher.core.errors import ChannelError, TokenMissing

if TYPE_CHECKING:
    import requests

    from publisher.core.config import ChannelConfig
    from publisher.core.models import Delivery, Draft, Receipt

#: (connect, read) seconds for every call; a slow image upload gets its own, longer read.
DEFAULT_TIMEOUT = (5.0, 30.0)
USER_AGENT = "publisher/0.1 (+https://github.com/s3chem/publisher)"


@runtime_checkable
class Channel(Protocol):
    """What the runner needs from a network."""

    name: str
    config: ChannelConfig

    def render(self, delivery: Delivery) -> Draft:
        """The exact payload for a delivery; pure, no network."""
        ...

    def publish(self, draft: Draft) -> Receipt:
        """Send once; raise ``ChannelError`` saying whether a retry may help."""
        ...

    def find(self, draft: Draft, since: datetime) -> Receipt | None:
        """Look for a post this draft may already have created (after an unknown outcome)."""
        ...

    def check_online(self, today: date) -> Health:
        """Prove the token and access work; raise ``ChannelError`` if they do not."""
        ...


@dataclass(frozen=True)
class Health:
    """What ``check --online`` learned of a channel: who it posts as, and any warnings."""

    summary: str
    warnings: tuple[str, ...] = ()


@runtime_checkable
class Feed(Protocol):
    """A channel whose output is a file rebuilt from everything it has sent (RSS)."""

    def rebuild(self, sent: Iterable[Mapping[str, Any]]) -> bool:
        """Write the feed from the sent payloads, newest first; True if the file changed."""
        ...


def read_token(cfg: ChannelConfig, environ: Mapping[str, str] | None = None) -> str:
    """The channel's secret from its ``token_env`` variable, read only when about to call."""
    env = os.environ if environ is None else environ
    name = cfg.token_env or ""
    value = env.get(name, "").strip()
    if not value:
        raise TokenMissing(cfg.name, name)
    return value


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret (and its URL-encoded form) in ``text`` with ``***``."""
    from urllib.parse import quote, quote_plus

    for secret in secrets:
        if secret and len(secret) >= 4:
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(form, "***")
    return text


_BEARER = re.compile(r"(?i)(bearer\s+|access_token=)[^\s&\"']+")


def scrub(text: str) -> str:
    """Belt and braces: blank anything that looks like a bearer token or access_token param."""
    return _BEARER.sub(r"\1***", text)


class Http:
    """One ``requests.Session`` shared by all channels, with a timeout on every call.

    Exceptions from ``requests`` are turned into ``ChannelError`` here, with secrets removed,
    since their text can carry URLs and headers.  ``sent`` on the error tells whether the
    request may have reached the service (then the outcome is unknown).
    """

    def __init__(self, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self._session: requests.Session | None = None

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            import requests

            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            session.trust_env = False
            self._session = session
        return self._session

    def request(
        self,
        method: str,
        url: str,
        *,
        secrets: Iterable[str] = (),
        timeout: tuple[float, float] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send one request; transport failures become ``ChannelError`` (uncertain if sent)."""
        import requests

        secrets = tuple(secrets)
        try:
            return self.session.request(method, url, timeout=timeout or self.timeout, **kwargs)
        except (requests.ConnectTimeout, requests.exceptions.SSLError) as exc:
            raise ChannelError(
                f"could not connect to {_host(url)}: {scrub(redact(str(exc), secrets))}",
                hint="nothing was sent; it will be retried",
                retry=True,
            ) from None
        except requests.ConnectionError as exc:
            if _never_sent(exc):
                raise ChannelError(
                    f"could not connect to {_host(url)}",
                    hint="nothing was sent; it will be retried",
                    retry=True,
                ) from None
            raise ChannelError(
                f"the connection to {_host(url)} broke after the request was sent",
                hint="the post may exist; it will be looked for before any retry",
                uncertain=True,
            ) from None
        except requests.Timeout:
            raise ChannelError(
                f"{_host(url)} did not answer within {(timeout or self.timeout)[1]:.0f} s",
                hint="the post may exist; it will be looked for before any retry",
                uncertain=True,
            ) from None
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as exc:  # fmt: skip
            raise ChannelError(
                f"bad request URL for {_host(url)}: {scrub(redact(str(exc), secrets))}",
                hint="check api_url in the channel's config",
            ) from None
        except requests.RequestException as exc:
            # A broken or undecodable answer, too many redirects: the request had arrived.
            raise ChannelError(
                f"the answer from {_host(url)} was broken: {scrub(redact(str(exc), secrets))}",
                hint="the post may exist; it will be looked for before any retry",
                uncertain=True,
            ) from None

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc or url


def _never_sent(exc: Exception) -> bool:
    """True when the connection failed before any byte of the request left (refused, DNS)."""
    text = repr(exc)
    return any(
        marker in text
        for marker in (
            "NewConnectionError",
            "Connection refused",
            "NameResolutionError",
            "Failed to resolve",
            "No route to host",
        )
    )


def json_body(response: requests.Response) -> Any | None:
    """The response's JSON, or None when the body is not JSON (an HTML error page)."""
    try:
        return response.json()
    except ValueError:
        return None


def read_image(path: Path) -> bytes:
    """An image's bytes at publish time; a missing file fails before any request is made."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ChannelError(
            f"the image {path} cannot be read ({exc.strerror or exc})",
            hint="put the file back (or fix `image` in the post), then `publisher retry` it",
        ) from None


def normalize_text(text: str) -> str:
    """Text as compared when reconciling: whitespace folded, case kept."""
    return " ".join(text.split())


def check_expiry(cfg: ChannelConfig, today: date) -> list[str]:
    """A warning when the configured ``token_expires_at`` is within 14 days."""
    expires = cfg.options.get("token_expires_at")
    if not expires:
        return []
    days = (expires - today).days
    if days < 0:
        return [f"channel {cfg.name!r}: the token expired on {expires} (token_expires_at)"]
    if days <= 14:
        return [f"channel {cfg.name!r}: the token expires in {days} days, on {expires}; renew it"]
    return []


__all__ = [
    "DEFAULT_TIMEOUT",
    "Channel",
    "ChannelError",
    "Feed",
    "Health",
    "Http",
    "check_expiry",
    "json_body",
    "normalize_text",
    "read_image",
    "read_token",
    "redact",
    "scrub",
]
