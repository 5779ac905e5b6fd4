"""The command line in-process: outputs, exit codes, no ledger from preview, queue rules."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

try:
    from support import REPO, RSS_CHANNELS, Site, site_config
except ImportError:  # tests/ run as a package
    from tests.support import REPO, RSS_CHANNELS, Site, site_config

from publisher import __version__
from publisher.store.ledger import Ledger, deliveries

FACEBOOK = """
[channels.facebook]
type = "facebook"
page_id = "42"
token_env = "TEST_FB_TOKEN"
api_url = "http://127.0.0.1:9"
languages = ["en", "it"]
"""


def test_version_and_fast_start() -> None:
    code = (
        "import sys; from publisher.app.cli import main\n"
        "sys.argv = ['publisher', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('sqlalchemy', 'requests', 'apscheduler', 'babel', 'markdown_it',"
        " 'nh3', 'feedparser') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in done.stdout
    version = subprocess.run([sys.executable, "-m", "publisher", "--version"],
                             capture_output=True, text=True, check=True)  # fmt: skip
    assert __version__ in version.stdout


def test_missing_config_is_a_clear_error(invoke, tmp_path: Path) -> None:
    result = invoke(tmp_path / "nope.toml", "check")
    assert result.exit_code == 2
    assert result.stderr.startswith("publisher: error: ")
    assert "hint:" in result.stderr and "Traceback" not in result.stderr


def test_bad_config_key_names_its_path(invoke, site: Site) -> None:
    site.write_config(site_config(extra='colour = "blue"'))
    result = invoke(site, "check")
    assert result.exit_code == 2
    assert "publisher.colour: unknown key" in result.stderr


def test_check_reports_every_bad_file_and_keeps_the_good(invoke, site: Site) -> None:
    site.write_post("good.en.md", 'title = "Good"\npublish_at = 2027-06-01T09:00:00')
    site.write_post("bad1.en.md", 'title = "Bad"\npublish_at = "tomorrow"')
    (site.posts / "bad2.en.md").write_text("no front matter here\n", encoding="utf-8")
    result = invoke(site, "check")
    assert result.exit_code == 2
    assert "posts/bad1.en.md:3: publish_at" in result.stderr
    assert "posts/bad2.en.md:1: no front matter" in result.stderr
    assert "3 post files, 2 with errors; 1 deliveries planned" in result.stdout


def test_preview_shows_italian_reminders_with_italian_dates(invoke, clock) -> None:
    clock.now = datetime(2027, 1, 1, tzinfo=UTC)
    result = invoke(REPO / "config.example.toml", "preview", "--post", "2027-06-final-conference")
    assert result.exit_code == 0, result.stderr
    assert (
        "Conferenza finale di S3Chem a Maastricht si terrà la prossima settimana" in result.stdout
    )
    assert "17 giugno 2027 alle 09:00 CEST a Maastricht" in result.stdout
    assert "inizia domani" in result.stdout and "reminder-30d" in result.stdout
    assert "PUBLISHER_FACEBOOK_TOKEN is not set" in result.stderr
    assert not (REPO / "state").exists()


def test_preview_json_lists_exact_payloads(invoke, clock, sample_site: Site) -> None:
    clock.now = datetime(2027, 1, 1, tzinfo=UTC)
    result = invoke(sample_site, "preview", "--format", "json", "--channel", "rss-it")
    assert result.exit_code == 0, result.stderr
    items = json.loads(result.stdout)
    assert [i["id"] for i in items] == [
        "2027-02-working-group-magdeburg/it/rss-it/post",
        "2027-06-final-conference/it/rss-it/post",
    ]
    item = items[1]
    assert item["due_at"] == "2027-05-03T08:00:00Z"
    assert item["due_local"] == "2027-05-03T10:00:00+02:00"
    assert item["state"] == "pending" and item["kind"] == "post"
    assert item["payload"]["enclosure"]["type"] == "image/png"
    assert not (sample_site.root / "state").exists()


def test_preview_window_and_overdue(invoke, clock, site: Site) -> None:
    site.write_post("late.en.md", 'title = "Late"\npublish_at = 2027-06-01T10:00:00')
    site.write_post("soon.en.md", 'title = "Soon"\npublish_at = 2027-06-10T10:00:00')
    site.write_post("later.en.md", 'title = "Later"\npublish_at = 2027-07-10T10:00:00')
    result = invoke(site, "preview", "--format", "json", "--until", "2027-07-01")
    states = {i["post"]: i["state"] for i in json.loads(result.stdout)}
    assert states == {"late": "overdue", "soon": "pending"}


def test_run_once_with_unset_token_sends_the_rest_and_exits_2(invoke, site: Site) -> None:
    site.write_config(site_config(FACEBOOK + RSS_CHANNELS))
    site.write_post("a.en.md", 'title = "Hello"\npublish_at = 2027-06-01T09:00:00')
    result = invoke(site, "run", "--once")
    assert result.exit_code == 2
    assert "TEST_FB_TOKEN" in result.stderr
    rows = {r["channel"]: r for r in json.loads(invoke(site, "status", "--json").stdout)}
    assert rows["rss"]["state"] == "sent"
    assert rows["facebook"]["state"] == "pending" and rows["facebook"]["attempts"] == 0


def test_status_exit_code_and_retry_and_resolve(invoke, site: Site) -> None:
    site.write_post("a.en.md", 'title = "A"\npublish_at = 2027-06-01T09:00:00')
    site.write_post("b.en.md", 'title = "B"\npublish_at = 2027-06-01T09:00:00')
    assert invoke(site, "status").exit_code == 0
    assert invoke(site, "run", "--once").exit_code == 0
    ledger = Ledger.open(site.config().state_url)
    a = ledger.get("a/en/rss/post")
    with ledger.engine.begin() as conn:  # as a failed and an interrupted send would leave them
        conn.execute(deliveries.update().where(deliveries.c.id == a.id)
                     .values(state="failed", error="boom"))  # fmt: skip
        conn.execute(deliveries.update().where(deliveries.c.id == "b/en/rss/post")
                     .values(state="uncertain"))  # fmt: skip
    status = invoke(site, "status")
    assert status.exit_code == 1 and "boom" in status.stdout
    assert invoke(site, "retry").exit_code == 2
    assert invoke(site, "retry", "--failed").stdout.strip().startswith(f"pending again: {a.id}")
    assert invoke(site, "resolve", "a/en/rss/post", "--not-sent").exit_code == 2
    done = invoke(site, "resolve", "b/en/rss/post", "--sent", "https://example.org/x")
    assert done.exit_code == 0
    rows = {r["id"]: r for r in json.loads(invoke(site, "status", "--json", "--all").stdout)}
    assert rows["a/en/rss/post"]["state"] == "pending"
    assert rows["b/en/rss/post"]["remote_url"] == "https://example.org/x"


def test_queue_copies_post_and_image_then_plans(invoke, site: Site, tmp_path: Path) -> None:
    outside = tmp_path / "draft"
    (outside / "media").mkdir(parents=True)
    (outside / "media" / "pic.png").write_bytes(b"\x89PNG fake")
    post = outside / "news.en.md"
    post.write_text('+++\ntitle = "News"\npublish_at = 2027-06-05T09:00:00\n'
                    'image = "media/pic.png"\n+++\nBody\n', encoding="utf-8")  # fmt: skip
    result = invoke(site, "queue", str(post))
    assert result.exit_code == 0, result.stderr
    assert (site.posts / "news.en.md").read_bytes() == post.read_bytes()
    assert (site.posts / "media" / "pic.png").read_bytes() == b"\x89PNG fake"
    assert "news/en/rss/post" in result.stdout
    again = invoke(site, "queue", str(post))
    assert again.exit_code == 0 and "nothing to do" in again.stdout


def test_queue_refuses_a_different_post_with_the_same_id(
    invoke, site: Site, tmp_path: Path
) -> None:
    site.write_post("x.en.md", 'id = "same"\ntitle = "One"\npublish_at = 2027-06-05T09:00:00')
    other = tmp_path / "y.en.md"
    other.write_text('+++\nid = "same"\ntitle = "Two"\npublish_at = 2027-06-05T09:00:00\n+++\n',
                     encoding="utf-8")  # fmt: skip
    result = invoke(site, "queue", str(other))
    assert result.exit_code == 2
    assert "posts/x.en.md" in result.stderr and "y.en.md" in result.stderr
    assert not (site.posts / "y.en.md").exists()


def test_queue_writes_nothing_for_a_bad_file(invoke, site: Site, tmp_path: Path) -> None:
    bad = tmp_path / "bad.en.md"
    bad.write_text('+++\ntitle = "Bad"\npublish_at = 2027-06-05T09:00:00\ndraft = "no"\n+++\n',
                   encoding="utf-8")  # fmt: skip
    result = invoke(site, "queue", str(bad))
    assert result.exit_code == 2 and "draft" in result.stderr
    assert list(site.posts.iterdir()) == []


def test_status_retry_resolve_never_create_a_ledger(invoke, site: Site) -> None:
    result = invoke(site, "status")
    assert result.exit_code == 0 and "no ledger yet" in result.stdout
    assert invoke(site, "retry", "--failed").exit_code == 2
    assert invoke(site, "resolve", "a/en/rss/post", "--not-sent").exit_code == 2
    assert not (site.root / "state").exists()


def test_preview_json_carries_the_posts_own_warnings(invoke, clock, site: Site) -> None:
    clock.now = datetime(2027, 1, 1, tzinfo=UTC)
    site.write_post("dst.en.md", 'title = "Gap"\npublish_at = 2027-03-28T02:30:00')
    [item] = json.loads(invoke(site, "preview", "--format", "json").stdout)
    assert item["due_local"] == "2027-03-28T03:30:00+02:00"
    assert any("does not exist in Europe/Berlin" in w for w in item["warnings"])


def test_preview_usage_errors(invoke, site: Site, tmp_path: Path) -> None:
    bad_window = invoke(site, "preview", "--from", "2027-07-01", "--until", "2027-06-01")
    assert bad_window.exit_code == 2 and "--until" in bad_window.stderr
    garbage = invoke(site, "preview", "--from", "next tuesday")
    assert garbage.exit_code == 2 and "ISO 8601" in garbage.stderr
    unwritable = invoke(site, "preview", "-o", str(tmp_path / "missing" / "x.json"))
    assert unwritable.exit_code == 2 and "cannot write" in unwritable.stderr


def test_a_damaged_ledger_is_a_clear_error(invoke, site: Site) -> None:
    (site.root / "state").mkdir()
    (site.root / "state" / "publisher.db").write_bytes(b"this is not a database" * 100)
    for args in (("status",), ("run", "--once"), ("preview",)):
        result = invoke(site, *args)
        assert result.exit_code == 2, args
        assert "the ledger cannot be used" in result.stderr and "hint:" in result.stderr
        assert "Traceback" not in result.stderr and "[SQL:" not in result.stderr


def test_run_once_and_dry_run_report_bad_files_as_errors(invoke, site: Site) -> None:
    site.write_post("ok.en.md", 'title = "OK"\npublish_at = 2027-06-01T09:00:00')
    site.write_post("bad.en.md", 'title = "Bad"')
    dry = invoke(site, "run", "--dry-run")
    assert dry.exit_code == 2 and "would send now: ok/en/rss/post" in dry.stdout
    assert "publisher: error: posts/bad.en.md" in dry.stderr and "error" not in dry.stdout
    once = invoke(site, "run", "--once")
    assert once.exit_code == 2 and "publisher: error: posts/bad.en.md" in once.stderr


def test_an_explicit_from_shows_exactly_the_window(invoke, clock, site: Site) -> None:
    site.write_post("late.en.md", 'title = "Late"\npublish_at = 2027-06-01T10:00:00')
    site.write_post("soon.en.md", 'title = "Soon"\npublish_at = 2027-06-10T10:00:00')
    result = invoke(site, "preview", "--format", "json", "--from", "2027-06-05")
    assert [i["post"] for i in json.loads(result.stdout)] == ["soon"]
