"""Log lines: one per delivery state change, human-readable or JSON, never a secret."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from publisher.core.secrets import scrub

LOGGER = "publisher"


#: The zone text log lines are written in ([publisher].timezone once a config is read).
_TIMEZONE = ["UTC"]


def use_timezone(name: str) -> None:
    """Text log lines show wall time in this zone with its abbreviation (DESIGN §8)."""
    _TIMEZONE[0] = name


class _Text(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        from datetime import UTC, datetime

        from publisher.core.times import local_text

        fields = getattr(record, "fields", None) or {}
        when = datetime.fromtimestamp(record.created, UTC)
        stamp = local_text(when, _TIMEZONE[0], seconds=True)
        text = record.getMessage()
        if fields:
            extra = " ".join(f"{k}={v}" for k, v in fields.items() if v not in (None, ""))
            text = f"{text} {extra}" if text else extra
        return scrub(f"{stamp} {record.levelname.lower():7} {text}")


class _Json(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc_z(record.created),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        return scrub(json.dumps(entry, ensure_ascii=False, default=str))


def _utc_z(created: float) -> str:
    """JSON log times: ISO 8601 UTC ending in ``Z``."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def setup(fmt: str = "text", debug: bool = False) -> logging.Logger:
    """Log to stderr (stdout stays for JSON output)."""
    logger = logging.getLogger(LOGGER)
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Json() if fmt == "json" else _Text())
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    logger.propagate = False
    return logger


def get() -> logging.Logger:
    return logging.getLogger(LOGGER)


def state_change(delivery_id: str, channel: str, state: str, detail: str | None = None) -> None:
    """The one line an operator greps for: delivery, channel, new state, URL or error."""
    level = logging.WARNING if state in ("failed", "uncertain", "expired") else logging.INFO
    get().log(
        level,
        "",
        extra={
            "fields": {
                "delivery": delivery_id,
                "channel": channel,
                "state": state,
                "detail": detail,
            }
        },
    )
