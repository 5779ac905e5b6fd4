"""What one pass did (outcomes, bad inputs, feeds written), shared by the runner's steps and the CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from publisher.core.errors import ExitStatus, PostError, PublisherError, TokenMissing
from publisher.core.models import State


@dataclass(frozen=True)
class Outcome:
    """What one attempt or reconcile ended in."""

    id: str
    channel: str
    state: State
    detail: str | None = None


@dataclass
class RunReport:
    """Everything one pass did, for the CLI's output and exit code."""

    outcomes: list[Outcome] = field(default_factory=list)
    token_errors: dict[str, TokenMissing] = field(default_factory=dict)
    post_errors: list[PostError] = field(default_factory=list)
    feeds_written: list[str] = field(default_factory=list)
    source_errors: list[PublisherError] = field(default_factory=list)
    feed_errors: list[str] = field(default_factory=list)
    corrections: list[Any] = field(default_factory=list)

    @property
    def exit_status(self) -> ExitStatus:
        if self.token_errors or self.post_errors or self.source_errors:
            return ExitStatus.BAD_INPUT
        if self.feed_errors or any(
            o.state in (State.FAILED, State.UNCERTAIN) for o in self.outcomes
        ):
            return ExitStatus.DELIVERY_FAILED
        return ExitStatus.OK


Notifier = Callable[[Outcome], None]
