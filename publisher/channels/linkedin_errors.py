"""LinkedIn's error answers, classified the way DESIGN §5 and the README describe them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from publisher.channels.base import RETRY_HINT, json_body, redact, scrub
from publisher.core.errors import ChannelError

if TYPE_CHECKING:
    import requests

    from publisher.channels.linkedin import LinkedInChannel

UNCERTAIN_HINT = "the post may exist; it will be looked for before any retry"
TOKEN_HINT = (
    "LinkedIn access tokens last 60 days: create a new one with w_organization_social and "
    "r_organization_social (README, 'LinkedIn'), put it in ${env}, and update token_expires_at"
)
ROLE_HINT = (
    "the token needs w_organization_social (and r_organization_social to reconcile), and its "
    "member must be an ADMINISTRATOR or CONTENT_ADMINISTRATOR of the Page {author}"
)
VERSION_HINT = (
    "set api_version in [channels.{name}] to a current YYYYMM version (LinkedIn keeps about "
    "the last 12 months active)"
)
_DUPLICATE_OF = re.compile(r"urn:li:(?:share|ugcPost|post):[A-Za-z0-9_-]+")


def classify(
    resp: requests.Response, token: str, channel: LinkedInChannel, *, creating: bool
) -> ChannelError:
    """LinkedIn's error answer as an operator-readable ``ChannelError`` (rules in README)."""
    status = resp.status_code
    body = json_body(resp)
    body = body if isinstance(body, dict) else {}
    inputs = ((body.get("errorDetails") or {}).get("inputErrors")) or []
    codes = {str(body.get("code") or "")} | {str(e.get("code") or "") for e in inputs}
    said = scrub(redact(str(body.get("message") or ""), [token]))[:300]
    where, code = f"channel {channel.name!r}: LinkedIn", str(body.get("code") or status)
    kind = {65600: "is invalid", 65601: "was revoked", 65602: "has expired"}
    env = channel.config.token_env or "the token variable"
    permanent = {
        401: (
            f"says the access token {kind.get(int(body.get('serviceErrorCode') or 0), 'was refused')}",
            TOKEN_HINT.replace("{env}", env),
        ),
        403: (f"denied access: {said}", ROLE_HINT.format(author=channel.author)),
        426: (
            f"says LinkedIn-Version {channel.version} is retired: {said}",
            VERSION_HINT.format(name=channel.name),
        ),
    }
    if "NONEXISTENT_VERSION" in codes:
        status = 426
    if status in permanent:
        message, hint = permanent[status]
        return ChannelError(f"{where} {message} ({code})", hint=hint, code=code)
    if status == 429:
        return ChannelError(
            f"{where}'s rate limit is reached (HTTP 429)",
            hint="LinkedIn's daily quotas reset at 00:00 UTC; it will be retried then",
            retry=True,
            retry_after=retry_after(resp),
            code="429",
        )
    if "DUPLICATE_POST" in codes:
        found = _DUPLICATE_OF.search(str(body.get("message") or ""))
        duplicate_of = found.group(0) if found else None
        return ChannelError(
            f"{where} rejects the text as a duplicate of {duplicate_of or 'an earlier post'}",
            hint="LinkedIn refuses a text it already has; change the text to post it again",
            duplicate=True,
            duplicate_of=duplicate_of,
            code="DUPLICATE_POST",
        )
    if status >= 500 or not body:
        return ChannelError(
            f"{where} answered HTTP {status}"
            + (f" ({said})" if said else " with a page that is not JSON"),
            hint=UNCERTAIN_HINT if creating else RETRY_HINT,
            uncertain=creating,
            retry=not creating,
            code=str(status),
        )
    fields = [
        f"{(e.get('input') or {}).get('inputPath', {}).get('fieldPath') or '?'} "
        f"({e.get('code') or e.get('description') or 'invalid'})"
        for e in inputs
    ]
    detail = f"; fields: {', '.join(fields)}" if fields else ""
    hint = "fix the post (or the config) as the field names, then `publisher retry` it"
    if "VERSION_MISSING" in codes:
        hint = "the LinkedIn-Version header was not sent: report this as a bug"
    return ChannelError(
        f"{where} rejected the request: HTTP {status} {code}: {said}{detail}",
        hint=hint,
        code=code,
    )


def retry_after(resp: requests.Response) -> float:
    """Retry-After when given, else the seconds until the next 00:00 UTC (daily quotas)."""
    from email.utils import parsedate_to_datetime

    given = resp.headers.get("Retry-After", "")
    if given.strip().isdigit():
        return float(given.strip())
    try:
        now = parsedate_to_datetime(resp.headers["Date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return max(1.0, (midnight - now).total_seconds())
