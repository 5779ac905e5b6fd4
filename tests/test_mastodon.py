"""The Mastodon channel against a strict local fake: text, links, images, exactly once, errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from publisher.app.runner import Runner
from publisher.channels.base import Http
from publisher.channels.mastodon import MastodonChannel
from publisher.channels.mastodon_text import content_text, status_length
from publisher.core.config import parse_config
from publisher.core.errors import ChannelError, ConfigError
from publisher.core.models import Delivery, Override, Post, State
from publisher.core.posts import read_posts
from publisher.store.ledger import Ledger

try:
    from fakes.mastodon import INVALID_TOKEN, OUT_OF_SCOPE, PROCESSING, TOO_MANY, FakeMastodon
    from support import Clock
except ImportError:  # tests/ run as a package
    from tests.fakes.mastodon import INVALID_TOKEN, OUT_OF_SCOPE, PROCESSING, TOO_MANY, FakeMastodon
    from tests.support import Clock

ENV = "PUBLISHER_MASTODON_TOKEN"
TOKEN = "mastodon-secret-token-0123456789"
LINK = "https://www.interregeurope.eu/s3chem/news/final-conference"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\r\n\xa8"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
NOW = datetime(2027, 5, 2, 8, 0, tzinfo=UTC)


class Ticks:
    """A monotonic clock that moves only when the channel "sleeps"."""

    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    with FakeMastodon(TOKEN) as server:
        yield server


def make_channel(
    fake: FakeMastodon,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    now: datetime = NOW,
    ticks: Ticks | None = None,
    poll_timeout: float = 60.0,
    **options: Any,
) -> MastodonChannel:
    table = {"type": "mastodon", "instance": fake.url, "token_env": ENV, **options}
    data = {
        "publisher": {"timezone": "Europe/Berlin", "languages": ["en", "pt-BR"]},
        "channels": {"mastodon": table},
    }
    config = parse_config(data, tmp_path / "config.toml")
    monkeypatch.setenv(ENV, TOKEN)
    ticks = ticks or Ticks()
    return MastodonChannel(
        config.channels["mastodon"],
        config,
        Http(timeout=(1.0, 2.0)),
        sleep=ticks.sleep,
        clock=ticks,
        now=lambda: now,
        poll_timeout=poll_timeout,
    )


@pytest.fixture
def channel(fake, tmp_path, monkeypatch) -> MastodonChannel:
    return make_channel(fake, tmp_path, monkeypatch)


def delivery(text: str | None = None, **post: Any) -> Delivery:
    fields: dict[str, Any] = {
        "id": "2027-06-final-conference",
        "language": "en",
        "path": Path("posts/final-conference.md"),
        "source": "",
        "title": "S3Chem final conference",
        "body": "Two days on *chemical* regions.",
        "publish_at": NOW,
        "timezone": "Europe/Berlin",
        "tags": ("S3Chem",),
        **post,
    }
    if text is not None:
        fields["overrides"] = {"mastodon": Override(text=text)}
    item = Post(**fields)
    return Delivery(post=item, channel="mastodon", kind="post", due_at=item.publish_at)


def raised(call: Any, *args: Any) -> ChannelError:
    with pytest.raises(ChannelError) as info:
        call(*args)
    return info.value


# -- posting -----------------------------------------------------------------------------


def test_a_text_status_goes_out_with_visibility_language_and_an_idempotency_key(channel, fake):
    receipt = channel.publish(channel.render(delivery()))

    assert fake.texts() == ["S3Chem final conference\n\nTwo days on chemical regions.\n\n#S3Chem"]
    status = fake.statuses[0]
    assert receipt.remote_id == status["id"] and receipt.remote_url == status["url"]
    assert status["visibility"] == "public" and status["language"] == "en"
    [sent] = fake.requests_to("POST", "/api/v1/statuses")
    assert sent.headers["Idempotency-Key"].startswith("publisher-")
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in sent.path


def test_the_link_is_in_the_text_and_the_language_is_the_primary_subtag(
    fake, tmp_path, monkeypatch
):
    channel = make_channel(fake, tmp_path, monkeypatch, visibility="unlisted")
    channel.publish(channel.render(delivery(link=LINK, language="pt-BR")))

    status = fake.statuses[0]
    assert status["text"].endswith(f"#S3Chem\n\n{LINK}")
    assert status["language"] == "pt" and status["visibility"] == "unlisted"


def test_an_image_goes_up_with_its_alt_text_and_waits_for_processing(fake, tmp_path, monkeypatch):
    fake.processing_polls = 3
    ticks = Ticks()
    channel = make_channel(fake, tmp_path, monkeypatch, ticks=ticks)
    image = tmp_path / "posts" / "maastricht.png"
    image.parent.mkdir()
    image.write_bytes(PNG)

    channel.publish(channel.render(delivery(image=image, image_alt="Vrijthof square")))

    [media] = fake.media.values()
    assert media["description"] == "Vrijthof square" and media["bytes"] == len(PNG)
    assert len(fake.requests_to("GET", "/api/v1/media/")) == 3
    assert ticks.slept == [1.0, 1.0, 1.0]  # the poll interval, on the injected clock
    assert fake.statuses[0]["media_attachments"] == [media]


def test_media_still_processing_after_the_poll_timeout_is_retried_later(
    fake, tmp_path, monkeypatch
):
    fake.processing_polls = 1000
    ticks = Ticks()
    channel = make_channel(fake, tmp_path, monkeypatch, ticks=ticks, poll_timeout=5)
    image = tmp_path / "photo.png"
    image.write_bytes(PNG)

    error = raised(channel.publish, channel.render(delivery(image=image, image_alt="x")))

    assert error.retry and not error.uncertain and "still processing" in error.message
    assert fake.statuses == [] and ticks.t == 5


def test_a_500_that_did_create_the_status_still_gives_exactly_one(channel, fake):
    fake.fail_next(500, {"error": "Internal server error"}, create=True)

    receipt = channel.publish(channel.render(delivery()))

    assert len(fake.statuses) == 1 and receipt.remote_id == fake.statuses[0]["id"]
    keys = {s.headers["Idempotency-Key"] for s in fake.requests_to("POST", "/api/v1/statuses")}
    assert len(fake.requests_to("POST", "/api/v1/statuses")) == 2 and len(keys) == 1


def test_uncertain_within_the_hour_find_sends_again_with_the_same_key(channel, fake):
    fake.fail_next(503, {"error": "There was a temporary problem"}, create=True)
    fake.fail_next(503, {"error": "There was a temporary problem"})
    draft = channel.render(delivery())

    assert raised(channel.publish, draft).uncertain
    found = channel.find(draft, NOW - timedelta(minutes=5))

    assert found is not None and len(fake.statuses) == 1
    assert found.remote_id == fake.statuses[0]["id"]


def test_after_the_hour_find_reads_the_account_statuses(fake, tmp_path, monkeypatch):
    channel = make_channel(fake, tmp_path, monkeypatch, now=NOW + timedelta(hours=2))
    draft = channel.render(delivery(link=LINK))
    fake.add_status("Someone else's words")
    mine = fake.add_status(draft.text, created_at="2027-05-02T08:00:05.000Z")

    found = channel.find(draft, NOW)

    assert found is not None and found.remote_id == mine["id"]
    assert fake.requests_to("GET", "/api/v1/accounts/verify_credentials")
    assert not fake.requests_to("POST", "/api/v1/statuses")  # no new send after the hour


def test_after_the_hour_a_missing_status_is_not_found(fake, tmp_path, monkeypatch):
    channel = make_channel(fake, tmp_path, monkeypatch, now=NOW + timedelta(hours=2))

    assert channel.find(channel.render(delivery()), NOW) is None


# -- errors ------------------------------------------------------------------------------


def test_401_fails_and_names_the_token_variable(channel, fake):
    fake.fail_next(401, INVALID_TOKEN)
    error = raised(channel.publish, channel.render(delivery()))
    assert not error.retry and not error.uncertain
    assert "The access token is invalid" in error.message and ENV in error.hint
    assert TOKEN not in str(error)


def test_403_fails_naming_the_scopes(fake, tmp_path, monkeypatch):
    fake.scopes = {"read:statuses"}
    channel = make_channel(fake, tmp_path, monkeypatch)
    error = raised(channel.publish, channel.render(delivery()))
    assert OUT_OF_SCOPE["error"] in error.message and "write:statuses" in error.hint
    assert not error.retry


def test_422_fails_with_mastodons_message(fake, tmp_path, monkeypatch):
    fake.max_characters = 10
    channel = make_channel(fake, tmp_path, monkeypatch, max_characters=500)
    error = raised(channel.publish, channel.render(delivery()))
    assert "character limit of 10 exceeded" in error.message and not error.retry


def test_422_media_still_processing_is_retried(channel, fake):
    fake.fail_next(422, PROCESSING)
    error = raised(channel.publish, channel.render(delivery()))
    assert error.retry and not error.uncertain


def test_429_waits_until_the_rate_limit_resets(channel, fake):
    reset = (NOW + timedelta(minutes=7)).isoformat().replace("+00:00", "Z")
    fake.fail_next(429, TOO_MANY, headers={"X-RateLimit-Reset": reset})
    error = raised(channel.publish, channel.render(delivery()))
    assert error.retry and error.retry_after == 420


def test_5xx_twice_is_uncertain(channel, fake):
    fake.fail_next(502, None)
    fake.fail_next(502, None)
    error = raised(channel.publish, channel.render(delivery()))
    assert error.uncertain and fake.statuses == []


def test_a_too_long_text_fails_before_any_request(channel, fake):
    draft = channel.render(delivery("x" * 501))
    assert draft.errors and "510 characters" in draft.errors[0]  # with "\n\n#S3Chem"
    raised(channel.publish, draft)
    assert fake.seen == []


# -- edit, check --online ------------------------------------------------------------------


def test_edit_changes_the_live_status(channel, fake):
    receipt = channel.publish(channel.render(delivery("First words")))
    edited = channel.edit(receipt.remote_id, channel.render(delivery("Better words")))
    assert edited.remote_id == receipt.remote_id and fake.texts() == ["Better words\n\n#S3Chem"]
    assert fake.requests_to("PUT", f"/api/v1/statuses/{receipt.remote_id}")


def test_check_online_warns_when_the_instance_limit_differs(fake, tmp_path, monkeypatch):
    fake.max_characters = 1000
    health = make_channel(fake, tmp_path, monkeypatch).check_online(date(2027, 5, 1))
    assert "@s3chem" in health.summary
    assert any("1000" in w and "max_characters" in w for w in health.warnings)


# -- the length rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("hello", 5),
        (f"see {LINK}", 4 + 23),
        ("see http://a.eu", 4 + 23),
        ("thanks @anna@example.social!", len("thanks @anna!")),
        ("café", 4),
        ("cafe\u0301", 4),  # e + combining accent: one grapheme
        ("🇮🇹🇳🇱", 2),  # two flags
        ("👩\u200d🔬 ok", 4),  # a ZWJ sequence is one
    ],
)
def test_status_length_counts_like_mastodon(text, length):
    assert status_length(text) == length


def test_status_content_reads_back_as_folded_text():
    html = '<p>Hello &amp; <a href="https://x.org/a">https://x.org/a</a></p><p>#<span>S3Chem</span></p>'
    assert content_text(html) == ("Hello & https://x.org/a #S3Chem", ["https://x.org/a"])


def test_a_bad_visibility_is_a_config_error(fake, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="channels.mastodon.visibility"):
        make_channel(fake, tmp_path, monkeypatch, visibility="direct-ish")


def test_an_image_mastodon_cannot_take_is_an_error_before_sending(channel, fake, tmp_path):
    fake_png = tmp_path / "photo.png"
    fake_png.write_bytes(b"<html>not an image</html>")
    draft = channel.render(delivery(image=fake_png, image_alt="x"))
    assert any("not JPEG, PNG, GIF or WebP" in e for e in draft.errors)
    big = tmp_path / "big.png"
    big.write_bytes(PNG + b"\0" * (16 * 1024 * 1024))
    assert any("at most 16 MB" in e for e in channel.render(delivery(image=big)).errors)


# -- through the runner and the ledger ----------------------------------------------------


def test_the_runner_sends_once_through_an_unclear_answer(fake, tmp_path, monkeypatch):
    clock = Clock(NOW)
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "news.md").write_text(
        '+++\ntitle = "Fresh news"\npublish_at = 2027-05-02T08:01:00Z\n+++\nBody.\n',
        encoding="utf-8",
    )
    table = {"type": "mastodon", "instance": fake.url, "token_env": ENV}
    config = parse_config(
        {"publisher": {"timezone": "UTC"}, "channels": {"mastodon": table}},
        tmp_path / "config.toml",
    )
    monkeypatch.setenv(ENV, TOKEN)
    channel = MastodonChannel(
        config.channels["mastodon"], config, Http(timeout=(1.0, 2.0)), now=clock
    )
    runner = Runner(config, Ledger.open(config.state_url), {"mastodon": channel}, clock)
    runner.run_once(read_posts(config))  # a new ledger, before the post is due
    clock.advance(minutes=2)
    fake.fail_next(500, {"error": "Internal server error"}, create=True)
    fake.fail_next(503, {"error": "There was a temporary problem"})

    runner.run_once(read_posts(config))
    [row] = runner.ledger.rows()
    assert row.state is State.UNCERTAIN and len(fake.statuses) == 1

    clock.advance(minutes=2)
    runner.run_once(read_posts(config))
    [row] = runner.ledger.rows()
    assert row.state is State.SENT and row.remote_id == fake.statuses[0]["id"]
    assert len(fake.statuses) == 1
    keys = {s.headers["Idempotency-Key"] for s in fake.requests_to("POST", "/api/v1/statuses")}
    assert len(keys) == 1
