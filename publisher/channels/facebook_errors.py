"""Facebook's Graph error answers as ChannelErrors, kept apart from the requests in ``facebook``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from publisher.channels.base import redact, scrub
from publisher.core.errors import ChannelError

if TYPE_CHECKING:
    from publisher.core.config import ChannelConfig

PERMISSIONS = "pages_manage_posts and pages_read_engagement"
RENEW_HINT = (
    "create a new long-lived Page access token (README: 'Facebook: the Page access token'), "
    "put it in {env} and update token_expires_at"
)
#: Graph codes that mean throttling: a later attempt will succeed.
THROTTLED = frozenset({4, 17, 32, 613, 80001})
#: x-app-usage gives percentages of a rolling hour and no reset time: wait this long at 100%.
APP_USAGE_BACKOFF = 15 * 60.0
#: Error 368 without "already posted": Meta says wait and retry; no sooner than an hour.
BLOCKED_WAIT = 3600.0
UNCERTAIN_HINT = "the post may exist; it will be looked for on the Page before any retry"


def classify(
    status: int,
    body: Any,
    headers: Mapping[str, str],
    cfg: ChannelConfig,
    secrets: Iterable[str] = (),
) -> ChannelError:
    """Turn a Graph error answer into a ChannelError by its ``code``, first rule that matches."""
    secrets = tuple(secrets)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        if body is None or status >= 500 or status < 300:
            what = "a page that is not JSON" if body is None else "no Graph error"
            return ChannelError(
                f"Facebook answered HTTP {status} with {what}",
                hint=UNCERTAIN_HINT,
                uncertain=True,
                code=str(status),
            )
        return ChannelError(f"Facebook answered HTTP {status}: {short_body(body, secrets)}")
    code = _int(error.get("code"))
    sub = _int(error.get("error_subcode"))
    said = scrub(redact(str(error.get("message") or "no message"), secrets))
    trace = error.get("fbtrace_id")
    label = f"{code}/{sub}" if sub else str(code)
    detail = f"Facebook error {label}: {said}" + (f" (fbtrace_id {trace})" if trace else "")
    env = cfg.token_env or "the token_env variable"
    if code in (1, 2) or status >= 500:
        return ChannelError(detail, hint=UNCERTAIN_HINT, uncertain=True, code=label)
    if code == 190:
        return ChannelError(
            f"the Facebook Page token of {cfg.name!r} must be renewed ({detail})",
            hint=RENEW_HINT.format(env=env),
            code=label,
        )
    if code == 10 or (code is not None and 200 <= code <= 299):
        return ChannelError(
            f"the Facebook token of {cfg.name!r} lacks a permission ({detail})",
            hint=f"create a Page token granted {PERMISSIONS} by a Page admin and put it in {env}",
            code=label,
        )
    if code in THROTTLED or error.get("is_transient") is True:
        return ChannelError(
            f"Facebook is throttling or briefly unavailable ({detail})",
            hint="it will be retried later",
            retry=True,
            retry_after=retry_after(headers),
            code=label,
        )
    if code == 506:
        return ChannelError(
            f"Facebook refused the post as a duplicate of an earlier one ({detail})",
            hint="change the text; if an earlier attempt was uncertain, the post is probably there",
            duplicate=True,
            code=label,
        )
    if code == 2635:
        return ChannelError(
            f"Graph API version {cfg.options.get('api_version')} is no longer served ({detail})",
            hint=f'set api_version in [channels.{cfg.name}] to a current version, e.g. "v26.0"',
            code=label,
        )
    if code == 368 and "already posted" in str(error.get("message", "")).lower():
        # A duplicate: failed, but after an uncertain attempt the runner looks for the post.
        return ChannelError(
            f"Facebook says this was already posted ({detail})",
            hint="change the text; if an earlier attempt was uncertain, the post is probably there",
            duplicate=True,
            code=label,
        )
    if code == 368:  # "temporarily blocked ... wait and retry": not before an hour has passed
        return ChannelError(
            f"Facebook has temporarily blocked posting on this Page ({detail})",
            hint="it is tried again in an hour at the earliest",
            retry=True,
            retry_after=max(BLOCKED_WAIT, retry_after(headers) or 0.0),
            code=label,
        )
    return ChannelError(detail, hint="see Facebook's message; fix the post or the Page", code=label)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from the Business Use Case and app usage headers, if they say."""
    waits: list[float] = []
    for entries in _header_json(headers, "x-business-use-case-usage").values():
        for entry in entries if isinstance(entries, list) else [entries]:
            minutes = entry.get("estimated_time_to_regain_access") if isinstance(entry, dict) else 0
            if isinstance(minutes, int | float) and minutes > 0:
                waits.append(minutes * 60.0)
    app = _header_json(headers, "x-app-usage")
    minutes = app.get("estimated_time_to_regain_access")
    if isinstance(minutes, int | float) and minutes > 0:
        waits.append(minutes * 60.0)
    usage = [v for k, v in app.items() if k != "estimated_time_to_regain_access"]
    if any(isinstance(value, int | float) and value >= 100 for value in usage):
        waits.append(APP_USAGE_BACKOFF)
    return max(waits) if waits else None


def _header_json(headers: Mapping[str, str], name: str) -> dict[str, Any]:
    try:
        value = json.loads(headers.get(name) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def short_body(body: Any, secrets: Iterable[str] = ()) -> str:
    """The start of an answer, for a message: at most 200 characters, secrets redacted."""
    text = json.dumps(body)[:200] if body is not None else "(empty)"
    return scrub(redact(text, secrets))
