"""Recurring posts: occurrences against an independent RRULE expansion, DST, {date}, edits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from support import CHANNELS, RSS_CHANNELS, Site, config_text, make_site, site_config

from publisher.core.errors import PostError
from publisher.core.plan import plan
from publisher.core.posts import read_post


def _independent(rule: str, start: datetime) -> list[datetime]:
    """dateutil on AWARE datetimes: wall-time recurrence, each resolved by zoneinfo (fold=0)."""
    return [d.astimezone(UTC) for d in rrulestr(rule, dtstart=start)]


def _planned(tmp_path, front: str, channel: str = "rss"):
    site = make_site(tmp_path)
    path = site.post("recurring.en.md", front, "Read it.")
    config = site.config()
    post = read_post(path, config)
    result = plan([post], config)
    mine = [d for d in result.deliveries if d.channel == channel]
    return mine, result.warnings


@pytest.mark.parametrize(
    ("tz", "wall", "rule"),
    [
        # Sundays at 02:30 all year: both Berlin changes happen on a Sunday at 02:00-03:00.
        ("Europe/Berlin", "2027-01-03T02:30:00", "FREQ=WEEKLY;BYDAY=SU;UNTIL=20271231"),
        # Sundays at 01:30 and 02:30 in New York: 01:30 happens twice on 7 November,
        # 02:30 does not exist on 14 March.
        ("America/New_York", "2027-01-03T01:30:00", "FREQ=WEEKLY;BYDAY=SU;COUNT=53"),
        ("America/New_York", "2027-01-03T02:30:00", "FREQ=WEEKLY;UNTIL=20280102T120000Z"),
        # A monthly newsletter on the first Monday at 10:00.
        ("Europe/Berlin", "2027-01-04T10:00:00", "FREQ=MONTHLY;BYDAY=1MO;COUNT=12"),
        ("America/New_York", "2027-01-04T10:00:00", "FREQ=MONTHLY;BYDAY=1MO;COUNT=12"),
    ],
)
def test_occurrences_match_an_independent_expansion_over_both_dst_changes(
    tmp_path, tz: str, wall: str, rule: str
) -> None:
    found, _ = _planned(tmp_path, f"""
        title = "Reminder of {{date}}"
        publish_at = {wall}
        timezone = "{tz}"
        repeat = "{rule}"
        """)  # fmt: skip
    start = datetime.fromisoformat(wall).replace(tzinfo=ZoneInfo(tz))
    # A date UNTIL is the whole local day: 23:59:59 CET is 22:59:59 UTC.
    expected = _independent(rule.replace("UNTIL=20271231", "UNTIL=20271231T225959Z"), start)
    if "Z" in rule:  # the UTC UNTIL needs an aware start in dateutil too: same instants
        expected = [d for d in expected if d <= datetime(2028, 1, 2, 12, tzinfo=UTC)]
    assert [d.due_at for d in found] == expected
    assert len(found) >= 12
    assert [d.kind for d in found] == [f"repeat-{d:%Y%m%d}" for d in
                                       (e.astimezone(ZoneInfo(tz)) for e in expected)]  # fmt: skip


def test_dst_instants_are_named_in_warnings(tmp_path) -> None:
    found, warnings = _planned(tmp_path, """
        title = "Sunday night {date}"
        publish_at = 2027-01-03T02:30:00
        timezone = "Europe/Berlin"
        repeat = "FREQ=WEEKLY;BYDAY=SU;UNTIL=20271231"
        """)  # fmt: skip
    spring = next(d for d in found if d.kind == "repeat-20270328")
    autumn = next(d for d in found if d.kind == "repeat-20271031")
    assert spring.due_at == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # moved to 03:30 CEST
    assert autumn.due_at == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # the first 02:30 (CEST)
    text = "\n".join(warnings)
    assert "2027-03-28 02:30 does not exist in Europe/Berlin" in text
    assert "2027-10-31 02:30 happens twice in Europe/Berlin" in text
    assert "2027-10-31 00:30 UTC" in text


def test_a_monthly_announcement_goes_out_at_ten_local_all_year(tmp_path) -> None:
    for tz in ("Europe/Berlin", "America/New_York"):
        found, warnings = _planned(tmp_path / tz.replace("/", "-"), f"""
            title = "The newsletter of {{date}} is out"
            publish_at = 2027-01-04T10:00:00
            timezone = "{tz}"
            repeat = "FREQ=MONTHLY;BYDAY=1MO;COUNT=12"
            """)  # fmt: skip
        local = [d.due_at.astimezone(ZoneInfo(tz)) for d in found]
        assert len(local) == 12 and not warnings
        assert {(t.hour, t.minute) for t in local} == {(10, 0)}
        assert [t.weekday() for t in local] == [0] * 12 and all(t.day <= 7 for t in local)
        assert len({d.due_at.hour for d in found}) == 2  # UTC hour moves with DST, local does not


def test_date_is_the_occurrence_date_in_the_post_language(tmp_path) -> None:
    site = make_site(tmp_path)
    path = site.post("letter.it.md", """
        title = "La newsletter del {date}"
        publish_at = 2027-01-04T10:00:00
        repeat = "FREQ=MONTHLY;BYDAY=1MO;COUNT=2"
        [linkedin]
        text = "Uscita il {date}!"
        """, "Testo del {date}.")  # fmt: skip
    config = site.config()
    post = read_post(path, config)
    found = [d for d in plan([post], config).deliveries if d.channel == "linkedin"]
    assert found == []  # linkedin takes only English in the helper config
    found = [d for d in plan([post], config).deliveries if d.channel == "facebook"]
    assert [d.post.title for d in found] == [
        "La newsletter del 4 gennaio 2027", "La newsletter del 1 febbraio 2027"]  # fmt: skip
    assert found[1].post.body == "Testo del 1 febbraio 2027."
    assert found[0].post.override("linkedin", "linkedin").text == "Uscita il 4 gennaio 2027!"
    assert all(d.kind != "post" for d in plan([post], config).deliveries)


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("FREQ=MONTHLY;BYDAY=1MO", "never ends"),
        ("FREQ=HOURLY;COUNT=3", "at most once a day"),
        ("FREQ=MONTHLY;BYDAY=XX;COUNT=3", "BYDAY=XX is not understood"),
        ("FREQ=MONTHLY;COUNT=3;UNTIL=20271231", "both COUNT and UNTIL"),
        ("FREQ=MONTHLY;UNTIL=20271231T100000", "UTC time ending in Z"),
        ("FREQ=MONTHLY;UNTIL=20261231", "UNTIL is before publish_at"),
        ("FREQ=DAILY;COUNT=5000", "COUNT=5000 is not a number from 1 to 1000"),
        ("MONTHLY", "is not written NAME=VALUE"),
        ("FREQ=MONTHLY;BYHOUR=9;COUNT=3", "BYHOUR cannot be used"),
    ],
)
def test_a_bad_rule_is_an_error_naming_the_file_and_key(tmp_path, rule: str, words: str) -> None:
    site = make_site(tmp_path)
    path = site.post("bad.en.md", f"""
        title = "Newsletter {{date}}"
        publish_at = 2027-01-04T10:00:00
        repeat = "{rule}"
        """)  # fmt: skip
    with pytest.raises(PostError) as caught:
        read_post(path, site.config())
    error = caught.value
    assert "bad.en.md" in str(error) and "repeat" in str(error)
    assert words in str(error)
    assert error.line == 4


def test_a_recurring_post_without_date_is_an_error(tmp_path) -> None:
    site = make_site(tmp_path)
    path = site.post("same.en.md", """
        title = "Newsletter"
        publish_at = 2027-01-04T10:00:00
        repeat = "FREQ=MONTHLY;COUNT=3"
        """, "Same text every time.")  # fmt: skip
    with pytest.raises(PostError) as caught:
        read_post(path, site.config())
    error = caught.value
    assert "same.en.md" in str(error) and "{date}" in str(error)


def test_a_calendar_takes_a_recurring_event_once(tmp_path) -> None:
    site = make_site(tmp_path, config_text(CHANNELS + ICAL))
    path = site.post("meet.en.md", """
        title = "Save the date {date}"
        publish_at = 2027-01-04T10:00:00
        repeat = "FREQ=MONTHLY;COUNT=3"
        [event]
        start = 2027-06-17T09:00:00
        reminders = []
        """)  # fmt: skip
    config = site.config()
    post = read_post(path, config)
    kinds = {(d.channel, d.kind) for d in plan([post], config).deliveries}
    assert ("events", "post") in kinds and ("rss", "repeat-20270304") in kinds
    assert ("rss", "post") not in kinds


ICAL = """
[channels.events]
type = "ical"
path = "public/events.ics"
name = "Events"
languages = ["en"]
"""
NEWSLETTER = """
title = "Newsletter of {date}"
publish_at = 2027-01-04T10:00:00
repeat = "FREQ=MONTHLY;BYDAY=1MO;COUNT=6"
"""


def test_editing_the_rule_replans_pending_occurrences_only(invoke, clock, site: Site) -> None:
    site.write_config(site_config(RSS_CHANNELS))
    path = site.write_post("letter.en.md", NEWSLETTER)
    clock.now = datetime(2027, 2, 2, 12, tzinfo=UTC)  # January's and February's are due
    result = invoke(site, "run", "--once")
    assert result.exit_code == 0, result.stderr
    path.write_text(path.read_text().replace("BYDAY=1MO;COUNT=6", "BYDAY=1TU;COUNT=4"))
    result = invoke(site, "run", "--once")
    assert result.exit_code == 0, result.stderr
    rows = {r["kind"]: r["state"] for r in json.loads(
        invoke(site, "status", "--json", "--all").stdout) if r["channel"] == "rss"}  # fmt: skip
    assert rows == {
        "repeat-20270104": "sent",  # publish_at: always the first, sent
        "repeat-20270201": "sent",  # sent under the old rule: stays sent
        "repeat-20270301": "cancelled", "repeat-20270405": "cancelled",
        "repeat-20270503": "cancelled", "repeat-20270607": "cancelled",
        # the new rule: January 4 (sent), then first Tuesdays; those due go out (a feed has
        # no catch-up limit), the rest wait
        "repeat-20270105": "sent", "repeat-20270202": "sent", "repeat-20270302": "pending",
    }  # fmt: skip
    preview = invoke(site, "preview", "--format", "json")
    kinds = [r["kind"] for r in json.loads(preview.stdout) if r["channel"] == "rss"]
    assert kinds == ["repeat-20270302"]


def test_a_publish_at_off_the_rule_is_still_the_first_time_with_a_warning(tmp_path) -> None:
    found, warnings = _planned(tmp_path, """
        title = "Newsletter {date}"
        publish_at = 2027-01-05T10:00:00
        repeat = "FREQ=MONTHLY;BYDAY=1MO;COUNT=3"
        """)  # fmt: skip
    assert [d.kind for d in found] == ["repeat-20270105", "repeat-20270201", "repeat-20270301"]
    assert any("publish_at (Tue 2027-01-05) is not one of the rule's days" in w for w in warnings)
