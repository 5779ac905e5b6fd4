"""Social text as readers see it: a URL never twice; clear results of a run."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

from support import REPO

from publisher.channels import build_channels
from publisher.core.config import load_config
from publisher.core.plan import plan
from publisher.core.posts import read_posts


def test_a_facebook_photo_post_carries_its_url_once(tmp_path) -> None:
    shutil.copytree(REPO / "posts", tmp_path / "posts")
    shutil.copy(REPO / "config.example.toml", tmp_path / "config.toml")
    config = load_config(tmp_path / "config.toml")
    channels = build_channels(config)
    deliveries = plan(read_posts(config).posts, config, datetime(2027, 1, 1, tzinfo=UTC))
    [photo] = [d for d in deliveries.deliveries
               if d.id == "2027-06-final-conference/en/facebook/post"]  # fmt: skip
    draft = channels["facebook"].render(photo)
    caption = draft.payload["fields"]["caption"]
    url = "https://www.interregeurope.eu/s3chem/events/final-conference"
    assert caption.count(url) == 1
    assert caption.endswith("#S3Chem #InterregEurope")


def test_run_says_what_it_did_naming_each_failure(invoke, site, caplog) -> None:
    from publisher.store.ledger import Ledger, deliveries

    site.write_post("a.en.md", 'title = "A"\npublish_at = 2027-06-01T09:00:00')
    site.write_post("b.en.md", 'title = "B"\npublish_at = 2027-06-01T09:00:00')
    first = invoke(site, "run", "--once")
    assert "run finished: 2 sent" in first.stderr
    assert "run finished: nothing went out" in invoke(site, "run", "--once").stderr
    ledger = Ledger.open(site.config().state_url)
    with ledger.engine.begin() as conn:
        conn.execute(deliveries.update().where(deliveries.c.id == "b/en/rss/post")
                     .values(state="uncertain"))  # fmt: skip
    retried = invoke(site, "retry", "b/en/rss/post")
    assert retried.exit_code == 2 and "it is uncertain" in retried.stderr
    assert "publisher resolve b/en/rss/post --sent URL" in retried.stderr
    nothing = invoke(site, "retry", "--failed")
    assert (
        nothing.exit_code == 0
        and nothing.stdout.strip() == "nothing to retry: no delivery is failed"
    )
    settled = invoke(site, "resolve", "b/en/rss/post", "--not-sent")
    assert "marked not sent; pending again, it goes out on the next run" in settled.stdout
    already = invoke(site, "resolve", "a/en/rss/post", "--not-sent")
    assert already.exit_code == 0 and "nothing to do: it is already sent" in already.stdout


def test_run_summary_counts_and_names_failures() -> None:
    from publisher.app.runner import Outcome
    from publisher.core.models import State
    from publisher.core.results import run_summary

    outcomes = [Outcome("a/en/facebook/post", "facebook", State.SENT),
                Outcome("b/en/facebook/post", "facebook", State.SENT),
                Outcome("c/en/linkedin/post", "linkedin", State.FAILED, "token expired")]  # fmt: skip
    assert run_summary(outcomes) == "2 sent, 1 failed: c/en/linkedin/post (token expired)"


def test_a_loose_date_gets_the_expected_form(invoke, site) -> None:
    site.write_post("a.en.md", 'title = "A"\npublish_at = 2026-12-20 10:00')
    result = invoke(site, "check")
    assert result.exit_code == 2
    assert "posts/a.en.md:3" in result.stderr
    assert "publish_at = 2026-12-20T10:00:00" in result.stderr


def test_check_warns_of_deliveries_planned_after_a_token_expires(invoke, clock) -> None:
    clock.now = datetime(2027, 1, 1, tzinfo=UTC)
    result = invoke(REPO / "config.example.toml", "check")
    assert "channel 'linkedin': 5 deliveries are planned after its token expires on 2027-01-20" in (
        result.stderr
    )
    assert "the first 2027-02-15 10:00 CET" in result.stderr
    assert result.stderr.count("deliveries are planned after") == 1
