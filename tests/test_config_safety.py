"""DESIGN §7 for channel configs: tokens only over TLS, no secret-less token_env, feeds that
overwrite nothing they do not own, and warnings for duplicate Pages and foreign API hosts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from publisher.core.config import parse_config
from publisher.core.errors import ConfigError


def config(tmp_path: Path, *channels: tuple[str, dict[str, Any]], **publisher: Any) -> Any:
    data = {
        "publisher": {"timezone": "Europe/Berlin", "posts_dir": "posts", **publisher},
        "channels": dict(channels),
    }
    return parse_config(data, tmp_path / "config.toml")


def facebook(**options: Any) -> dict[str, Any]:
    return {"type": "facebook", "page_id": "1001", "token_env": "PUBLISHER_FB", **options}


def rss(path: str, **options: Any) -> dict[str, Any]:
    return {"type": "rss", "path": path, "title": "News", "link": "https://example.org",
            "feed_url": "https://example.org/feed.xml", "languages": ["en"], **options}  # fmt: skip


@pytest.mark.parametrize(
    "url", ["http://graph.example.org", "http://10.0.0.5:8080", "http://127.example.org"]
)
def test_a_token_is_never_sent_over_plain_http_to_another_host(tmp_path, url):
    with pytest.raises(ConfigError) as info:
        config(tmp_path, ("facebook", facebook(api_url=url)))
    assert "channels.facebook.api_url" in info.value.message and "https" in info.value.hint


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://127.5.6.7", "http://[::1]:9000", "http://localhost:1"]
)
def test_plain_http_is_allowed_on_loopback_for_tests(tmp_path, url):
    loaded = config(tmp_path, ("facebook", facebook(api_url=url)))
    assert loaded.channels["facebook"].options["api_url"] == url
    assert loaded.warnings == ()


def test_a_mastodon_instance_over_http_is_refused_too(tmp_path):
    table = {"type": "mastodon", "instance": "http://mastodon.example", "token_env": "PUBLISHER_M"}
    with pytest.raises(ConfigError, match="channels.mastodon.instance"):
        config(tmp_path, ("mastodon", table))


@pytest.mark.parametrize("name", ["PATH", "HOME", "USER", "SHELL", "PWD", "LANG", "TERM"])
def test_token_env_may_not_name_a_well_known_variable(tmp_path, name):
    with pytest.raises(ConfigError) as info:
        config(tmp_path, ("facebook", facebook(token_env=name)))
    assert "channels.facebook.token_env" in info.value.message and name in info.value.message


def test_other_secret_variables_may_not_name_one_either(tmp_path):
    table = {"type": "linkedin", "organization_id": "1", "token_env": "PUBLISHER_LI",
             "client_secret_env": "HOME"}  # fmt: skip
    with pytest.raises(ConfigError, match="channels.linkedin.client_secret_env: HOME"):
        config(tmp_path, ("linkedin", table))


def test_an_api_host_that_is_not_the_service_is_a_warning(tmp_path):
    loaded = config(tmp_path, ("facebook", facebook(api_url="https://graph.evil.example")))
    assert any("channels.facebook.api_url" in w and "graph.evil.example" in w
               for w in loaded.warnings)  # fmt: skip
    sub = config(tmp_path, ("facebook", facebook(api_url="https://eu.graph.facebook.com")))
    assert sub.warnings == ()


def test_two_facebook_channels_on_one_page_is_a_warning(tmp_path):
    loaded = config(tmp_path, ("fb-a", facebook()), ("fb-b", facebook(token_env="PUBLISHER_B")))
    assert any("page_id" in w and "'fb-a'" in w and "'fb-b'" in w for w in loaded.warnings)


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("config.toml", "the config file"),
        ("state/publisher.db", "the ledger"),
        ("posts/feed.xml", "inside posts_dir"),
        ("posts", "inside posts_dir"),
    ],
)
def test_a_feed_may_not_overwrite_what_it_does_not_own(tmp_path, path, says):
    with pytest.raises(ConfigError) as info:
        config(tmp_path, ("rss", rss(path)), state="state/publisher.db")
    assert "channels.rss.path" in info.value.message and says in info.value.message


def test_two_feeds_may_not_share_a_path(tmp_path):
    with pytest.raises(ConfigError) as info:
        config(
            tmp_path, ("rss", rss("public/feed.xml")), ("rss-b", rss("public/../public/feed.xml"))
        )
    assert "channels.rss-b.path" in info.value.message and "'rss'" in info.value.message


def test_an_unknown_channel_type_lists_the_installed_ones(tmp_path):
    with pytest.raises(ConfigError) as info:
        config(tmp_path, ("tw", {"type": "twitter"}))
    assert "'twitter' is not an installed channel type" in info.value.message
    for kind in ("facebook", "linkedin", "mastodon", "rss"):
        assert kind in info.value.hint


def test_config_warnings_are_shown_by_check(tmp_path, invoke):
    (tmp_path / "posts").mkdir()
    (tmp_path / "config.toml").write_text(
        '[publisher]\ntimezone = "UTC"\n[channels.fb]\ntype = "facebook"\npage_id = "1"\n'
        'token_env = "PUBLISHER_FB"\napi_url = "https://graph.example.net"\n',
        encoding="utf-8",
    )
    result = invoke(tmp_path / "config.toml", "check")
    assert (
        "warning: channels.fb.api_url: graph.example.net is not graph.facebook.com" in result.stderr
    )
