"""The iCalendar channel: the .ics read back by icalendar and by Debian's khal, updates, cancels."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support import IN_CI, RSS_CHANNELS, Site, site_config

ICAL = """
[channels.events]
type = "ical"
path = "public/events.ics"
name = "S3Chem events"
url = "https://example.org/s3chem/events.ics"
languages = ["en"]
"""
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def _site(site: Site) -> Site:
    site.write_config(site_config(RSS_CHANNELS + ICAL))
    # Announced before the clock (2027-06-01 12:00 UTC); over the October DST change in Berlin.
    site.write_post(
        "conference.en.md",
        """
        id = "2027-10-conference"
        title = "Final conference; day 1, 2"
        publish_at = 2027-05-02T10:00:00
        link = "https://example.org/s3chem/final-conference"
        [event]
        start = 2027-10-30T18:00:00
        end = 2027-10-31T12:00:00
        location = "Maastricht, NL"
        online_url = "https://example.org/live"
        reminders = []
        """,
        "Two days on **chemistry**, see [the programme](https://example.org/p).",
    )
    # New York, in March before and after its own DST change (which comes before Europe's).
    site.write_post(
        "webinar.en.md",
        """
        id = "2028-03-webinar"
        title = "Webinar for US partners"
        publish_at = 2027-05-20T09:00:00
        timezone = "America/New_York"
        [event]
        start = 2028-03-10T11:00:00
        end = 2028-03-13T11:00:00
        online_url = "https://example.org/webinar"
        reminders = []
        """,
    )
    site.write_post(
        "news.en.md",
        """
        title = "A news item"
        publish_at = 2027-05-01T10:00:00
        """,
    )
    site.write_post(
        "later.en.md",
        """
        title = "Announced in July"
        publish_at = 2027-07-01T10:00:00
        [event]
        start = 2027-09-01T10:00:00
        """,
    )
    site.write_post(
        "draft.en.md",
        """
        title = "Never announced"
        publish_at = 2027-05-01T10:00:00
        draft = true
        [event]
        start = 2027-09-02T10:00:00
        """,
    )
    return site


def _run(invoke, site: Site) -> None:
    result = invoke(site, "run", "--once")
    assert result.exit_code == 0, result.stderr


def _events(site: Site) -> dict[str, object]:
    from icalendar import Calendar

    data = (site.root / "public/events.ics").read_bytes()
    calendar = Calendar.from_ical(data)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_each_announced_event_is_one_vevent_at_its_local_time(invoke, site: Site) -> None:
    from icalendar import Calendar

    _run(invoke, _site(site))
    data = (site.root / "public/events.ics").read_bytes()
    assert b"\r\n" in data and data.count(b"\n") == data.count(b"\r\n")  # CRLF only
    calendar = Calendar.from_ical(data)
    assert str(calendar["VERSION"]) == "2.0" and "publisher" in str(calendar["PRODID"])
    assert sorted(str(z["TZID"]) for z in calendar.walk("VTIMEZONE")) == [
        "America/New_York",
        "Europe/Berlin",
    ]
    events = _events(site)
    # News, an event not announced yet and a never-announced draft are absent.
    assert sorted(events) == ["2027-10-conference@example.org", "2028-03-webinar@example.org"]
    conf = events["2027-10-conference@example.org"]
    start, end = conf.decoded("DTSTART"), conf.decoded("DTEND")
    assert conf["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert start == datetime(2027, 10, 30, 18, 0, tzinfo=BERLIN)
    assert start.astimezone(UTC) == datetime(2027, 10, 30, 16, 0, tzinfo=UTC)  # CEST
    assert end.astimezone(UTC) == datetime(2027, 10, 31, 11, 0, tzinfo=UTC)  # CET, after the change
    assert str(conf["SUMMARY"]) == "Final conference; day 1, 2"
    assert str(conf["LOCATION"]) == "Maastricht, NL"
    assert str(conf["URL"]) == "https://example.org/s3chem/final-conference"
    description = str(conf["DESCRIPTION"])
    assert "chemistry" in description and "**" not in description
    assert "https://example.org/live" in description
    assert int(conf["SEQUENCE"]) == 0 and str(conf["STATUS"]) == "CONFIRMED"
    assert conf.decoded("DTSTAMP") == conf.decoded("LAST-MODIFIED")
    web = events["2028-03-webinar@example.org"]
    assert web["DTSTART"].params["TZID"] == "America/New_York"
    assert web.decoded("DTSTART").astimezone(UTC) == datetime(2028, 3, 10, 16, 0, tzinfo=UTC)
    assert web.decoded("DTEND").astimezone(UTC) == datetime(2028, 3, 13, 15, 0, tzinfo=UTC)
    assert str(web["LOCATION"]) == str(web["URL"]) == "https://example.org/webinar"


def test_an_edit_raises_sequence_and_a_delete_or_draft_cancels(invoke, clock, site: Site) -> None:
    _run(invoke, _site(site))
    ics = site.root / "public/events.ics"
    first = ics.read_bytes()
    _run(invoke, site)  # nothing changed: the file is left alone
    assert ics.read_bytes() == first
    clock.advance(hours=1)
    conference = site.posts / "conference.en.md"
    conference.write_text(
        conference.read_text().replace("start = 2027-10-30T18:00:00", "start = 2027-10-30T17:00:00")
    )
    _run(invoke, site)
    conf = _events(site)["2027-10-conference@example.org"]
    assert int(conf["SEQUENCE"]) == 1 and str(conf["STATUS"]) == "CONFIRMED"
    assert conf.decoded("DTSTART") == datetime(2027, 10, 30, 17, 0, tzinfo=BERLIN)
    assert conf.decoded("LAST-MODIFIED") == clock.now
    assert conf.decoded("CREATED") < clock.now
    clock.advance(hours=1)
    conference.unlink()
    webinar = site.posts / "webinar.en.md"
    webinar.write_text(webinar.read_text().replace('title = "Webinar', 'draft = true\ntitle = "W'))
    _run(invoke, site)
    events = _events(site)
    for uid in ("2027-10-conference@example.org", "2028-03-webinar@example.org"):
        assert str(events[uid]["STATUS"]) == "CANCELLED", uid
    assert int(events["2027-10-conference@example.org"]["SEQUENCE"]) == 2
    assert int(events["2028-03-webinar@example.org"]["SEQUENCE"]) == 1
    status = invoke(site, "status", "--json", "--all").stdout
    assert '"2027-10-conference/en/events/post"' in status  # still sent: nothing lost
    clock.advance(hours=1)
    webinar.write_text(webinar.read_text().replace("draft = true\n", ""))
    _run(invoke, site)
    web = _events(site)["2028-03-webinar@example.org"]
    assert str(web["STATUS"]) == "CONFIRMED" and int(web["SEQUENCE"]) == 2
    _run(invoke, site)
    assert int(_events(site)["2028-03-webinar@example.org"]["SEQUENCE"]) == 2


def test_a_file_with_errors_does_not_cancel_its_event(invoke, clock, site: Site) -> None:
    _run(invoke, _site(site))
    conference = site.posts / "conference.en.md"
    conference.write_text(conference.read_text().replace("title =", "title = = "))
    result = invoke(site, "run", "--once")
    assert result.exit_code == 2
    conf = _events(site)["2027-10-conference@example.org"]
    assert str(conf["STATUS"]) == "CONFIRMED" and int(conf["SEQUENCE"]) == 0


def test_the_uid_uses_publisher_invalid_without_a_url(invoke, site: Site) -> None:
    _site(site)
    site.write_config(site_config(RSS_CHANNELS + ICAL.replace('url = "https', '# url = "')))
    _run(invoke, site)
    assert "2027-10-conference@publisher.invalid" in _events(site)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('languages = ["en"]', 'languages = ["en", "it"]'),
        ('name = "S3Chem events"', ""),
        ('languages = ["en"]', 'languages = ["en"]\nreminders = true'),
    ],
)
def test_bad_calendar_config_names_the_key(invoke, site: Site, change: str, message: str) -> None:
    site.write_config(site_config(RSS_CHANNELS + ICAL.replace(change, message)))
    result = invoke(site, "check")
    assert result.exit_code == 2
    assert "channels.events." in result.stderr


def _khal_list(ics: Path, tmp: Path) -> list[str]:
    """Import the file into a fresh khal config and vdir; the events as khal lists them."""
    if shutil.which("khal") is None:
        if IN_CI:
            pytest.fail("khal is not installed, and PUBLISHER_CI=1")
        pytest.skip("khal is not installed (apt-get install khal)")
    vdir = tmp / "vdir" / "events"
    vdir.mkdir(parents=True)
    config = tmp / "khal.conf"
    config.write_text(
        textwrap.dedent(f"""
        [calendars]
        [[events]]
        path = {vdir}
        type = calendar
        [locale]
        timeformat = %H:%M
        dateformat = %Y-%m-%d
        longdateformat = %Y-%m-%d
        datetimeformat = %Y-%m-%d %H:%M
        longdatetimeformat = %Y-%m-%d %H:%M
        local_timezone = Europe/Berlin
        default_timezone = Europe/Berlin
        [sqlite]
        path = {tmp / "khal.db"}
        """)
    )
    env = {**os.environ, "XDG_DATA_HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp), "TZ": "UTC"}
    base = ["khal", "-c", str(config)]
    done = subprocess.run(
        [*base, "import", "--batch", "-a", "events", str(ics)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    listed = subprocess.run(
        [
            *base,
            "list",
            "--day-format",
            "",
            "--format",
            "{start}|{end}|{title}|{location}|{status}",
            "2027-01-01",
            "2029-01-01",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    return sorted({line.strip() for line in listed.stdout.splitlines() if line.strip()})


def test_khal_imports_the_calendar_and_shows_berlin_times(invoke, clock, site, tmp_path) -> None:
    _site(site)
    # A New York event at 01:30 on the night its clocks go back (the first 01:30, EDT).
    site.write_post(
        "overlap.en.md",
        """
        id = "overlap"
        title = "Night session"
        publish_at = 2027-05-02T10:00:00
        timezone = "America/New_York"
        [event]
        start = 2027-11-07T01:30:00
        end = 2027-11-07T03:00:00
        reminders = []
        """,
    )
    # No end (RFC 5545: it ends when it starts; khal shows an hour), and a long UTF-8 title
    # that the file folds at 75 octets without splitting a character.
    title = "Università di Maastricht: «perché» ça va 🎉" + " çà" * 12
    site.write_post(
        "date.en.md",
        f"""
        id = "save-the-date"
        title = "{title}"
        publish_at = 2027-05-02T10:00:00
        [event]
        start = 2027-04-01T10:00:00
        reminders = []
        """,
    )
    _run(invoke, site)
    data = (site.root / "public/events.ics").read_bytes()
    assert max(len(line) for line in data.split(b"\r\n")) <= 75
    assert str(_events(site)["save-the-date@example.org"]["SUMMARY"]) == title
    lines = _khal_list(site.root / "public/events.ics", tmp_path / "first")
    assert lines == [
        f"2027-04-01 10:00|2027-04-01 11:00|{title}||CONFIRMED",
        # 18:00 CEST to 12:00 CET over Europe's change back; khal shows it on each of its days.
        "2027-10-30 18:00|2027-10-31 12:00|Final conference; day 1, 2|Maastricht, NL|CONFIRMED",
        # 01:30 EDT = 05:30 UTC = 06:30 CET; 03:00 EST = 08:00 UTC = 09:00 CET.
        "2027-11-07 06:30|2027-11-07 09:00|Night session||CONFIRMED",
        # 11:00 EST = 17:00 CET; 11:00 EDT (after New York's change) = 16:00 CET.
        "2028-03-10 17:00|2028-03-13 16:00|Webinar for US partners|https://example.org/webinar|"
        "CONFIRMED",
    ]
    clock.advance(hours=1)
    (site.posts / "conference.en.md").unlink()
    _run(invoke, site)
    lines = _khal_list(site.root / "public/events.ics", tmp_path / "second")
    assert (
        "2027-10-30 18:00|2027-10-31 12:00|Final conference; day 1, 2|Maastricht, NL|CANCELLED"
        in lines
    )


def test_the_calendar_is_replaced_whole_never_written_in_place(invoke, site: Site) -> None:
    _run(invoke, _site(site))
    ics = site.root / "public/events.ics"
    inode = ics.stat().st_ino
    (site.posts / "conference.en.md").unlink()
    _run(invoke, site)
    assert ics.stat().st_ino != inode  # a new file renamed over the old one
    assert [p.name for p in ics.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_an_edit_a_calendar_does_not_show_is_no_new_version(invoke, clock, site: Site) -> None:
    _run(invoke, _site(site))
    clock.advance(hours=1)
    conference = site.posts / "conference.en.md"
    conference.write_text(
        conference.read_text()
        .replace("reminders = []", "reminders = []\n")
        .replace('title = "Final', 'tags = ["S3Chem"]\ntitle = "Final')
    )
    _run(invoke, site)
    assert int(_events(site)["2027-10-conference@example.org"]["SEQUENCE"]) == 0
    rows = {r["id"]: r for r in json.loads(invoke(site, "status", "--json", "--all").stdout)}
    assert rows["2027-10-conference/en/events/post"]["changed"] is False
    assert rows["2027-10-conference/en/rss/post"]["changed"] is False  # feed item updated (§9)


def test_preview_shows_the_calendar_entry(invoke, site: Site) -> None:
    _site(site)
    result = invoke(site, "preview", "--channel", "events", "--format", "json")
    assert result.exit_code == 0, result.stderr
    entries = {r["post"]: r["payload"] for r in json.loads(result.stdout)}
    assert set(entries) == {"2027-10-conference", "2028-03-webinar", "later"}
    assert entries["later"]["start"] == "2027-09-01T10:00:00"
    assert entries["later"]["tzid"] == "Europe/Berlin"


@pytest.mark.postgres
def test_on_postgresql_one_worker_stores_each_new_version(
    invoke, clock, site: Site, pg_url
) -> None:
    from publisher.store.ledger import Ledger

    # PostgreSQL workers go by the database's clock: announced already, events far ahead.
    site.write_config(
        site_config(RSS_CHANNELS + ICAL).replace(
            'state = "state/publisher.db"', f'state = "{pg_url}"'
        )
    )
    for name in ("conference", "webinar"):
        site.write_post(
            f"{name}.en.md",
            f"""
            title = "The {name}"
            publish_at = {datetime.now(UTC).date().isoformat()}T00:00:00Z
            [event]
            start = 2040-03-10T11:00:00
            reminders = []
            """,
        )
    _run(invoke, site)
    assert sorted(_events(site)) == ["conference@example.org", "webinar@example.org"]
    (site.posts / "webinar.en.md").unlink()
    _run(invoke, site)
    web = _events(site)["webinar@example.org"]
    assert str(web["STATUS"]) == "CANCELLED" and int(web["SEQUENCE"]) == 1
    ledger = Ledger.open(site.config().state_url)
    try:
        row = ledger.get("conference/en/events/post")
        assert row is not None and row.payload is not None
        before = dict(row.payload)
        new = {**before, "summary": "Renamed", "sequence": 1}
        # Two workers found the same edit: only the first stores it.
        assert ledger.replace_sent_payload(row.id, before, new, clock.now, "updated") is True
        assert ledger.replace_sent_payload(row.id, before, new, clock.now, "updated") is False
    finally:
        ledger.close()
