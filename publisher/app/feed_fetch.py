"""Fetching a feed (or an item's image) over HTTP: bounded in time and size, https only.

Redirects are followed by hand so every hop is checked (https, or http on loopback) and a
permanent one (301, 308) can be reported; conditional GET saves refetching an unchanged feed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from publisher import __version__
from publisher.core.errors import PublisherError
from publisher.core.urls import url_problem

if TYPE_CHECKING:
    import requests

#: 10 MB, as DESIGN §10 counts them.
MAX_BYTES = 10_000_000
MAX_REDIRECTS = 10
PERMANENT = frozenset([301, 308])
USER_AGENT = f"publisher/{__version__} (feed reader; +https://github.com/s3chem/publisher)"
_CHUNK = 64 * 1024


class SourceError(PublisherError):
    """A poll of one source failed; the message names the source, the hint what to do."""


@dataclass(frozen=True)
class Fetched:
    """One answer: the body (empty when 304), its headers and where it finally came from."""

    status: int
    body: bytes
    headers: dict[str, str]
    url: str
    moved_to: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def session() -> requests.Session:
    """A session like the channels' one: our User-Agent, no proxy settings from the environment."""
    import requests

    made = requests.Session()
    made.headers["User-Agent"] = USER_AGENT
    made.trust_env = False
    return made


def fetch(
    http: requests.Session,
    url: str,
    *,
    what: str,
    timeout: float,
    etag: str | None = None,
    last_modified: str | None = None,
    limit: int = MAX_BYTES,
    accept: str = "*/*",
) -> Fetched:
    """GET ``url`` (following redirects); raise ``SourceError`` worded for ``what``."""
    import requests

    headers = {"Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = time.monotonic() + timeout
    moved_to: str | None = None
    permanent_so_far = True
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        problem = url_problem(current)
        if problem:
            raise SourceError(f"{what}: {problem}", "use an https:// address")
        try:
            response = http.get(
                current,
                headers=headers,
                timeout=(timeout, timeout),
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout:
            raise _timeout(what, timeout) from None
        except requests.RequestException as exc:
            raise SourceError(
                f"{what}: cannot reach {_host(current)} ({_reason(exc)})",
                "check the address and the network; it is tried again at the next poll",
            ) from None
        with response:
            if response.is_redirect and "location" in response.headers:
                target = urljoin(current, response.headers["location"])
                if response.status_code in PERMANENT and permanent_so_far:
                    moved_to = target
                else:
                    permanent_so_far = False
                current = target
                continue
            if response.status_code == 304:
                return Fetched(304, b"", dict(response.headers), current, moved_to)
            if response.status_code in (404, 410):
                gone = "is gone (HTTP 410)" if response.status_code == 410 else "was not found"
                raise SourceError(
                    f"{what}: {current} {gone}",
                    "check the address on the website and update it (or remove the source)",
                )
            if response.status_code >= 400:
                raise SourceError(
                    f"{what}: {_host(current)} answered HTTP "
                    f"{response.status_code} {response.reason or ''}".rstrip(),
                    "it is tried again at the next poll",
                )
            body = _read(response, what, limit, deadline, timeout)
            return Fetched(response.status_code, body, dict(response.headers), current, moved_to)
    raise SourceError(
        f"{what}: more than {MAX_REDIRECTS} redirects from {url}",
        "open the address in a browser and use where it ends up",
    )


def _read(
    response: requests.Response, what: str, limit: int, deadline: float, timeout: float
) -> bytes:
    import requests

    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _oversized(what, limit)
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise _oversized(what, limit)
            if time.monotonic() > deadline:
                raise _timeout(what, timeout)
            chunks.append(chunk)
    except requests.Timeout:
        raise _timeout(what, timeout) from None
    except requests.RequestException as exc:
        raise SourceError(
            f"{what}: the answer broke off ({_reason(exc)})", "it is tried again at the next poll"
        ) from None
    return b"".join(chunks)


def _oversized(what: str, limit: int) -> SourceError:
    return SourceError(
        f"{what}: the answer is larger than {limit:,} bytes",
        "point the source at a shorter feed (e.g. the news category's own "
        "feed); nothing was imported",
    )


def _timeout(what: str, timeout: float) -> SourceError:
    return SourceError(
        f"{what}: no complete answer within {timeout:g} s",
        "it is tried again at the next poll; if the site is always slow, "
        "raise `timeout` in its [sources] table",
    )


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _reason(exc: Exception) -> str:
    text = repr(exc)
    for marker, words in (
        ("Connection refused", "connection refused"),
        ("NameResolutionError", "unknown host name"),
        ("Failed to resolve", "unknown host name"),
        ("SSLError", "TLS certificate problem"),
        ("CERTIFICATE_VERIFY_FAILED", "TLS certificate problem"),
    ):
        if marker in text:
            return words
    return type(exc).__name__
