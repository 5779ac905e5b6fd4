"""Shared fixtures: a site on disk (config + posts), a clock to pass in, and the CLI in-process.

The helpers themselves live in ``tests/support/``.  Under ``PUBLISHER_CI=1`` the property
tests run derandomized (the same examples every run), so CI is repeatable; run them locally
without it to explore new examples.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import settings

from publisher.app.cli import Options, cli

try:
    from fakes.feeds import FeedSite
    from fakes.graph import FakeGraph
    from support import IN_CI, REPO, RSS_CHANNELS, Clock, Site, site_config
    from support.postgres import fresh_database
except ImportError:  # tests/ run as a package
    from tests.fakes.feeds import FeedSite
    from tests.fakes.graph import FakeGraph
    from tests.support import IN_CI, REPO, RSS_CHANNELS, Clock, Site, site_config
    from tests.support.postgres import fresh_database

FACEBOOK_TOKEN_ENV = "PUBLISHER_FACEBOOK_TOKEN"

__all__ = ["IN_CI", "REPO", "RSS_CHANNELS", "Clock", "Site", "site_config"]

settings.register_profile("ci", derandomize=True, print_blob=True)
if IN_CI:
    settings.load_profile("ci")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def site(tmp_path: Path) -> Site:
    s = Site(tmp_path / "site")
    s.posts.mkdir(parents=True)
    s.write_config(site_config())
    return s


@pytest.fixture
def sample_site(tmp_path: Path) -> Site:
    """The bundled sample posts with the RSS channels of the example config."""
    s = Site(tmp_path / "sample")
    shutil.copytree(REPO / "posts", s.posts)
    s.write_config(site_config())
    return s


Invoke = Callable[..., Result]


@pytest.fixture
def invoke(clock: Clock) -> Invoke:
    """Run the CLI in-process with the test's clock; stdout and stderr kept apart."""

    def run(site: Site | Path | None, *args: str, env: dict[str, str] | None = None) -> Result:
        runner = CliRunner()
        prefix = (
            ["--config", str(site.config_path if isinstance(site, Site) else site)] if site else []
        )
        return runner.invoke(
            cli, [*prefix, *args], obj=Options(None, False, "text", clock), env=env,
            catch_exceptions=False,
        )  # fmt: skip

    return run


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (skipped without a server, failed under CI)."""
    yield from fresh_database()


@pytest.fixture
def feeds() -> Iterator[FeedSite]:
    site = FeedSite()
    yield site
    site.close()


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    """The Graph API fake on 127.0.0.1 (modules that need it otherwise define their own)."""
    with FakeGraph() as fake:
        yield fake


@pytest.fixture
def env(graph: FakeGraph) -> dict[str, str]:
    """The environment of a real ``publisher`` process: the fake's token, unbuffered output."""
    return {**os.environ, FACEBOOK_TOKEN_ENV: graph.token, "PYTHONUNBUFFERED": "1"}
