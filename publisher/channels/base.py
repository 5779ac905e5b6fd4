"""The channel protocol, the shared HTTP session (timeouts, secret redaction) and token reading.

A channel is built from its config section and an ``Http``; ``render`` is pure, ``publish``
has one external effect or raises ``ChannelError``; ``find`` lets the runner reconcile a send
whose outcome is unknown.  No base class: each network is one module that fits this shape.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from publisher import __version__
from publisher.core.errors import ChannelError, TokenMissing, TokenUnusable
from publisher.core.secrets import check_expiry, redact, scrub

if TYPE_CHECKING:
    import requests

    from publisher.core.config import ChannelConfig
    from publisher.core.models import Delivery, Draft, LedgerRow, Receipt

#: (connect, read) seconds for every call; a slow image upload gets its own, longer read.
DEFAULT_TIMEOUT = (5.0, 30.0)
#: A ChannelError's hint when the request certainly created nothing (LinkedIn, Mastodon).
RETRY_HINT = "nothing was posted; it will be retried"
USER_AGENT = f"publisher/{__version__} (+https://github.com/s3chem/publisher)"


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

    def find(self, draft: Draft, since: datetime, hint: str | None = None) -> Receipt | None:
        """Look for a post this draft may already have created (after an unknown outcome).

        ``hint`` is the remote id a duplicate error named (``ChannelError.duplicate_of``), if any.
        """
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


class SentLedger(Protocol):
    """What a channel that follows its sent entries (a calendar) may read and correct."""

    def sent_payloads(
        self, channel: str, limit: int
    ) -> list[tuple[LedgerRow, Mapping[str, Any]]]: ...

    def replace_sent_payload(
        self,
        delivery_id: str,
        before: Mapping[str, Any],
        payload: Mapping[str, Any],
        now: datetime,
        detail: str | None,
    ) -> bool: ...


def read_token(cfg: ChannelConfig, environ: Mapping[str, str] | None = None) -> str:
    """The channel's secret from its ``token_env`` variable, read only when about to call."""
    env = os.environ if environ is None else environ
    name = cfg.token_env or ""
    value = env.get(name, "").strip()
    if not value:
        raise TokenMissing(cfg.name, name)
    problem = token_problem(value)
    if problem:
        raise TokenUnusable(cfg.name, name, problem)
    return value


def token_problem(value: str) -> str | None:
    """Why a token value cannot go in an HTTP header (never quoting the secret), or None."""
    for position, char in enumerate(value, start=1):
        if char in "\r\n":
            return f"holds a line break (character {position})"
        if ord(char) < 0x20 or ord(char) == 0x7F:
            return f"holds a control character U+{ord(char):04X} (character {position})"
        if ord(char) > 0xFF:
            return (
                f"holds the character U+{ord(char):04X} (character {position}), which is not "
                "allowed in an HTTP header (a zero-width space pasted from a web page?)"
            )
    return None


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
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ) as exc:
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


def _never_sent(exc: BaseException) -> bool:
    """True when the connection failed before any byte of the request left (refused, DNS).

    Decided by urllib3's exception types found along the cause chain (and ``args``, where
    ``requests`` keeps the ``MaxRetryError``), never by message text.
    """
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        # NameResolutionError is a NewConnectionError subclass (urllib3 2).
        if isinstance(current, NewConnectionError | ConnectTimeoutError):
            return True
        if isinstance(current, MaxRetryError) and current.reason is not None:
            todo.append(current.reason)
        todo.extend(arg for arg in current.args if isinstance(arg, BaseException))
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return False


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


def refuse_invalid(draft: Draft, channel: str) -> None:
    """Stop before any request when render found errors in the draft (LinkedIn, Mastodon)."""
    if draft.errors:
        raise ChannelError(
            f"{draft.delivery_id} was not sent to {channel!r}: " + "; ".join(draft.errors),
            hint="fix the post file, then `publisher retry` the delivery",
            code="invalid-draft",
        )


def nothing_posted(exc: ChannelError) -> ChannelError:
    """An unclear answer to a request that creates nothing (a read, an upload step): a retry."""
    return ChannelError(exc.message, hint=RETRY_HINT, retry=True)


def normalize_text(text: str) -> str:
    """Text as compared when reconciling: whitespace folded, case kept."""
    return " ".join(text.split())


__all__ = [
    "DEFAULT_TIMEOUT",
    "RETRY_HINT",
    "Channel",
    "ChannelError",
    "Feed",
    "Health",
    "Http",
    "check_expiry",
    "json_body",
    "normalize_text",
    "nothing_posted",
    "read_image",
    "read_token",
    "refuse_invalid",
    "token_problem",
    "redact",
    "scrub",
]
