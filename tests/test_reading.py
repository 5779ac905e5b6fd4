"""Reading it as a person (DESIGN §8): local times with zones, lists with titles, windows."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
from support import REPO, Site, site_config

from publisher.core import logs
from publisher.core.errors import UsageError
from publisher.core.times import option_time

NOW = datetime(2027, 4, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2027-05", datetime(2027, 4, 30, 22, 0, tzinfo=UTC)),
        ("2027-05-03", datetime(2027, 5, 2, 22, 0, tzinfo=UTC)),
        ("2027-05-03T10:00", datetime(2027, 5, 3, 8, 0, tzinfo=UTC)),
        ("2027-05-03T10:00+00:00", datetime(2027, 5, 3, 10, 0, tzinfo=UTC)),
        ("today", datetime(2027, 4, 19, 22, 0, tzinfo=UTC)),
        ("tomorrow", datetime(2027, 4, 20, 22, 0, tzinfo=UTC)),
        ("now", NOW),
        ("-7d", datetime(2027, 4, 13, 12, 0, tzinfo=UTC)),
        ("+2w", datetime(2027, 5, 4, 12, 0, tzinfo=UTC)),
        ("+12h", datetime(2027, 4, 21, 0, 0, tzinfo=UTC)),
    ],
)
def test_windows_take_the_forms_people_type(typed: str, expected: datetime) -> None:
    assert option_time(typed, "Europe/Berlin", "--from", NOW) == expected


def test_a_time_nobody_can_read_names_the_forms() -> None:
    with pytest.raises(UsageError) as caught:
        option_time("next tuesday", "Europe/Berlin", "--since", NOW)
    assert "--since 'next tuesday'" in caught.value.message
    assert "2027-05" in caught.value.hint and "-7d" in caught.value.hint


def test_preview_list_has_a_header_titles_local_times_and_a_count(
    invoke, clock, sample_site: Site
) -> None:
    clock.now = datetime(2027, 1, 1, tzinfo=UTC)
    result = invoke(sample_site, "preview", "--format", "list")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().split("\n")
    assert lines[0].split() == ["when", "channel", "lang", "kind", "state", "title"]
    assert any(
        line.startswith("2027-05-03 10:00 CEST") and "rss-it" in line and " it " in line
        and "pending" in line and line.endswith("Conferenza finale di S3Chem a Maastricht")
        for line in lines
    ), result.stdout  # fmt: skip
    assert lines[-1] == f"{len(lines) - 2} deliveries"


def test_preview_list_window_next_month(invoke, clock, site: Site) -> None:
    site.write_post("april.en.md", 'title = "April news"\npublish_at = 2027-04-30T10:00:00')
    site.write_post("may.en.md", 'title = "May news"\npublish_at = 2027-05-31T23:30:00')
    site.write_post("june.en.md", 'title = "June news"\npublish_at = 2027-06-01T00:00:00')
    clock.now = NOW
    result = invoke(site, "preview", "--format", "list", "--from", "2027-05", "--until", "2027-06")
    assert result.exit_code == 0, result.stderr
    assert "May news" in result.stdout and "2027-05-31 23:30 CEST" in result.stdout
    assert "April" not in result.stdout and "June" not in result.stdout
    assert result.stdout.strip().endswith("1 delivery")


def test_every_heading_line_names_its_post(invoke, clock, site: Site) -> None:
    site.write_post("a.en.md", 'title = "First news"\npublish_at = 2027-05-03T10:00:00')
    site.write_post("b.en.md", 'title = "Second news"\npublish_at = 2027-05-03T10:00:00')
    clock.now = NOW
    text = invoke(site, "preview").stdout
    assert "2027-05-03 10:00 CEST (08:00 UTC)  rss  en  post  [pending]  First news" in text
    assert "[pending]  Second news" in text
    dry = invoke(site, "run", "--dry-run").stdout
    assert "would send 2027-05-03 10:00 CEST: a/en/rss/post  \u2014 First news" in dry
    assert "b/en/rss/post  \u2014 Second news" in dry


def test_dry_run_takes_a_window(invoke, clock, site: Site) -> None:
    site.write_post("soon.en.md", 'title = "Soon"\npublish_at = 2027-04-22T10:00:00')
    site.write_post("later.en.md", 'title = "Later"\npublish_at = 2027-06-22T10:00:00')
    clock.now = NOW
    result = invoke(site, "run", "--dry-run", "--from", "tomorrow", "--until", "+1w")
    assert result.exit_code == 0, result.stderr
    assert "Soon" in result.stdout and "Later" not in result.stdout
    wrong = invoke(site, "run", "--once", "--until", "+1w")
    assert wrong.exit_code == 2 and "--dry-run" in wrong.stderr


def test_queue_shows_local_times_with_the_zone(invoke, site: Site, tmp_path) -> None:
    post = tmp_path / "news.en.md"
    post.write_text('+++\ntitle = "News"\npublish_at = 2027-01-05T09:00:00\n+++\nBody\n',
                    encoding="utf-8")  # fmt: skip
    result = invoke(site, "queue", str(post))
    assert result.exit_code == 0, result.stderr
    assert "2027-01-05 09:00 CET  news/en/rss/post" in result.stdout


def _record(message: str) -> logging.LogRecord:
    record = logging.LogRecord("publisher", logging.INFO, __file__, 1, message, None, None)
    record.created = datetime(2027, 5, 3, 8, 0, 5, tzinfo=UTC).timestamp()
    return record


def test_text_logs_are_local_with_the_zone_and_json_logs_utc_z() -> None:
    logs.use_timezone("Europe/Berlin")
    try:
        handler = logs.setup("text").handlers[0]
        assert handler.format(_record("hello")).startswith("2027-05-03 10:00:05 CEST info")
        handler = logs.setup("json").handlers[0]
        assert json.loads(handler.format(_record("hello")))["time"] == "2027-05-03T08:00:05Z"
    finally:
        logs.use_timezone("UTC")
        logs.setup("text")


def test_preview_of_the_example_config_is_local(invoke, clock) -> None:
    clock.now = datetime(2027, 1, 1, tzinfo=UTC)
    result = invoke(REPO / "config.example.toml", "preview", "--format", "list",
                    "--post", "2027-06-final-conference")  # fmt: skip
    assert "2027-06-16 09:00 CEST  facebook  en    reminder-1d" in result.stdout


def test_a_language_no_channel_takes_is_a_warning_everywhere(
    invoke, clock, site: Site, tmp_path
) -> None:
    clock.now = NOW
    post = tmp_path / "bad.de.md"
    post.write_text('+++\ntitle = "Neu"\npublish_at = 2027-05-05T09:00:00\n+++\nText\n',
                    encoding="utf-8")  # fmt: skip
    said = "no channel takes language 'de'"
    queued = invoke(site, "queue", str(post))
    assert queued.exit_code == 0 and said in queued.stdout and "take: en, it" in queued.stdout
    checked = invoke(site, "check")
    assert said in checked.stderr and "the channels take: en, it" in checked.stderr
    shown = invoke(site, "preview", "--post", "bad")
    assert said in shown.stderr


def test_status_answers_what_went_out_and_what_is_planned(invoke, clock, site: Site) -> None:
    site.write_post("a.en.md", 'title = "Alpha news"\npublish_at = 2027-06-01T09:00:00\n'
                    'link = "https://example.org/a"')  # fmt: skip
    site.write_post("b.en.md", 'title = "Beta news"\npublish_at = 2027-06-20T09:00:00')
    before = invoke(site, "status")
    assert before.exit_code == 0
    assert (
        "no ledger yet" in before.stdout and "2 deliveries are planned (1 overdue)" in before.stdout
    )
    assert invoke(site, "run", "--once").exit_code == 0
    text = invoke(site, "status").stdout.split("\n")
    assert text[0].split() == ["due", "state", "channel", "lang", "kind", "title"]
    [alpha] = [i for i, line in enumerate(text) if line.endswith("Alpha news")]
    assert text[alpha].startswith("2027-06-01 09:00 CEST  sent")
    assert text[alpha + 1].strip() == "sent 2027-06-01 14:00 CEST  https://example.org/a"
    clock.advance(days=3)
    site.write_post("b.en.md", 'title = "Beta news"\npublish_at = 2027-06-21T09:00:00')
    assert invoke(site, "run", "--once").exit_code == 0  # re-syncs b; nothing is sent
    recent = invoke(site, "status", "--since", "-1d")
    assert recent.stdout.strip() == "no delivery matches (use --all to see everything)"
    week = invoke(site, "status", "--state", "sent", "--since", "-7d").stdout
    assert "Alpha news" in week and "Beta" not in week
    pending = invoke(site, "status", "--state", "pending", "--channel", "rss").stdout
    assert "Beta news" in pending and "Alpha" not in pending
    assert "Alpha" not in invoke(site, "status", "--all", "--post", "b").stdout
    rows = {r["post"]: r for r in json.loads(invoke(site, "status", "--json", "--all").stdout)}
    assert rows["a"]["title"] == "Alpha news" and rows["a"]["sent_at"] == "2027-06-01T12:00:00Z"
    assert rows["b"]["due_local"] == "2027-06-21T09:00:00+02:00"


def test_status_tells_what_to_do_with_a_failed_or_uncertain_row(invoke, site: Site) -> None:
    from publisher.store.ledger import Ledger, deliveries

    site.write_post("a.en.md", 'title = "Alpha"\npublish_at = 2027-06-01T09:00:00')
    site.write_post("b.en.md", 'title = "Beta"\npublish_at = 2027-06-01T09:00:00')
    invoke(site, "run", "--once")
    ledger = Ledger.open(site.config().state_url)
    with ledger.engine.begin() as conn:
        conn.execute(deliveries.update().where(deliveries.c.id == "a/en/rss/post")
                     .values(state="failed", error="boom"))  # fmt: skip
        conn.execute(deliveries.update().where(deliveries.c.id == "b/en/rss/post")
                     .values(state="uncertain", error="timed out"))  # fmt: skip
    text = invoke(site, "status").stdout
    assert "why: boom" in text and "`publisher retry a/en/rss/post`" in text
    assert "`publisher resolve b/en/rss/post --sent URL`" in text


@pytest.mark.parametrize(
    "command", ["check", "queue", "preview", "run", "status", "retry", "resolve", "update"]
)
def test_every_command_help_has_examples(invoke, command: str) -> None:
    text = invoke(None, command, "--help").stdout
    assert "Examples:" in text and f"publisher {command}" in text


def test_help_describes_format_and_output_and_times(invoke) -> None:
    text = " ".join(invoke(None, "preview", "--help").stdout.split())
    assert "-o FILE Write to FILE instead of the terminal." in text
    assert "--format [text|list|json|html]" in text and "one line per delivery" in text
    assert "2027-05" in text and "-7d" in text
    assert "-7d" in " ".join(invoke(None, "--help").stdout.split())


def test_expiry_reasons_and_dropped_reminders_name_local_times(invoke, clock, site: Site) -> None:
    from datetime import timedelta

    from publisher.core.plan import expiry_reason

    reason = expiry_reason(NOW, datetime(2027, 5, 3, 8, 0, tzinfo=UTC), datetime(2027, 6, 1, tzinfo=UTC),
                           timedelta(days=2), is_reminder=False, timezone="Europe/Berlin")  # fmt: skip
    assert reason == "the post expired at 2027-05-03 10:00 CEST (expires_at)"
    site.write_post("e.en.md", 'title = "E"\npublish_at = 2027-06-15T10:00:00\n'
                    '[event]\nstart = 2027-06-17T09:00:00\nreminders = ["7d"]')  # fmt: skip
    site.write_config(site_config(RSS_REMINDERS))
    clock.now = NOW
    assert "announcement (2027-06-10 09:00 CEST); dropped" in invoke(site, "check").stderr


RSS_REMINDERS = """
[channels.rss]
type = "rss"
path = "public/feed.xml"
title = "S3Chem news"
link = "https://example.org/s3chem"
feed_url = "https://example.org/s3chem/feed.xml"
languages = ["en"]
reminders = true
"""
