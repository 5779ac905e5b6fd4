"""A token is read only when a channel is called (DESIGN §2); status names bad files (§7)."""

from __future__ import annotations

try:
    from support import CHANNELS, RSS_CHANNELS, Site, config_text, site_config
except ImportError:  # tests/ run as a package
    from tests.support import CHANNELS, RSS_CHANNELS, Site, config_text, site_config

FACEBOOK = """
[channels.facebook]
type = "facebook"
page_id = "100000000000001"
token_env = "PUBLISHER_TEST_UNSET_TOKEN"
languages = ["en"]
"""


def test_run_once_on_a_feed_only_post_needs_no_token_of_another_channel(site: Site, invoke):
    site.write_config(site_config(RSS_CHANNELS + FACEBOOK))
    site.write_post("feed-only.en.md", 'title = "Feed only"\npublish_at = 2027-06-01T11:00:00\n'
                    'channels = ["rss"]')  # fmt: skip
    result = invoke(site, "run", "--once", env={"PUBLISHER_TEST_UNSET_TOKEN": ""})
    assert result.exit_code == 0, result.stderr
    assert "PUBLISHER_TEST_UNSET_TOKEN" not in result.stderr


def test_a_due_delivery_without_its_token_waits_and_the_run_exits_2(site: Site, invoke):
    site.write_config(site_config(RSS_CHANNELS + FACEBOOK))
    site.write_post("both.en.md", 'title = "Both"\npublish_at = 2027-06-01T11:00:00')
    result = invoke(site, "run", "--once", env={"PUBLISHER_TEST_UNSET_TOKEN": ""})
    assert result.exit_code == 2
    assert "PUBLISHER_TEST_UNSET_TOKEN" in result.stderr
    status = invoke(site, "status", "--json", "--all")
    states = {r["channel"]: r["state"] for r in __import__("json").loads(status.stdout)}
    assert states == {"facebook": "pending", "rss": "sent"}


def test_status_names_a_bad_post_file_and_exits_2_even_before_the_first_run(site: Site, invoke):
    site.write_post("good.en.md", 'title = "Good"\npublish_at = 2027-06-01T11:00:00')
    site.write_post("bad.en.md", 'title = "Bad"\npublish_at = 2027-02-30T10:00:00')
    result = invoke(site, "status")
    assert result.exit_code == 2
    assert "bad.en.md" in result.stderr and "no ledger yet" in result.stdout


MASTODON = """
[channels.mastodon]
type = "mastodon"
instance = "https://mastodon.example"
token_env = "PUBLISHER_TEST_UNSET_TOKEN"
languages = ["en"]
"""


def test_the_preview_page_counts_a_status_as_mastodon_does(site: Site, invoke, tmp_path):
    import json
    import re

    from publisher.core.plugins import length_rule

    site.write_config(site_config(MASTODON))
    long_link = "https://www.interregeurope.eu/s3chem/news/" + "a-very-long-path-" * 6
    site.write_post(
        "news.en.md", f'title = "News"\npublish_at = 2027-06-02T10:00:00\nlink = "{long_link}"'
    )
    listed = json.loads(invoke(site, "preview", "--format", "json").stdout)
    [status] = [item["payload"]["status"] for item in listed if item["channel"] == "mastodon"]
    page = tmp_path / "page.html"
    assert invoke(site, "preview", "--format", "html", "-o", str(page)).exit_code == 0
    [shown] = re.findall(r"([\d,]+) / 500 characters", page.read_text(encoding="utf-8"))
    assert int(shown.replace(",", "")) == length_rule("mastodon")(status) < len(status)


def test_an_expiry_before_the_publish_time_is_a_warning(site: Site, invoke):
    site.write_post(
        "exp.en.md",
        'title = "Exp"\npublish_at = 2027-07-01T10:00:00\nexpires_at = 2027-06-15T10:00:00',
    )
    for command in (["check"], ["preview"]):
        result = invoke(site, *command)
        assert "expires_at 2027-06-15 10:00 is not after publish_at" in result.stderr, command


def test_preview_reports_an_image_a_channel_refuses_as_an_error_and_exits_2(site: Site, invoke):

    site.write_config(config_text(CHANNELS))
    (site.posts / "media").mkdir()
    (site.posts / "media" / "photo.webp").write_bytes(b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\0" * 40)
    site.write_post(
        "pic.en.md", 'title = "Pic"\npublish_at = 2027-07-01T10:00:00\nimage = "media/photo.webp"'
    )
    result = invoke(site, "preview")
    assert result.exit_code == 2
    assert "pic.en.md: linkedin: the image photo.webp is WEBP" in result.stderr
    assert "pic.en.md: facebook: the image photo.webp is WEBP" in result.stderr
    assert "pic.en.md: rss:" not in result.stderr  # a feed takes any image it can read
    assert result.stdout.count("will not be sent: the image photo.webp") >= 2  # beside each
