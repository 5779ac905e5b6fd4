"""The one test clock: time is passed in and moved by hand, never slept on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass
class Clock:
    """A clock a test moves by hand; call it for the current time."""

    now: datetime = field(default_factory=lambda: datetime(2027, 6, 1, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now
