"""The Facebook Page channel against a local fake Graph API: payloads, errors, reconcile."""

from __future__ import annotations

import dataclasses
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from publisher.channels.base import Http
from publisher.channels.facebook import LIMIT, FacebookChannel
from publisher.core.config import parse_config
from publisher.core.errors import ChannelError, TokenMissing
from publisher.core.models import Delivery, Override, Post

try:
    from fakes.graph import FakeGraph
except ImportError:  # tests/ run as a package
    from tests.fakes.graph import FakeGraph

ENV = "PUBLISHER_FACEBOOK_TOKEN"
LINK = "https://www.interregeurope.eu/s3chem/news/working-group"
# A real (tiny) PNG whose bytes contain CR LF, so a mangled upload would show.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\r\n\xa8"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with FakeGraph() as fake:
        yield fake


def make_channel(
    fake: FakeGraph,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    read_timeout: float = 0.3,
    **options: Any,
) -> FacebookChannel:
    table = {
        "type": "facebook",
        "page_id": fake.page_id,
        "token_env": ENV,
        "api_url": fake.url,
        **options,
    }
    data = {"publisher": {"timezone": "Europe/Berlin"}, "channels": {"facebook": table}}
    config = parse_config(data, tmp_path / "config.toml")
    monkeypatch.setenv(ENV, fake.token)
    return FacebookChannel(config.channels["facebook"], config, Http(timeout=(1.0, read_timeout)))


def make_delivery(
    tmp_path: Path,
    *,
    title: str = "S3Chem working group in Magdeburg",
    body: str = "Partners meet in **Magdeburg** to compare their regional action plans.",
    link: str = LINK,
    image: Path | None = None,
    text: str | None = None,
) -> Delivery:
    post = Post(
        id="2027-02-working-group",
        language="en",
        path=tmp_path / "posts" / "2027-02-working-group.en.md",
        source="",
        title=title,
        body=body,
        publish_at=datetime(2027, 2, 1, 9, tzinfo=UTC),
        timezone="Europe/Berlin",
        link=link,
        image=image,
        tags=("S3Chem", "Interreg Europe"),
        overrides={"facebook": Override(text=text)} if text is not None else {},
    )
    return Delivery(post=post, channel="facebook", kind="post", due_at=post.publish_at)


def kind_of(exc: ChannelError) -> str:
    flags = [exc.uncertain, exc.retry, exc.duplicate]
    assert sum(flags) <= 1, f"contradictory flags on {exc!r}"
    return (
        "uncertain"
        if exc.uncertain
        else "retry"
        if exc.retry
        else ("duplicate" if exc.duplicate else "failed")
    )


def posts_requests(fake: FakeGraph) -> list[Any]:
    return [r for r in fake.requests if r.path.endswith("/published_posts")]


# -- payloads ---------------------------------------------------------------------------------


def test_feed_post_sends_message_and_link_with_token_only_in_header(graph, tmp_path, monkeypatch):
    channel = make_channel(graph, tmp_path, monkeypatch)
    draft = channel.render(make_delivery(tmp_path))

    assert draft.payload == {
        "method": "POST",
        "endpoint": f"/v26.0/{graph.page_id}/feed",
        "fields": {"message": draft.text, "link": LINK},
    }
    assert draft.text.startswith("S3Chem working group in Magdeburg\n\nPartners meet in Magdeburg")
    assert "#S3Chem #InterregEurope" in draft.text and LINK not in draft.text

    receipt = channel.publish(draft)

    [post] = graph.posts
    assert receipt.remote_id == post["id"]
    assert receipt.remote_url == f"https://www.facebook.com/{post['id']}"
    assert (post["message"], post["link"]) == (draft.text, LINK)
    [seen] = graph.requests
    assert seen.headers["authorization"] == f"Bearer {graph.token}"
    assert seen.query == {} and "access_token" not in seen.fields
    assert graph.violations == []


def test_publish_sends_the_drafts_payload_without_rendering_again(graph, tmp_path, monkeypatch):
    channel = make_channel(graph, tmp_path, monkeypatch)
    draft = channel.render(make_delivery(tmp_path))
    fields = {"message": "as shown", "published": True}
    channel.publish(dataclasses.replace(draft, payload={**draft.payload, "fields": fields}))

    assert [p["message"] for p in graph.posts] == ["as shown"]
    assert graph.requests[0].fields == {"message": "as shown", "published": "true"}


def test_photo_post_uploads_the_real_bytes_and_keeps_the_link_in_the_caption(
    graph, tmp_path, monkeypatch
):
    image = tmp_path / "media" / "magdeburg.png"
    image.parent.mkdir()
    image.write_bytes(PNG)
    channel = make_channel(graph, tmp_path, monkeypatch)
    draft = channel.render(make_delivery(tmp_path, image=image))

    assert draft.payload == {
        "method": "POST",
        "endpoint": f"/v26.0/{graph.page_id}/photos",
        "fields": {"caption": draft.text},
        "files": {"source": {"path": str(image), "bytes": len(PNG), "type": "image/png"}},
    }
    assert draft.text.endswith(LINK)

    receipt = channel.publish(draft)

    [upload] = graph.uploads
    assert upload["bytes"] == PNG and upload["type"] == "image/png"
    [post] = graph.posts
    assert post["message"] == draft.text
    assert receipt.remote_id == post["id"] != upload["photo_id"]
    assert receipt.remote_url == f"https://www.facebook.com/{post['id']}"


def test_image_missing_at_publish_time_fails_naming_the_file(graph, tmp_path, monkeypatch):
    image = tmp_path / "banner.png"
    image.write_bytes(PNG)
    channel = make_channel(graph, tmp_path, monkeypatch)
    draft = channel.render(make_delivery(tmp_path, image=image))
    image.unlink()

    with pytest.raises(ChannelError) as caught:
        channel.publish(draft)

    assert kind_of(caught.value) == "failed"
    assert str(image) in caught.value.message
    assert graph.requests == []


def test_text_over_the_limit_is_a_draft_error_and_nothing_is_sent(graph, tmp_path, monkeypatch):
    channel = make_channel(graph, tmp_path, monkeypatch)
    draft = channel.render(make_delivery(tmp_path, text="x" * (LIMIT + 1)))

    assert draft.errors and str(LIMIT) in draft.errors[0]
    with pytest.raises(ChannelError) as caught:
        channel.publish(draft)
    assert kind_of(caught.value) == "failed"
    assert graph.requests == []


def test_render_needs_no_token(graph, tmp_path, monkeypatch):
    channel = make_channel(graph, tmp_path, monkeypatch)
    monkeypatch.delenv(ENV)

    draft = channel.render(make_delivery(tmp_path))

    assert draft.payload["fields"]["link"] == LINK
    with pytest.raises(TokenMissing):
        channel.publish(draft)
    assert graph.requests == []


# -- errors -----------------------------------------------------------------------------------

PERMS = ["pages_manage_posts", "pages_read_engagement"]
RENEW = ["must be renewed", ENV, "README"]


@pytest.mark.parametrize(
    ("code", "subcode", "status", "transient", "expected", "words"),
    [
        (1, None, 500, None, "uncertain", ["Facebook error 1"]),
        (2, None, 500, True, "uncertain", ["retry your request later"]),
        (190, 463, 400, False, "failed", [*RENEW, "190/463"]),
        (190, 460, 400, False, "failed", [*RENEW, "190/460"]),
        (190, 467, 400, False, "failed", [*RENEW, "190/467"]),
        (190, None, 500, False, "uncertain", ["190"]),
        (10, None, 403, False, "failed", PERMS),
        (200, None, 403, False, "failed", PERMS),
        (283, None, 400, False, "failed", PERMS),
        (4, None, 400, True, "retry", ["Application request limit"]),
        (17, None, 400, True, "retry", ["User request limit"]),
        (32, None, 400, True, "retry", ["Page request limit"]),
        (613, None, 400, True, "retry", ["rate limit"]),
        (80001, None, 400, True, "retry", ["too many calls"]),
        (341, None, 400, True, "retry", ["341"]),
        (506, None, 400, False, "duplicate", ["duplicate", "Duplicate status message"]),
        (2635, None, 400, False, "failed", ["api_version", "v26.0"]),
        (368, None, 400, False, "retry", ["temporarily blocked", "an hour"]),
        (100, None, 400, False, "failed", ["Invalid parameter"]),
    ],
)
def test_graph_errors_are_classified_by_code(
    graph, tmp_path, monkeypatch, code, subcode, status, transient, expected, words
):
    channel = make_channel(graph, tmp_path, monkeypatch)
    draft = channel.render(make_delivery(tmp_path))
    graph.fail_next(code, subcode, status=status, is_transient=transient)

    with pytest.raises(ChannelError) as caught:
        channel.publish(draft)

    assert kind_of(caught.value) == expected
    for word in words:
        assert word in str(caught.value)


def test_throttling_waits_as_long_as_the_usage_headers_say(graph, tmp_path, monkeypatch):
    channel = make_channel(graph, tmp_path, monkeypatch)
    draft = channel.render(make_delivery(tmp_path))
    usage = '{"104729381234567": [{"type": "pages", "call_count": 100, "total_cputime": 12, '
    usage += '"total_time": 20, "estimated_time_to_regain_access": 7}]}'
    graph.fail_next(80001, headers={"X-Business-Use-Case-Usage": usage})
    graph.fail_next(4, headers={"X-App-Usage": '{"call_count": 100, "total_time": 3}'})
    graph.fail_next(32)

    waits = []
    for _ in range(3):
        with pytest.raises(ChannelError) as caught:
            channel.publish(draft)
        assert caught.value.retry
        waits.append(caught.value.retry_after)

    assert waits == [7 * 60, 15 * 60, None]


@pytest.mark.parametrize("mode", ["html", "hang", "drop"])
def test_answers_that_leave_the_outcome_open_are_uncertain(graph, tmp_path, monkeypatch, mode):
    channel = make_channel(graph, tmp_path, monkeypatch)
    draft = channel.render(make_delivery(tmp_path))
    {"html": graph.html_next, "hang": graph.hang_next, "drop": graph.drop_next}[mode]()

    with pytest.raises(ChannelError) as caught:
        channel.publish(draft)

    assert kind_of(caught.value) == "uncertain"
    assert "looked for" in caught.value.hint


def test_an_unserved_api_version_names_api_version(graph, tmp_path, monkeypatch):
    channel = make_channel(graph, tmp_path, monkeypatch, api_version="v19.0")

    with pytest.raises(ChannelError) as caught:
        channel.publish(channel.render(make_delivery(tmp_path)))

    assert graph.requests[0].path.startswith("/v19.0/")
    assert kind_of(caught.value) == "failed" and "api_version" in str(caught.value)


# -- reconcile --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["error500", "hang"])
def test_a_post_created_before_a_failed_answer_is_found_not_posted_twice(
    graph, tmp_path, monkeypatch, mode
):
    channel = make_channel(graph, tmp_path, monkeypatch)
    draft = channel.render(make_delivery(tmp_path))
    since = datetime.now(UTC)
    if mode == "error500":
        graph.fail_next(2, status=500, is_transient=True, create=True)
    else:
        graph.hang_next(create=True)

    with pytest.raises(ChannelError) as caught:
        channel.publish(draft)
    assert caught.value.uncertain
    found = channel.find(draft, since)

    [post] = graph.posts
    assert found is not None and found.remote_id == post["id"]
    assert found.remote_url == f"https://www.facebook.com/{post['id']}"


def test_a_photo_post_is_found_by_its_caption(graph, tmp_path, monkeypatch):
    image = tmp_path / "banner.png"
    image.write_bytes(PNG)
    channel = make_channel(graph, tmp_path, monkeypatch)
    draft = channel.render(make_delivery(tmp_path, image=image))
    since = datetime.now(UTC)
    graph.fail_next(1, status=500, create=True)

    with pytest.raises(ChannelError):
        channel.publish(draft)

    found = channel.find(draft, since)
    assert found is not None and found.remote_id == graph.posts[0]["id"]


def test_find_ignores_other_text_and_the_same_text_posted_long_before(graph, tmp_path, monkeypatch):
    channel = make_channel(graph, tmp_path, monkeypatch)
    draft = channel.render(make_delivery(tmp_path))
    now = datetime.now(UTC)
    graph.add_post(draft.text, created_time=now - timedelta(days=3))
    graph.add_post(draft.text + " (edited)", created_time=now - timedelta(minutes=1))

    assert channel.find(draft, now - timedelta(minutes=30)) is None


def test_find_follows_after_cursors_and_never_the_next_url(tmp_path, monkeypatch):
    with FakeGraph(page_size=2) as fake:
        channel = make_channel(fake, tmp_path, monkeypatch)
        draft = channel.render(make_delivery(tmp_path))
        now = datetime.now(UTC)
        target = fake.add_post(
            " \n" + draft.text.replace("\n\n", "\n") + " ", now - timedelta(minutes=30)
        )
        for minutes in range(6):
            fake.add_post(f"newer post {minutes}", now - timedelta(minutes=minutes))

        found = channel.find(draft, now - timedelta(hours=1))

    assert found is not None and found.remote_id == target["id"]
    pages = posts_requests(fake)
    assert len(pages) == 4
    assert "after" not in pages[0].query and all("after" in p.query for p in pages[1:])
    assert all("access_token" not in p.query for p in pages)
    assert all(p.headers["authorization"] == f"Bearer {fake.token}" for p in pages)
    assert fake.violations == []


def test_find_stops_paging_once_posts_are_older_than_the_first_attempt(tmp_path, monkeypatch):
    with FakeGraph(page_size=2) as fake:
        channel = make_channel(fake, tmp_path, monkeypatch)
        draft = channel.render(make_delivery(tmp_path))
        now = datetime.now(UTC)
        for day in range(20):
            fake.add_post(f"old post {day}", now - timedelta(days=3 + day))
        for minutes in range(3):
            fake.add_post(f"recent post {minutes}", now - timedelta(minutes=minutes))

        assert channel.find(draft, now - timedelta(hours=1)) is None

    assert len(posts_requests(fake)) == 2


# -- check --online ---------------------------------------------------------------------------


def test_check_online_names_the_page_and_warns_before_the_token_expires(
    graph, tmp_path, monkeypatch
):
    today = date(2027, 1, 10)
    channel = make_channel(graph, tmp_path, monkeypatch, token_expires_at=date(2027, 1, 20))

    health = channel.check_online(today)

    assert graph.page_name in health.summary and graph.page_id in health.summary
    assert len(health.warnings) == 1 and "10 days" in health.warnings[0]
    [seen] = graph.requests
    assert seen.query["fields"] == ["id,name"] and "access_token" not in seen.query


def test_check_online_without_a_near_expiry_has_no_warning(graph, tmp_path, monkeypatch):
    channel = make_channel(graph, tmp_path, monkeypatch, token_expires_at=date(2027, 6, 1))
    assert channel.check_online(date(2027, 1, 10)).warnings == ()


def test_check_online_with_an_expired_token_says_renew_it(graph, tmp_path, monkeypatch):
    channel = make_channel(graph, tmp_path, monkeypatch)
    graph.fail_next(190, 463)

    with pytest.raises(ChannelError) as caught:
        channel.check_online(date(2027, 1, 10))

    assert "must be renewed" in str(caught.value)


# -- the token never leaks --------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_token_appears_in_no_error_log_or_output(graph, tmp_path, monkeypatch, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    channel = make_channel(graph, tmp_path, monkeypatch)
    draft = channel.render(make_delivery(tmp_path))
    token = graph.token
    failures: list[ChannelError] = []

    def attempt(call: Any) -> None:
        with pytest.raises(ChannelError) as caught:
            call()
        failures.append(caught.value)

    for code in (1, 2, 4, 10, 32, 100, 190, 200, 368, 506, 2635, 80001):
        graph.fail_next(code, message=f"(#{code}) bad token {token} in access_token={token}")
        attempt(lambda: channel.publish(draft))
    for script in (graph.html_next, graph.hang_next, graph.drop_next):
        script()
        attempt(lambda: channel.publish(draft))
    graph.fail_next(2, status=500)
    attempt(lambda: channel.find(draft, datetime.now(UTC)))
    graph.fail_next(190, 467, message=f"token {token} logged out")
    attempt(lambda: channel.check_online(date.today()))
    offline = make_channel(
        graph, tmp_path, monkeypatch, api_url=f"http://127.0.0.1:{_closed_port()}"
    )
    attempt(lambda: offline.publish(draft))
    attempt(lambda: offline.find(draft, datetime.now(UTC)))

    out = capsys.readouterr()
    texts = [out.out, out.err, caplog.text]
    for exc in failures:
        texts += [str(exc), repr(exc), exc.message, exc.hint, str(exc.code)]
    assert len(failures) == 19
    assert all(token not in text for text in texts)
    assert all(token not in r.path and "access_token" not in r.query for r in graph.requests)
    assert graph.violations == []


# -- end to end: `publisher run --once` and `status --json` -----------------------------------


def write_site(root: Path, fake: FakeGraph, published: datetime) -> Path:
    posts = root / "posts"
    posts.mkdir()
    stamp = published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    (posts / "working-group.en.md").write_text(
        f'+++\ntitle = "S3Chem working group in Magdeburg"\npublish_at = {stamp}\n'
        f'link = "{LINK}"\ntags = ["S3Chem"]\n+++\nPartners meet in **Magdeburg**.\n',
        encoding="utf-8",
    )
    config = root / "config.toml"
    config.write_text(
        '[publisher]\ntimezone = "Europe/Berlin"\nlanguages = ["en"]\ncatch_up = "2d"\n'
        'state = "state/publisher.db"\n\n[channels.facebook]\ntype = "facebook"\n'
        f'page_id = "{fake.page_id}"\ntoken_env = "{ENV}"\napi_url = "{fake.url}"\n',
        encoding="utf-8",
    )
    return config


def cli_json(config: Path, fake: FakeGraph, *args: str) -> tuple[int, Any]:
    import json

    from click.testing import CliRunner

    from publisher.app.cli import cli

    result = CliRunner().invoke(cli, ["--config", str(config), *args], env={ENV: fake.token})
    assert fake.token not in result.output
    return result.exit_code, json.loads(result.stdout) if "--json" in args else None


def test_run_once_publishes_a_due_post_and_status_shows_it_sent(graph, tmp_path):
    config = write_site(tmp_path, graph, datetime.now(UTC) - timedelta(hours=1))

    code, _ = cli_json(config, graph, "run", "--once")
    status_code, rows = cli_json(config, graph, "status", "--json")

    assert code == 0 and status_code == 0
    [post] = graph.posts
    assert post["message"].startswith("S3Chem working group in Magdeburg") and post["link"] == LINK
    [row] = rows
    assert row["id"] == "working-group/en/facebook/post" and row["state"] == "sent"
    assert row["remote_id"] == post["id"]
    assert row["remote_url"] == f"https://www.facebook.com/{post['id']}"
    assert graph.violations == []


def test_run_once_reconciles_a_post_facebook_created_before_answering_500(graph, tmp_path):
    config = write_site(tmp_path, graph, datetime.now(UTC) - timedelta(hours=1))
    graph.fail_next(2, status=500, is_transient=True, create=True, method="POST")

    first, _ = cli_json(config, graph, "run", "--once")
    _, after_first = cli_json(config, graph, "status", "--json")
    second, _ = cli_json(config, graph, "run", "--once")
    _, rows = cli_json(config, graph, "status", "--json")

    assert first == 1 and after_first[0]["state"] == "uncertain"
    assert second == 0
    [post] = graph.posts
    [row] = rows
    assert (row["state"], row["remote_id"]) == ("sent", post["id"])
    # A new ledger looks for an overdue post first (GET), then sends, then reconciles.
    assert [r.method for r in graph.requests] == ["GET", "POST", "GET"]


def test_an_edit_after_an_uncertain_send_does_not_post_twice(graph, tmp_path):
    config = write_site(tmp_path, graph, datetime.now(UTC) - timedelta(hours=1))
    graph.fail_next(2, status=500, is_transient=True, create=True, method="POST")
    assert cli_json(config, graph, "run", "--once")[0] == 1
    post = next(tmp_path.rglob("working-group.en.md"))
    post.write_text(post.read_text().replace("Partners meet", "Partners met"), encoding="utf-8")

    assert cli_json(config, graph, "run", "--once")[0] == 0
    assert cli_json(config, graph, "run", "--once")[0] == 0  # its sync flags the edit
    _, rows = cli_json(config, graph, "status", "--json")

    [only] = graph.posts
    assert "Partners meet" in only["message"]
    [row] = rows
    assert (row["state"], row["remote_id"], row["changed"]) == ("sent", only["id"], True)


def test_368_already_posted_counts_as_a_duplicate_but_other_368_do_not(
    graph, tmp_path, monkeypatch
):
    channel = make_channel(graph, tmp_path, monkeypatch)
    draft = channel.render(make_delivery(tmp_path))
    graph.fail_next(368, message="You've already posted this. Please try posting something else.")
    with pytest.raises(ChannelError) as already:
        channel.publish(draft)
    graph.fail_next(368)
    with pytest.raises(ChannelError) as blocked:
        channel.publish(draft)
    assert already.value.duplicate and not already.value.retry and not already.value.uncertain
    assert not blocked.value.duplicate and blocked.value.retry
    assert blocked.value.retry_after is not None and blocked.value.retry_after >= 3600
