"""The LinkedIn Page channel against a local fake REST API: text, escaping, errors, reconcile."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.channels.base import Http
from publisher.channels.linkedin import IMAGE_URN, LIMIT, LinkedInChannel
from publisher.channels.little import escape
from publisher.core.config import parse_config
from publisher.core.errors import ChannelError, TokenMissing
from publisher.core.models import Delivery, Override, Post

try:
    from fakes.linkedin import FakeLinkedIn, error_body, read_little, validation_body
except ImportError:  # tests/ run as a package
    from tests.fakes.linkedin import FakeLinkedIn, error_body, read_little, validation_body

ENV = "PUBLISHER_LINKEDIN_TOKEN"
TOKEN = "li-secret-token-0123456789"
LINK = "https://www.interregeurope.eu/s3chem/news/final-conference"
TRICKY = (
    "Final conference (Maastricht) [17-18 June]: a_b *bold* ~x~ <tag> {set} @team | pipe "
    "back\\slash, room #5"
)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\r\n\xa8"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
SINCE = datetime.now(UTC) - timedelta(minutes=1)


@pytest.fixture
def fake() -> Iterator[FakeLinkedIn]:
    with FakeLinkedIn(TOKEN) as server:
        yield server


def make_config(api_url: str, tmp_path: Path, **options: Any) -> Any:
    table = {
        "type": "linkedin",
        "organization_id": "2414183",
        "token_env": ENV,
        "api_url": api_url,
        **options,
    }
    data = {"publisher": {"timezone": "Europe/Berlin"}, "channels": {"linkedin": table}}
    return parse_config(data, tmp_path / "config.toml")


def make_channel(
    fake: FakeLinkedIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    read_timeout: float = 2.0,
    poll_attempts: int = 30,
    **options: Any,
) -> LinkedInChannel:
    config = make_config(fake.url, tmp_path, **options)
    monkeypatch.setenv(ENV, TOKEN)
    http = Http(timeout=(1.0, read_timeout))
    return LinkedInChannel(
        config.channels["linkedin"], config, http, poll_interval=0, poll_attempts=poll_attempts
    )


@pytest.fixture
def channel(fake: FakeLinkedIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LinkedInChannel:
    return make_channel(fake, tmp_path, monkeypatch)


def delivery(text: str | None = TRICKY, **post: Any) -> Delivery:
    fields: dict[str, Any] = {
        "id": "2027-06-final-conference",
        "language": "en",
        "path": Path("posts/final-conference.md"),
        "source": "",
        "title": "S3Chem final conference",
        "body": "Two days on *chemical* regions.\n\nSecond paragraph.",
        "publish_at": datetime(2027, 5, 2, 8, 0, tzinfo=UTC),
        "timezone": "Europe/Berlin",
        "tags": ("S3Chem", "Interreg Europe"),
        **post,
    }
    if text is not None:
        fields["overrides"] = {"linkedin": Override(text=text)}
    item = Post(**fields)
    return Delivery(post=item, channel="linkedin", kind="post", due_at=item.publish_at)


def image_file(tmp_path: Path) -> Path:
    path = tmp_path / "maastricht.png"
    path.write_bytes(PNG)
    return path


def raised(call: Any, *args: Any) -> ChannelError:
    with pytest.raises(ChannelError) as info:
        call(*args)
    return info.value


def read_back(escaped: str) -> str:
    """A little-text reader, independent of the channel: ``\\x`` -> ``x``."""
    out, chars = [], iter(escaped)
    for ch in chars:
        out.append(next(chars) if ch == "\\" else ch)
    return "".join(out)


# -- posts -------------------------------------------------------------------------------


def test_text_post_arrives_whole_with_reserved_characters(channel, fake):
    receipt = channel.publish(channel.render(delivery()))

    assert fake.texts() == [TRICKY + "\n\n#S3Chem #InterregEurope"]
    post = fake.posts[0]
    assert receipt.remote_id == post["id"]
    assert receipt.remote_url == f"https://www.linkedin.com/feed/update/{post['id']}/"
    # Only the generated hashtags became hashtags; the "#5" the user typed stayed text.
    assert post["commentary"].endswith("{hashtag|\\#|S3Chem} {hashtag|\\#|InterregEurope}")
    assert "room \\#5" in post["commentary"]
    request = fake.seen[-1]
    assert request.headers["LinkedIn-Version"] == "202608"
    assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.body)
    assert body == {
        "author": "urn:li:organization:2414183",
        "commentary": channel.render(delivery()).text,
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }


def test_fake_cuts_an_unescaped_text_like_linkedin():
    assert read_little("Workshop (Maastricht) #S3Chem")[0] == "Workshop "
    assert read_little("Workshop \\(Maastricht\\) #S3Chem")[0] == "Workshop (Maastricht) #S3Chem"


def test_title_and_body_are_escaped_too(channel, fake):
    item = delivery(
        None, title="Call (deadline 1 June)", body="Apply at [the portal](https://x.eu/a_b)."
    )
    channel.publish(channel.render(item))
    assert fake.texts() == [
        "Call (deadline 1 June)\n\nApply at the portal (https://x.eu/a_b).\n\n#S3Chem #InterregEurope"
    ]


def test_link_post_is_an_article_with_uploaded_thumbnail(fake, tmp_path, monkeypatch):
    fake.processing_polls = 2
    channel = make_channel(fake, tmp_path, monkeypatch)
    item = delivery(None, link=LINK, image=image_file(tmp_path), image_alt="Vrijthof square")

    receipt = channel.publish(channel.render(item))

    ((urn, image),) = fake.images.items()
    assert image["bytes"] == PNG and image["type"] == "image/png"
    body = json.loads(fake.seen[-1].body)
    assert body["content"] == {
        "article": {
            "source": LINK,
            "title": "S3Chem final conference",
            "description": "Two days on chemical regions.",
            "thumbnail": urn,
        }
    }
    # The link is in the article card, not appended to the text.
    assert fake.texts() == [
        "S3Chem final conference\n\nTwo days on chemical regions.\n\nSecond paragraph."
        "\n\n#S3Chem #InterregEurope"
    ]
    assert receipt.remote_id == fake.posts[0]["id"]
    polls = [s for s in fake.seen if s.method == "GET" and s.path.startswith("/rest/images/")]
    assert len(polls) == 3  # PROCESSING twice, then AVAILABLE


def test_image_post_without_link_carries_media_with_alt_text(channel, fake, tmp_path):
    item = delivery(image=image_file(tmp_path), image_alt="Vrijthof square, Maastricht")
    channel.publish(channel.render(item))
    (urn,) = fake.images
    assert json.loads(fake.seen[-1].body)["content"] == {
        "media": {"id": urn, "altText": "Vrijthof square, Maastricht"}
    }
    assert fake.texts() == [TRICKY + "\n\n#S3Chem #InterregEurope"]


def test_render_shows_the_exact_request_without_token_or_network(fake, tmp_path, monkeypatch):
    channel = make_channel(fake, tmp_path, monkeypatch)
    monkeypatch.delenv(ENV)
    picture = image_file(tmp_path)
    draft = channel.render(delivery(image=picture, image_alt="Square"))

    assert fake.seen == []
    assert draft.text == escape(TRICKY) + "\n\n#S3Chem #InterregEurope"
    assert draft.payload["endpoint"] == "/rest/posts"
    assert draft.payload["headers"]["LinkedIn-Version"] == "202608"
    assert draft.payload["body"]["content"]["media"]["id"] == IMAGE_URN
    assert draft.payload["image"] == {
        "path": str(picture),
        "bytes": len(PNG),
        "type": "image/png",
        "alt": "Square",
    }
    json.dumps(draft.payload)  # JSON-able, as preview prints it
    with pytest.raises(TokenMissing):
        channel.publish(draft)


def test_image_still_processing_is_retried_and_posts_nothing(fake, tmp_path, monkeypatch):
    fake.processing_polls = 100
    channel = make_channel(fake, tmp_path, monkeypatch, poll_attempts=3)
    error = raised(channel.publish, channel.render(delivery(image=image_file(tmp_path))))
    assert error.retry and not error.uncertain
    assert "PROCESSING" in error.message
    assert fake.posts == []


def test_failed_image_upload_step_is_a_retry_not_uncertain(channel, fake, tmp_path):
    fake.fail_next(500, {"message": "Internal Server Error", "status": 500}, path="/rest/images")
    error = raised(channel.publish, channel.render(delivery(image=image_file(tmp_path))))
    assert error.retry and not error.uncertain
    assert fake.posts == []


# -- the 3,000-character limit -----------------------------------------------------------


def test_limit_is_measured_on_the_escaped_text(channel, fake):
    tail = "\n\n#S3Chem #InterregEurope"
    fits = delivery("x" * (LIMIT - len(tail)))
    assert channel.render(fits).errors == ()
    # 1,490 "(" are 1,490 characters typed but 2,980 once escaped.
    over = delivery("(" * 1490)
    draft = channel.render(over)
    assert len(draft.text) > LIMIT
    (problem,) = draft.errors
    assert over.id in problem and "'linkedin'" in problem and "3000" in problem

    error = raised(channel.publish, draft)
    assert over.id in error.message and "'linkedin'" in error.message
    assert not error.retry and not error.uncertain
    assert fake.seen == []


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "wrong_token", "word"),
    [("active", True, "invalid"), ("revoked", False, "revoked"), ("expired", False, "expired")],
)
def test_token_errors_fail_with_how_to_renew(fake, tmp_path, monkeypatch, state, wrong_token, word):
    channel = make_channel(fake, tmp_path, monkeypatch)
    fake.token_state = state
    if wrong_token:
        fake.token = "another-token-entirely"
    error = raised(channel.publish, channel.render(delivery()))
    assert not error.retry and not error.uncertain and not error.duplicate
    assert word in error.message
    assert "60 days" in error.hint and ENV in error.hint
    assert TOKEN not in str(error)


def test_missing_page_role_names_permission_and_roles(channel, fake):
    fake.page_role = False
    error = raised(channel.publish, channel.render(delivery()))
    assert not error.retry and not error.uncertain
    assert "w_organization_social" in error.hint
    assert "ADMINISTRATOR" in error.hint and "CONTENT_ADMINISTRATOR" in error.hint


def test_retired_version_says_to_set_api_version(fake, tmp_path, monkeypatch):
    channel = make_channel(fake, tmp_path, monkeypatch, api_version="202401")
    error = raised(channel.publish, channel.render(delivery()))
    assert not error.retry and not error.uncertain
    assert "202401" in error.message and "retired" in error.message
    assert "api_version" in error.hint and "YYYYMM" in error.hint


def test_fake_requires_the_version_header(fake):
    answer = requests.get(
        f"{fake.url}/rest/posts", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=2
    )
    assert answer.status_code == 400 and answer.json()["code"] == "VERSION_MISSING"


def test_version_missing_answer_fails_naming_the_header(channel, fake):
    message = (
        "A version must be present. Please specify a version by adding the LinkedIn-Version header."
    )
    fake.fail_next(400, error_body(400, "VERSION_MISSING", message))
    error = raised(channel.publish, channel.render(delivery()))
    assert not error.retry and not error.uncertain
    assert "VERSION_MISSING" in error.message and "LinkedIn-Version" in error.hint


def test_validation_error_names_the_field(channel, fake):
    body = validation_body(422, [("/content/article/source", "INVALID_URL", "bad url")], "Invalid")
    fake.fail_next(422, body)
    error = raised(channel.publish, channel.render(delivery(link=LINK)))
    assert not error.retry and not error.uncertain and not error.duplicate
    assert "/content/article/source" in error.message and "INVALID_URL" in error.message


def test_same_text_twice_is_a_duplicate_naming_the_first_post(channel, fake):
    first = channel.publish(channel.render(delivery()))
    error = raised(channel.publish, channel.render(delivery()))
    assert error.duplicate and error.duplicate_of == first.remote_id
    assert not error.retry and not error.uncertain
    assert len(fake.posts) == 1


def test_rate_limit_retries_after_the_next_utc_midnight(channel, fake):
    body = error_body(
        429, "TOO_MANY_REQUESTS", "Resource level throttle APPLICATION DAY limit", 101
    )
    fake.fail_next(429, body, headers={"Date": "Wed, 02 Jun 2027 23:00:00 GMT"})
    error = raised(channel.publish, channel.render(delivery()))
    assert error.retry and not error.uncertain
    assert error.retry_after == 3600
    assert "00:00 UTC" in error.hint


def test_created_then_500_is_uncertain_and_find_reconciles_to_one_post(channel, fake):
    fake.add_post("An older post by hand")
    draft = channel.render(delivery())
    fake.fail_next(500, {"message": "Internal Server Error", "status": 500}, create=True)

    error = raised(channel.publish, draft)
    assert error.uncertain and not error.retry

    receipt = channel.find(draft, SINCE)
    assert receipt is not None and len(fake.posts) == 2
    assert receipt.remote_id == fake.posts[1]["id"]
    # A blind retry would be refused as a duplicate of that very post.
    again = raised(channel.publish, draft)
    assert again.duplicate and again.duplicate_of == receipt.remote_id
    assert channel.find(draft, SINCE) == receipt
    assert len(fake.posts) == 2


@pytest.mark.parametrize("kind", ["html", "drop", "hang"])
def test_broken_answers_after_sending_are_uncertain(fake, tmp_path, monkeypatch, kind):
    channel = make_channel(fake, tmp_path, monkeypatch, read_timeout=0.3)
    fake.script(kind, status=502, create=True, seconds=1.0)
    draft = channel.render(delivery())
    error = raised(channel.publish, draft)
    assert error.uncertain
    assert channel.find(draft, SINCE) is not None
    assert len(fake.posts) == 1


def test_find_returns_none_when_the_post_is_not_there(channel, fake):
    fake.add_post("Something else entirely")
    old = int((SINCE - timedelta(days=3)).timestamp() * 1000)
    fake.add_post(escape(TRICKY) + "\n\n#S3Chem #InterregEurope", created_ms=old)
    assert channel.find(channel.render(delivery()), SINCE) is None


def test_find_uses_the_encoded_author_finder(channel, fake):
    channel.find(channel.render(delivery()), SINCE)
    (request,) = fake.seen
    assert request.path.startswith("/rest/posts?q=author&author=urn%3Ali%3Aorganization%3A2414183")
    assert "count=50" in request.path and "sortBy=LAST_MODIFIED" in request.path
    assert request.headers["X-RestLi-Method"] == "FINDER"


def test_token_never_leaves_the_authorization_header(channel, fake, tmp_path):
    fake.fail_next(400, error_body(400, "ILLEGAL_ARGUMENT", f"bad header Bearer {TOKEN}"))
    errors = [raised(channel.publish, channel.render(delivery()))]
    channel.publish(channel.render(delivery(image=image_file(tmp_path))))
    fake.token_state = "expired"
    errors.append(raised(channel.publish, channel.render(delivery("other"))))
    errors.append(raised(channel.check_online, date.today()))
    for error in errors:
        assert TOKEN not in error.message and TOKEN not in error.hint and TOKEN not in str(error)
    for request in fake.seen:
        assert TOKEN not in request.path and TOKEN.encode() not in request.body
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"


# -- check --online ----------------------------------------------------------------------


def test_check_online_proves_access(channel, fake):
    health = channel.check_online(date.today())
    assert "urn:li:organization:2414183" in health.summary and "202608" in health.summary
    assert health.warnings == ()


def test_check_online_warns_from_configured_expiry(fake, tmp_path, monkeypatch):
    soon = date.today() + timedelta(days=5)
    channel = make_channel(fake, tmp_path, monkeypatch, token_expires_at=soon)
    (warning,) = channel.check_online(date.today()).warnings
    assert "5 days" in warning


def test_check_online_warns_from_token_introspection(fake, tmp_path, monkeypatch):
    channel = make_channel(
        fake, tmp_path, monkeypatch, client_id_env="LI_ID", client_secret_env="LI_SECRET"
    )
    monkeypatch.setenv("LI_ID", fake.client_id)
    monkeypatch.setenv("LI_SECRET", fake.client_secret)
    fake.token_expires_at = int((datetime.now(UTC) + timedelta(days=10, hours=1)).timestamp())
    fake.scope = "r_organization_social"
    warnings = channel.check_online(datetime.now(UTC).date()).warnings
    assert any("10 days" in w for w in warnings)
    assert any("w_organization_social" in w for w in warnings)
    assert not any(fake.client_secret in w or TOKEN in w for w in warnings)


def test_check_online_fails_on_a_bad_token(channel, fake):
    fake.token_state = "revoked"
    error = raised(channel.check_online, date.today())
    assert "revoked" in error.message and not error.retry


# -- the little format, for any text ------------------------------------------------------

PROPERTY_CONFIG = make_config("https://api.linkedin.com", Path("/nonexistent/publisher"))
PROPERTY_CHANNEL = LinkedInChannel(PROPERTY_CONFIG.channels["linkedin"], PROPERTY_CONFIG, Http())


@given(st.text())
def test_escaping_round_trips_any_text(text):
    escaped = escape(text)
    assert read_back(escaped) == text
    assert read_little(escaped)[0] == text  # nothing is cut, nothing becomes a hashtag


@settings(max_examples=200)
@given(
    st.text(min_size=1).filter(str.strip),
    st.lists(st.text(st.characters(categories=["L", "Nd", "P", "Zs"]), min_size=1), max_size=4),
)
def test_commentary_reads_back_as_the_intended_text(text, tags):
    item = delivery(text, tags=tuple(tags))
    draft = PROPERTY_CHANNEL.render(item)
    from publisher.core.render import social_text

    intended, _ = social_text(
        item, PROPERTY_CONFIG.channels["linkedin"], PROPERTY_CONFIG, link_in_payload=False
    )
    assert read_back(draft.text) == intended
    assert read_little(draft.text)[0] == intended  # LinkedIn keeps all of it


# -- end to end: `publisher run --once`, then `status --json` -----------------------------


def test_run_once_publishes_to_linkedin_and_status_shows_it(fake, site, invoke):
    try:
        from support import site_config
    except ImportError:  # tests/ run as a package
        from tests.support import site_config

    table = f"""
    [channels.linkedin]
    type = "linkedin"
    organization_id = "2414183"
    token_env = "{ENV}"
    api_url = "{fake.url}"
    """
    site.write_config(site_config(channels=table))
    site.write_post(
        "final.en.md",
        'title = "Final conference"\npublish_at = 2027-06-01T10:00:00\ntags = ["S3Chem"]',
        body="Join us (in Maastricht) for *two* days.",
    )

    run = invoke(site, "run", "--once", env={ENV: TOKEN})
    assert run.exit_code == 0, run.stderr
    assert TOKEN not in run.output + run.stderr

    assert fake.texts() == ["Final conference\n\nJoin us (in Maastricht) for two days.\n\n#S3Chem"]
    status = invoke(site, "status", "--json", "--all", env={ENV: TOKEN})
    (row,) = json.loads(status.stdout)
    assert row["id"] == "final/en/linkedin/post" and row["state"] == "sent"
    assert row["remote_id"] == fake.posts[0]["id"]
    assert row["remote_url"] == f"https://www.linkedin.com/feed/update/{fake.posts[0]['id']}/"


def test_find_takes_the_duplicate_hint_the_error_carried(channel, fake):
    draft = channel.render(delivery())
    old = fake.add_post(draft.payload["body"]["commentary"], created_ms=1_000)  # long before
    error = raised(channel.publish, draft)
    assert error.duplicate and error.duplicate_of == old["id"]

    assert channel.find(draft, SINCE) is None  # too old for the recent-posts look-up
    found = channel.find(draft, SINCE, error.duplicate_of)
    assert found is not None and found.remote_id == old["id"]
    assert not hasattr(channel, "_duplicate_of")  # nothing smuggled on the instance
