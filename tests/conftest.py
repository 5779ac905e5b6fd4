"""Shared fixtures: a site on disk (config + posts), a clock to pass in, and the CLI in-process."""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from publisher.app.cli import Options, cli
from publisher.core.config import Config, load_config

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("PUBLISHER_CI") == "1"

RSS_CHANNELS = """
[channels.rss]
type = "rss"
path = "public/feed.xml"
title = "S3Chem news"
link = "https://example.org/s3chem"
feed_url = "https://example.org/s3chem/feed.xml"
description = "News of S3Chem"
languages = ["en"]

[channels.rss-it]
type = "rss"
path = "public/feed.it.xml"
title = "S3Chem notizie"
link = "https://example.org/s3chem"
feed_url = "https://example.org/s3chem/feed.it.xml"
languages = ["it"]
"""


@dataclass
class Clock:
    """A clock a test moves by hand; never sleeps."""

    now: datetime = field(default_factory=lambda: datetime(2027, 6, 1, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@dataclass
class Site:
    """A folder with config.toml, posts/ and (after a run) state/ and public/."""

    root: Path

    @property
    def posts(self) -> Path:
        return self.root / "posts"

    @property
    def config_path(self) -> Path:
        return self.root / "config.toml"

    def write_config(self, body: str) -> Path:
        self.config_path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
        return self.config_path

    def write_post(self, name: str, front: str, body: str = "Some text.") -> Path:
        path = self.posts / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"+++\n{textwrap.dedent(front).strip()}\n+++\n{body}\n", encoding="utf-8")
        return path

    def config(self) -> Config:
        return load_config(self.config_path)


def site_config(channels: str = RSS_CHANNELS, extra: str = "") -> str:
    return textwrap.dedent(f"""
        [publisher]
        timezone = "Europe/Berlin"
        posts_dir = "posts"
        state = "state/publisher.db"
        languages = ["en", "it", "de", "nl"]
        catch_up = "2d"
        {extra}
        """) + textwrap.dedent(channels)


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
