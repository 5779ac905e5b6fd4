"""iCalendar (RFC 5545) files of the events announced, rebuilt from the ledger and written atomically.

Everything about the ``ical`` channel type lives here.  Like an RSS feed, each event post's
announcement is one delivery whose payload the ledger keeps; the ``.ics`` file is then written
from the ledger alone, so any worker can rebuild it.  Unlike a feed item, a calendar entry
follows its post after it was announced: every pass compares what the ledger holds with the
current post files and stores the new version with SEQUENCE raised (an edit), or with
STATUS:CANCELLED (the post was deleted, made a draft or taken off this calendar).

The ``icalendar`` library writes the file: it folds lines at 75 octets, escapes text values and
builds each VTIMEZONE from the zone database, which are the parts of RFC 5545 easy to get wrong.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from publisher.channels.base import Health, Http, SentLedger
from publisher.channels.files import write_if_changed
from publisher.core.config import ChannelConfig, Config
from publisher.core.config_values import REQUIRED, Key, _path, _str, _url
from publisher.core.errors import ChannelError, ConfigError
from publisher.core.models import Delivery, Draft, Receipt
from publisher.core.plugins import Capabilities
from publisher.core.times import utc, zone

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo


PRODID = "-//publisher//publisher events calendar//EN"
#: Payload keys that are bookkeeping, not the event itself: a change in these is no edit.
BOOKKEEPING = frozenset({"sequence", "modified"})
NO_HOST = "publisher.invalid"


def _local(value: datetime, tz: str) -> str:
    """An aware time as the naive local wall time in ``tz``, ISO 8601 (the ledger is JSON)."""
    return value.astimezone(zone(tz)).replace(tzinfo=None).isoformat(timespec="seconds")


def _iso_utc(value: datetime) -> str:
    return utc(value).isoformat(timespec="seconds")


def event_fields(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What a calendar user sees of an entry; a difference here is a new SEQUENCE."""
    return {k: v for k, v in payload.items() if k not in BOOKKEEPING}


class IcalChannel:
    """One ``.ics`` file of events, in one language."""

    keys: ClassVar[dict[str, Key]] = {
        "path": Key(_path, REQUIRED),
        "name": Key(_str, REQUIRED),
        "url": Key(_url, None),
    }
    override_keys = frozenset(["publish_at", "link", "enabled"])
    #: A file rebuilt from the ledger, one language, events only, never too late, no reminders.
    capabilities = Capabilities(
        feed=True, one_language=True, reminders=False, catch_up=False, events_only=True
    )
    limit: int | None = None
    output_keys = ("path",)

    @staticmethod
    def prepare(values: dict[str, Any], prefix: str) -> dict[str, Any]:
        """A calendar lists events; their reminders belong on the social channels."""
        if values.get("reminders"):
            raise ConfigError(f"{prefix}.reminders: a calendar carries no reminders", "remove it")
        return values

    def __init__(self, cfg: ChannelConfig, config: Config, http: Http) -> None:
        self.name = cfg.name
        self.config = cfg
        self.settings = config
        self.path = Path(cfg.options["path"])
        url = cfg.options.get("url") or ""
        self.host = urlsplit(url).hostname or NO_HOST
        self._last: tuple[str, bytes] | None = None

    def uid(self, post_id: str) -> str:
        """``<post id>@<host>``: the same for the life of the post, whatever else changes."""
        return f"{post_id}@{self.host}"

    def render(self, delivery: Delivery) -> Draft:
        """The calendar entry as it will stand in the file (its first version)."""
        from publisher.core.render import markdown_text

        post = delivery.post
        event = post.event
        if event is None:  # planning never sends a news post here; be explicit if it happens
            return Draft(delivery.id, self.name, {}, errors=(f"{post.source}: not an event",))
        over = post.override(self.name, self.config.type)
        link = over.link if over.link is not None else post.link
        base = link or event.online_url or ""
        description, warnings = markdown_text(post.body, base)
        if event.online_url:
            description = f"{description}\n\nOnline: {event.online_url}".strip()
        payload: dict[str, Any] = {
            "uid": self.uid(post.id),
            "summary": post.title,
            "description": description,
            "location": event.location or event.online_url,
            "url": link or event.online_url,
            "tzid": post.timezone,
            "start": _local(event.start, post.timezone),
            "end": _local(event.end, post.timezone) if event.end is not None else None,
            "status": "CONFIRMED",
        }
        return Draft(delivery.id, self.name, payload, text=post.title, warnings=tuple(warnings))

    def publish(self, draft: Draft) -> Receipt:
        """Nothing to send: the ledger keeps the entry and the next rebuild writes it."""
        return Receipt(remote_id=str(draft.payload["uid"]), remote_url=self.config.options["url"])

    def find(self, draft: Draft, since: datetime, hint: str | None = None) -> Receipt | None:
        """An entry exists only once the ledger says sent; writing it twice is harmless."""
        return None

    def check_online(self, today: date) -> Health:
        folder = self.path.parent
        probe = folder if folder.exists() else folder.parent
        if not os.access(probe, os.W_OK):
            raise ChannelError(
                f"cannot write the calendar folder {folder}", hint="check permissions"
            )
        return Health(f"writes {self.path} ({self.config.languages[0]})")

    # -- following the posts after they were announced ------------------------------
    def follow(
        self,
        ledger: SentLedger,
        planned: Mapping[str, Delivery],
        keep_sources: frozenset[str],
        now: datetime,
    ) -> bool:
        """Bring every announced entry up to date with its post, then write the file.

        An entry whose post changed gets the new version with SEQUENCE + 1; one whose post is
        gone (deleted, a draft, off this calendar) is kept as STATUS:CANCELLED with SEQUENCE + 1
        so subscribed calendars remove it.  A post whose file has errors right now is left as
        it was (a typo being fixed must not cancel an event).  True when the file was written.
        """
        entries: list[Mapping[str, Any]] = []
        for row, stored in ledger.sent_payloads(self.name, limit=1_000_000):
            delivery = planned.get(row.id)
            if delivery is not None:
                current = self.render(delivery).payload
            elif row.source in keep_sources or stored.get("status") == "CANCELLED":
                current = event_fields(stored)
            else:
                current = {**event_fields(stored), "status": "CANCELLED"}
            entry = {**stored, "created": _iso_utc(row.sent_at or row.due_at)}
            if current and event_fields(current) != event_fields(stored):
                new = {
                    **current,
                    "sequence": int(stored.get("sequence", 0)) + 1,
                    "modified": _iso_utc(now),
                }
                what = "cancelled" if current["status"] == "CANCELLED" else "updated"
                detail = f"calendar entry {what} (SEQUENCE {new['sequence']})"
                if ledger.replace_sent_payload(row.id, stored, new, now, detail):
                    entry = {**new, "created": entry["created"]}
            elif row.changed and delivery is not None:  # e.g. its tags: nothing a calendar shows
                ledger.replace_sent_payload(row.id, stored, stored, now, None)
            entry.setdefault("modified", entry["created"])
            entries.append(entry)
        return self.rebuild(entries)

    # -- the file -------------------------------------------------------------------
    def calendar(self, entries: Iterable[Mapping[str, Any]]) -> bytes:
        """The whole ``.ics`` document for the given entries, ordered by start then UID."""
        from icalendar import Calendar, Event, Timezone

        entries = sorted(entries, key=lambda e: (_instant(e), str(e["uid"])))
        cal = Calendar()
        cal.add("prodid", PRODID)
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("name", self.config.options["name"])  # RFC 7986
        cal.add("x-wr-calname", self.config.options["name"])  # what Google and Apple read
        if self.config.options.get("url"):
            cal.add("source", self.config.options["url"], parameters={"VALUE": "URI"})
        years: dict[str, list[int]] = {}
        for entry in entries:
            span = years.setdefault(str(entry["tzid"]), [])
            span.append(int(str(entry["start"])[:4]))
            if entry.get("end"):
                span.append(int(str(entry["end"])[:4]))
        for tzid in sorted(years):
            first, last = min(years[tzid]), max(years[tzid])
            # Transitions from the year before the first event to the year after the last.
            cal.add_component(
                Timezone.from_tzid(
                    tzid, first_date=date(first - 1, 1, 1), last_date=date(last + 2, 1, 1)
                )
            )
        for entry in entries:
            tz = zone(str(entry["tzid"]))
            event = Event()
            event.add("uid", entry["uid"])
            created = entry.get("created") or _instant(entry).isoformat()
            stamp = datetime.fromisoformat(str(entry.get("modified") or created)).astimezone(UTC)
            event.add("dtstamp", stamp)
            event.add("created", datetime.fromisoformat(str(created)).astimezone(UTC))
            event.add("last-modified", stamp)
            event.add("sequence", int(entry.get("sequence", 0)))
            event.add("status", entry["status"])
            event.add("dtstart", _when(str(entry["start"]), tz))
            if entry.get("end"):
                event.add("dtend", _when(str(entry["end"]), tz))
            event.add("summary", entry["summary"])
            if entry.get("description"):
                event.add("description", entry["description"])
            if entry.get("location"):
                event.add("location", entry["location"])
            if entry.get("url"):
                event.add("url", entry["url"], parameters={"VALUE": "URI"})
            cal.add_component(event)
        return bytes(cal.to_ical())

    def rebuild(self, sent: Iterable[Mapping[str, Any]]) -> bool:
        """Write the calendar if its content changed; True when the file was (re)written."""
        import json

        entries = list(sent)
        key = json.dumps(entries, sort_keys=True, default=str)
        if self._last is not None and self._last[0] == key:
            document = self._last[1]  # the same entries as last pass: no need to build it again
        else:
            document = self.calendar(entries)
            self._last = (key, document)
        return write_if_changed(self.path, document)


def _when(local: str, tz: ZoneInfo) -> datetime:
    """A local time with its zone (TZID), or in UTC when the wall time happens twice.

    RFC 5545 (3.3.5) says an ambiguous local time means its first occurrence, as DESIGN §1
    does, but clients differ (khal 0.10 takes the second), so such a time goes out as UTC.
    """
    wall = datetime.fromisoformat(local).replace(tzinfo=tz)
    if wall.utcoffset() != wall.replace(fold=1).utcoffset():
        return wall.astimezone(UTC)
    return wall


def _instant(entry: Mapping[str, Any]) -> datetime:
    """When an entry starts, in UTC (entries in several zones sort by this)."""
    start = datetime.fromisoformat(str(entry["start"]))
    return start.replace(tzinfo=zone(str(entry["tzid"]))).astimezone(UTC)
