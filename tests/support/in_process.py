"""The daemon's parts built in-process for a test: a config, a paused scheduler, a fixed T0."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from publisher.app.daemon import Daemon
from publisher.app.runner import Runner
from publisher.channels import build_channels
from publisher.channels.base import Http
from publisher.core.config import Config, parse_config
from publisher.core.watch import PostWatcher
from publisher.store.ledger import Ledger

try:
    from fakes.graph import FakeGraph

    from support.clock import Clock
except ImportError:  # tests/ run as a package
    from tests.fakes.graph import FakeGraph
    from tests.support.clock import Clock

ENV = "PUBLISHER_FACEBOOK_TOKEN"
T0 = datetime(2027, 5, 3, 8, 0, tzinfo=UTC)


def post_text(title: str, at: datetime, extra: str = "") -> str:
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f'+++\ntitle = "{title}"\npublish_at = {stamp}\n{extra}+++\nAbout {title}.\n'


def make_config(tmp_path: Path, graph: FakeGraph | None = None, *, rss: bool = True,
                **publisher: Any) -> Config:  # fmt: skip
    notify = publisher.pop("_notify", False)
    channels: dict[str, Any] = {}
    if graph is not None:
        channels["facebook"] = {"type": "facebook", "page_id": graph.page_id, "token_env": ENV,
                                "api_url": graph.url, **publisher.pop("facebook", {})}  # fmt: skip
    if rss:
        channels["rss"] = {"type": "rss", "path": "public/feed.xml", "title": "News",
                           "link": "https://example.org/", "feed_url": "https://example.org/f.xml"}  # fmt: skip
    data = {
        "publisher": {"timezone": "Europe/Berlin", "languages": ["en"], "retry_backoff": "1s",
                      **publisher},
        "channels": channels,
        **({"notify": {"urls_env": ["ALERTS"]}} if notify else {}),
    }  # fmt: skip
    (tmp_path / "posts").mkdir(exist_ok=True)
    return parse_config(data, tmp_path / "config.toml")


def make_daemon(config: Config, clock: Clock) -> Daemon:
    from apscheduler.schedulers.background import BackgroundScheduler

    ledger = Ledger.open(config.state_url, worker="test")
    runner = Runner(config, ledger, build_channels(config, Http(timeout=(1.0, 2.0))), clock,
                    rng=random.Random(7))  # fmt: skip
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.start(paused=True)
    return Daemon(config, ledger, runner, PostWatcher(config), clock=clock, scheduler=scheduler)
