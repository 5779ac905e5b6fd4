"""Planning: which deliveries a post asks for, when reminders go out, and when a delivery expires."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher.core.config import Config
from publisher.core.models import Post
from publisher.core.plan import Plan, expiry_reason, plan, preview_state
from publisher.core.posts import parse_post

try:
    from helpers import EVENT, NEWS, Site, config_text, make_site, post_text
except ImportError:  # tests/ run as a package
    from tests.helpers import EVENT, NEWS, Site, config_text, make_site, post_text

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def folder(tmp_path: Path) -> Site:
    return make_site(tmp_path / "site")


def planned(folder: Site, name: str, front: str) -> Plan:
    folder.post(name, front)
    return plan([folder.read(name)], folder.config())


def pairs(result: Plan) -> set[tuple[str, str]]:
    return {(d.channel, d.kind) for d in result.deliveries}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- news -------------------------------------------------------------------------------------


def test_news_goes_once_to_every_channel_that_takes_its_language(folder: Site) -> None:
    en = planned(folder, "news.en.md", NEWS)
    assert pairs(en) == {("facebook", "post"), ("linkedin", "post"), ("rss", "post")}
    assert {d.due_at for d in en.deliveries} == {utc(2027, 2, 10, 9, 0)}
    assert {d.id for d in en.deliveries} == {
        "news/en/facebook/post",
        "news/en/linkedin/post",
        "news/en/rss/post",
    }
    assert pairs(planned(folder, "news.it.md", NEWS)) == {("facebook", "post"), ("rss-it", "post")}
    assert planned(folder, "news.de.md", NEWS).deliveries == []


def test_the_posts_channels_list_limits_where_it_goes(folder: Site) -> None:
    result = planned(folder, "news.md", NEWS + 'channels = ["linkedin", "rss-it"]')
    assert pairs(result) == {("linkedin", "post")}
    assert any("'rss-it' does not take language 'en'" in w for w in result.warnings)


def test_an_override_can_switch_one_channel_off(folder: Site) -> None:
    result = planned(folder, "news.md", NEWS + "\n[facebook]\nenabled = false\n")
    assert pairs(result) == {("linkedin", "post"), ("rss", "post")}


def test_an_override_by_type_switches_every_channel_of_that_type_off(folder: Site) -> None:
    result = planned(folder, "news.it.md", NEWS + "\n[rss]\nenabled = false\n")
    assert pairs(result) == {("facebook", "post")}


def test_a_draft_plans_nothing(folder: Site) -> None:
    assert planned(folder, "news.md", NEWS + "draft = true").deliveries == []
    assert planned(folder, "event.md", "draft = true\n" + EVENT).deliveries == []


def test_expires_at_is_carried_by_the_announcement(folder: Site) -> None:
    result = planned(folder, "news.md", NEWS + "expires_at = 2027-02-12T18:00:00")
    assert {d.expires_at for d in result.deliveries} == {utc(2027, 2, 12, 17, 0)}


def test_an_empty_channels_list_sends_nowhere(folder: Site) -> None:
    assert planned(folder, "news.md", NEWS + "channels = []").deliveries == []


def test_a_channel_listed_twice_is_planned_once(folder: Site) -> None:
    result = planned(folder, "news.md", NEWS + 'channels = ["facebook", "facebook"]')
    assert [d.id for d in result.deliveries] == ["news/en/facebook/post"]


# --- events -----------------------------------------------------------------------------------


def test_an_event_has_an_announcement_and_one_reminder_per_offset(folder: Site) -> None:
    result = planned(folder, "conf.md", EVENT)
    assert pairs(result) == {
        *((ch, kind) for ch in ("facebook", "linkedin") for kind in (
            "post", "reminder-30d", "reminder-7d", "reminder-1d")),
        ("rss", "post"),
    }  # fmt: skip
    due = {d.kind: d.due_at for d in result.deliveries if d.channel == "facebook"}
    assert due == {
        "post": utc(2027, 5, 2, 8, 0),
        "reminder-30d": utc(2027, 5, 18, 7, 0),  # 09:00 Berlin, 30 calendar days before
        "reminder-7d": utc(2027, 6, 10, 7, 0),
        "reminder-1d": utc(2027, 6, 16, 7, 0),
    }
    reminder = next(d for d in result.deliveries if d.kind == "reminder-7d")
    assert reminder.offset == "7d" and reminder.is_reminder
    assert reminder.expires_at == utc(2027, 6, 17, 7, 0), "a reminder expires at the event start"
    assert result.warnings == []


def test_week_and_hour_offsets(folder: Site) -> None:
    result = planned(folder, "conf.md", EVENT + 'reminders = ["2w", "2h", "90m"]')
    due = {d.kind: d.due_at for d in result.deliveries if d.channel == "linkedin"}
    assert due["reminder-2w"] == utc(2027, 6, 3, 7, 0)
    assert due["reminder-2h"] == utc(2027, 6, 17, 5, 0)
    assert due["reminder-90m"] == utc(2027, 6, 17, 5, 30)


def test_day_reminders_keep_their_wall_time_across_a_dst_change(folder: Site) -> None:
    front = NEWS + '[event]\nstart = 2027-03-29T09:00:00\nreminders = ["7d", "1d", "48h"]'
    result = planned(folder, "conf.md", front)
    due = {d.kind: d.due_at for d in result.deliveries if d.channel == "facebook"}
    # 7 days before, before the switch to summer time: still 09:00 on the clock (UTC+1).
    assert due["reminder-7d"].astimezone(BERLIN).replace(tzinfo=None) == datetime(2027, 3, 22, 9)
    assert due["reminder-7d"] == utc(2027, 3, 22, 8, 0)
    assert due["reminder-1d"] == utc(2027, 3, 28, 7, 0)  # 09:00 summer time
    # An hour offset is elapsed time: 48 h before 07:00 UTC, 08:00 on the winter clock.
    assert due["reminder-48h"] == utc(2027, 3, 27, 7, 0)


def test_a_reminder_time_in_the_dst_gap_moves_forward_with_a_warning(folder: Site) -> None:
    front = NEWS + "[event]\nstart = 2027-03-29T09:00:00\nreminder_time = 02:30:00\n"
    result = planned(folder, "conf.md", front + 'reminders = ["1d"]')
    [reminder] = [
        d for d in result.deliveries if d.kind == "reminder-1d" and d.channel == "facebook"
    ]
    assert reminder.due_at == utc(2027, 3, 28, 1, 30)  # 03:30 summer time
    assert any(
        "reminder 1d" in w and "does not exist" in w and "2027-03-28 01:30 UTC" in w
        for w in result.warnings
    )


def test_the_events_reminder_time_and_zone_are_used(folder: Site) -> None:
    front = (
        'timezone = "America/New_York"\n'
        + EVENT.replace("[event]", "[event]\nreminder_time = 18:30:00")
        + 'reminders = ["1d"]'
    )
    result = planned(folder, "conf.md", front)
    [reminder] = [
        d for d in result.deliveries if d.kind == "reminder-1d" and d.channel == "facebook"
    ]
    assert reminder.due_at == utc(2027, 6, 16, 22, 30)  # 18:30 EDT


def test_rss_carries_reminders_only_when_it_opts_in(tmp_path: Path) -> None:
    text = config_text().replace(
        'feed.xml"\nlanguages = ["en"]', 'feed.xml"\nlanguages = ["en"]\nreminders = true'
    )
    site = make_site(tmp_path, text)
    site.post("conf.md", EVENT)
    result = plan([site.read("conf.md")], site.config())
    assert {d.kind for d in result.deliveries if d.channel == "rss"} == {
        "post",
        "reminder-30d",
        "reminder-7d",
        "reminder-1d",
    }


def test_a_per_channel_publish_at_moves_only_that_channels_announcement(folder: Site) -> None:
    front = EVENT.replace("[event]", "[linkedin]\npublish_at = 2027-06-12T11:30:00\n\n[event]")
    result = planned(folder, "conf.md", front)
    linkedin = {d.kind: d.due_at for d in result.deliveries if d.channel == "linkedin"}
    facebook = {d.kind: d.due_at for d in result.deliveries if d.channel == "facebook"}
    assert linkedin == {"post": utc(2027, 6, 12, 9, 30), "reminder-1d": utc(2027, 6, 16, 7, 0)}
    assert set(facebook) == {"post", "reminder-30d", "reminder-7d", "reminder-1d"}
    assert facebook["post"] == utc(2027, 5, 2, 8, 0)
    dropped = [w for w in result.warnings if "before the announcement" in w]
    assert len(dropped) == 2 and all("'linkedin'" in w and "posts/conf.md" in w for w in dropped)


def test_a_reminder_at_or_after_the_start_is_dropped_with_a_warning(folder: Site) -> None:
    front = EVENT + 'reminders = ["0d", "1d"]'  # 0d = 09:00 on the day, the start itself
    result = planned(folder, "conf.md", front)
    assert {d.kind for d in result.deliveries} == {"post", "reminder-1d"}
    assert (
        sum("reminder 0d" in w and "at or after the event start" in w for w in result.warnings) == 2
    )


def test_reminders_expire_with_the_post_when_it_expires_before_the_event(folder: Site) -> None:
    front = NEWS + "expires_at = 2027-02-20T12:00:00\n[event]\nstart = 2027-03-01T10:00:00"
    result = planned(folder, "conf.md", front + '\nreminders = ["1d"]')
    [reminder] = [d for d in result.deliveries if d.channel == "facebook" and d.is_reminder]
    assert reminder.expires_at == utc(2027, 2, 20, 11, 0)


def test_dst_warnings_of_a_post_reach_the_plan(folder: Site) -> None:
    result = planned(folder, "gap.md", 'title = "A"\npublish_at = 2027-03-28T02:30:00')
    assert any("posts/gap.md" in w and "does not exist" in w for w in result.warnings)


def test_deliveries_come_in_time_order(folder: Site) -> None:
    folder.post("a.md", EVENT)
    folder.post("b.md", NEWS)
    config = folder.config()
    result = plan(folder.read_all().posts, config)
    keys = [(d.due_at, d.id) for d in result.deliveries]
    assert keys == sorted(keys)


# --- expiry -----------------------------------------------------------------------------------

DUE = utc(2027, 6, 1, 10, 0)
TWO_DAYS = timedelta(days=2)


def test_catch_up_lets_a_late_delivery_go_until_the_limit() -> None:
    at_limit = DUE + TWO_DAYS
    assert expiry_reason(DUE, None, at_limit, TWO_DAYS, is_reminder=False) is None
    reason = expiry_reason(DUE, None, at_limit + timedelta(minutes=1), TWO_DAYS, is_reminder=False)
    assert reason is not None and "late" in reason and "catch_up (2d)" in reason


def test_rss_ignores_catch_up() -> None:
    late = DUE + timedelta(days=30)
    assert (
        expiry_reason(DUE, None, late, TWO_DAYS, is_reminder=False, honours_catch_up=False) is None
    )


def test_expires_at_stops_a_delivery_even_within_catch_up() -> None:
    expires = DUE + timedelta(hours=1)
    assert expiry_reason(DUE, expires, expires - timedelta(seconds=1), TWO_DAYS,
                         is_reminder=False) is None  # fmt: skip
    reason = expiry_reason(DUE, expires, expires, TWO_DAYS, is_reminder=False)
    assert reason is not None and "expires_at" in reason
    rss = expiry_reason(DUE, expires, expires, TWO_DAYS, is_reminder=False, honours_catch_up=False)
    assert rss is not None, "RSS ignores catch-up, not expires_at"


def test_a_reminder_whose_event_started_expires() -> None:
    start = DUE + timedelta(hours=3)
    reason = expiry_reason(DUE, start, start + timedelta(minutes=5), TWO_DAYS, is_reminder=True)
    assert reason is not None and "event started" in reason


def test_preview_states(folder: Site) -> None:
    folder.post("conf.md", EVENT)
    result = plan([folder.read("conf.md")], folder.config())
    deliveries = {(d.channel, d.kind): d for d in result.deliveries}
    post, reminder = deliveries[("facebook", "post")], deliveries[("facebook", "reminder-1d")]
    rss = deliveries[("rss", "post")]
    before = post.due_at - timedelta(minutes=1)
    assert preview_state(post, "facebook", before, TWO_DAYS) == "pending"
    assert preview_state(post, "facebook", post.due_at + timedelta(hours=1), TWO_DAYS) == "overdue"
    late = post.due_at + timedelta(days=3)
    assert preview_state(post, "facebook", late, TWO_DAYS) == "will expire"
    assert preview_state(rss, "rss", late, TWO_DAYS) == "overdue"
    after_start = utc(2027, 6, 17, 7, 0)
    assert preview_state(reminder, "facebook", after_start, TWO_DAYS) == "will expire"


# --- properties -------------------------------------------------------------------------------

ZONES = ["Europe/Berlin", "America/New_York"]
DST_DAYS = [date(2027, 3, 14), date(2027, 3, 28), date(2027, 10, 31), date(2027, 11, 7)]


@pytest.fixture(scope="module")
def prop_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return make_site(tmp_path_factory.mktemp("prop")).config()


@st.composite
def event_posts(draw: st.DrawFn) -> dict:
    tz = draw(st.sampled_from(ZONES))
    near_dst = st.builds(
        lambda day, shift, minutes: datetime.combine(day, time()) + timedelta(
            days=shift, minutes=minutes),
        st.sampled_from(DST_DAYS), st.integers(-60, 60), st.integers(0, 24 * 60 - 1),
    )  # fmt: skip
    anywhere = st.datetimes(datetime(2027, 1, 1), datetime(2027, 12, 31, 23, 59))
    start = draw(st.one_of(near_dst, anywhere)).replace(second=0, microsecond=0)
    days = draw(st.lists(st.integers(1, 60), max_size=4))
    weeks = draw(st.lists(st.integers(1, 8), max_size=2))
    hours = draw(st.lists(st.integers(1, 48), max_size=3))
    offsets = [f"{n}d" for n in days] + [f"{n}w" for n in weeks] + [f"{n}h" for n in hours]
    offsets = draw(st.permutations(offsets))
    day = 24 * 60  # minutes
    lead = draw(st.integers(100 * day, 200 * day) | st.integers(-2 * day, 120 * day))
    at = draw(st.sampled_from([time(2, 30), time(1, 30), time(9)]) | st.times())
    at = at.replace(second=0, microsecond=0)
    linkedin_lead = draw(st.none() | st.integers(0, 90 * day))
    return {
        "tz": tz,
        "start": start,
        "offsets": offsets,
        "publish_at": start - timedelta(minutes=lead),
        "reminder_time": at,
        "linkedin_at": None if linkedin_lead is None else start - timedelta(minutes=linkedin_lead),
    }


def parse_event(spec: dict, config: Config) -> Post:
    override = ""
    if spec["linkedin_at"] is not None:
        override = f"\n[linkedin]\npublish_at = {spec['linkedin_at'].isoformat()}\n"
    front = f"""
        title = "Conference"
        timezone = "{spec["tz"]}"
        publish_at = {spec["publish_at"].isoformat()}
        {override}
        [event]
        start = {spec["start"].isoformat()}
        reminders = {spec["offsets"]!r}
        reminder_time = {spec["reminder_time"].isoformat()}
    """.replace("'", '"')
    return parse_post(post_text(front), config.posts_dir / "conf.md", config)


def _amount(offset: str) -> tuple[int, str]:
    return int(offset[:-1]), offset[-1]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=event_posts())
def test_reminder_times_hold_across_the_year(prop_config: Config, spec: dict) -> None:
    post = parse_event(spec, prop_config)
    assert post.event is not None
    result = plan([post], prop_config)
    tz = ZoneInfo(spec["tz"])
    start = post.event.start.astimezone(UTC)
    announce = {d.channel: d.due_at for d in result.deliveries if d.kind == "post"}
    assert set(announce) == {"facebook", "linkedin", "rss"}
    for d in result.deliveries:
        if not d.is_reminder:
            continue
        assert d.channel != "rss", "RSS takes no reminders by default"
        assert announce[d.channel] <= d.due_at < start
        assert d.expires_at == start
        amount, unit = _amount(d.offset or "")
        if unit == "h":
            assert d.due_at == start - timedelta(hours=amount)
            continue
        local = d.due_at.astimezone(tz)
        days = amount * (7 if unit == "w" else 1)
        assert local.date() == post.event.start.astimezone(tz).date() - timedelta(days=days)
        wall = datetime.combine(local.date(), spec["reminder_time"])
        moved = any(
            f"reminder {d.offset}: " in w and "does not exist" in w for w in result.warnings
        )
        expected = (wall + timedelta(hours=1)).time() if moved else spec["reminder_time"]
        assert local.time() == expected, "a day reminder goes out at reminder_time on the clock"
        assert local.fold == 0, "an ambiguous wall time takes its first occurrence"
    # Every offset is planned for each social channel, or dropped with a warning that says so.
    for channel in ("facebook", "linkedin"):
        for offset in dict.fromkeys(spec["offsets"]):
            done = any(d.channel == channel and d.offset == offset for d in result.deliveries)
            dropped = any(f"reminder {offset} for {channel!r}" in w for w in result.warnings)
            assert done != dropped
    ids = [d.id for d in result.deliveries]
    assert len(ids) == len(set(ids))
    again = plan([parse_event(spec, prop_config)], prop_config)
    assert again == result, "the same files plan the same deliveries"
