"""Frozen data passed between the pipeline stages: posts, deliveries, drafts, receipts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Any

from publisher.core.errors import PostError


class State(StrEnum):
    """Delivery states as the ledger records them (DESIGN §4)."""

    PENDING = "pending"
    SENDING = "sending"
    RETRYING = "retrying"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


#: States a delivery can still leave by itself; ``status`` lists these as unsettled.
UNSETTLED = frozenset({State.PENDING, State.SENDING, State.RETRYING, State.UNCERTAIN})
#: States sync may rewrite from the current post files.
EDITABLE = frozenset({State.PENDING, State.RETRYING})


@dataclass(frozen=True, slots=True)  # slots: 100,000 posts fit in less memory
class Event:
    """The ``[event]`` table of a post: what the reminders are about."""

    start: datetime
    end: datetime | None = None
    location: str = ""
    online_url: str = ""
    reminders: tuple[str, ...] = ()
    reminder_time: time = time(9, 0)


@dataclass(frozen=True, slots=True)
class Override:
    """A per-channel table of a post file; ``None`` means "as the post says"."""

    text: str | None = None
    publish_at: datetime | None = None
    link: str | None = None
    image: Path | None = None
    image_alt: str | None = None
    enabled: bool | None = None
    summary: str | None = None


@dataclass(frozen=True, slots=True)
class Post:
    """One language version of a post file, with times already made aware."""

    id: str
    language: str
    path: Path
    source: str
    title: str
    body: str
    publish_at: datetime
    timezone: str
    expires_at: datetime | None = None
    channels: tuple[str, ...] | None = None
    link: str = ""
    image: Path | None = None
    image_alt: str = ""
    tags: tuple[str, ...] = ()
    draft: bool = False
    event: Event | None = None
    overrides: Mapping[str, Override] = field(default_factory=dict)
    #: An RFC 5545 RRULE: the post recurs from publish_at (see ``publisher.core.repeat``).
    repeat: str | None = None
    warnings: tuple[str, ...] = ()
    #: Errors that leave the rest of the post usable (a channel no longer configured).
    problems: tuple[PostError, ...] = ()

    def override(self, channel: str, channel_type: str) -> Override:
        """The override table for a channel: by its name, else by its type."""
        return self.overrides.get(channel) or self.overrides.get(channel_type) or Override()


@dataclass(frozen=True, slots=True)
class Delivery:
    """One planned send: a post (or one of its reminders) to one channel."""

    post: Post
    channel: str
    kind: str
    due_at: datetime
    expires_at: datetime | None = None
    offset: str | None = None

    @property
    def id(self) -> str:
        return delivery_id(self.post.id, self.post.language, self.channel, self.kind)

    @property
    def language(self) -> str:
        return self.post.language

    @property
    def is_reminder(self) -> bool:
        return self.offset is not None


def delivery_id(post: str, language: str, channel: str, kind: str) -> str:
    """The id users see: ``<post id>/<lang>/<channel>/<kind>`` (split it from the right)."""
    return f"{post}/{language}/{channel}/{kind}"


def split_delivery_id(value: str) -> tuple[str, str, str, str]:
    """Split an id from the right, since a post id may itself contain ``/``."""
    parts = value.rsplit("/", 3)
    if len(parts) != 4 or not all(parts):
        raise ValueError(f"not a delivery id: {value!r} (expected <post>/<lang>/<channel>/<kind>)")
    return parts[0], parts[1], parts[2], parts[3]


@dataclass(frozen=True)
class Draft:
    """Exactly what a channel will send for a delivery; preview shows it, publish sends it.

    ``payload`` is JSON-able and complete.  ``text`` is the text a reconcile matches on.
    ``errors`` make publishing refuse before any request (e.g. over the length limit).
    """

    delivery_id: str
    channel: str
    payload: Mapping[str, Any]
    text: str = ""
    image: Path | None = None
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Receipt:
    """Proof of a send: the remote id and, where the network has one, a public URL."""

    remote_id: str
    remote_url: str | None = None


@dataclass(frozen=True)
class LedgerRow:
    """A delivery as the ledger records it."""

    id: str
    post: str
    language: str
    channel: str
    kind: str
    due_at: datetime
    state: State
    attempts: int = 0
    remote_id: str | None = None
    remote_url: str | None = None
    error: str | None = None
    changed: bool = False
    source: str = ""
    expires_at: datetime | None = None
    next_attempt_at: datetime | None = None
    first_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    updated_at: datetime | None = None
    payload: Mapping[str, Any] | None = None
    content_hash: str = ""
    was_uncertain: bool = False
    catch_up_from: datetime | None = None
    #: The draft of the latest attempt: ``{"payload": ..., "text": ...}``.
    attempt: Mapping[str, Any] | None = None
