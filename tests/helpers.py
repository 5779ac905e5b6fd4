"""Helpers for the pure-core tests: a real config file and real post files in a temp folder."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from publisher.core.config import Config, load_config
from publisher.core.models import Delivery, Post
from publisher.core.posts import ReadResult, read_post, read_posts

#: Four channels like the example: Facebook (en, it), LinkedIn (en), one RSS feed per language.
CHANNELS = """
[channels.facebook]
type = "facebook"
page_id = "100000000000001"
token_env = "PUBLISHER_FACEBOOK_TOKEN"
languages = ["en", "it"]

[channels.linkedin]
type = "linkedin"
organization_id = "10000001"
token_env = "PUBLISHER_LINKEDIN_TOKEN"
languages = ["en"]

[channels.rss]
type = "rss"
path = "public/feed.xml"
title = "S3Chem news"
link = "https://example.org/s3chem"
feed_url = "https://example.org/s3chem/feed.xml"
languages = ["en"]

[channels.rss-it]
type = "rss"
path = "public/feed.it.xml"
title = "S3Chem notizie"
link = "https://example.org/s3chem"
feed_url = "https://example.org/s3chem/feed.it.xml"
languages = ["it"]
"""


def config_text(
    channels: str = CHANNELS,
    *,
    languages: str = '["en", "it", "de", "nl"]',
    extra_publisher: str = "",
    reminders: str = "",
) -> str:
    """A complete config file body; ``reminders`` is the text of a ``[reminders]`` section."""
    publisher = textwrap.dedent(f"""\
        [publisher]
        timezone = "Europe/Berlin"
        posts_dir = "posts"
        state = "state/publisher.db"
        languages = {languages}
        catch_up = "2d"
        """) + textwrap.dedent(extra_publisher)
    return publisher + "\n" + textwrap.dedent(reminders) + "\n" + textwrap.dedent(channels)


@dataclass
class Site:
    """A folder with ``config.toml`` and ``posts/``, as a user would lay it out."""

    root: Path

    @property
    def posts(self) -> Path:
        return self.root / "posts"

    def config(self) -> Config:
        return load_config(self.root / "config.toml")

    def write(self, name: str, text: str | bytes) -> Path:
        """Write a file below ``posts/`` exactly as given (bytes stay bytes)."""
        path = self.posts / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def post(self, name: str, front: str, body: str = "Some text.") -> Path:
        """Write a post file: ``+++``, the front matter, ``+++``, the body."""
        return self.write(name, post_text(front, body))

    def read(self, name: str) -> Post:
        return read_post(self.posts / name, self.config())

    def read_all(self) -> ReadResult:
        return read_posts(self.config())


def post_text(front: str, body: str = "Some text.") -> str:
    return f"+++\n{textwrap.dedent(front).strip()}\n+++\n{body}\n"


def make_site(root: Path, config: str | None = None) -> Site:
    """Create a site folder with a config file (default: ``config_text()``) and ``posts/``."""
    site = Site(root)
    site.posts.mkdir(parents=True, exist_ok=True)
    (root / "config.toml").write_text(config or config_text(), encoding="utf-8")
    return site


NEWS = """
title = "Working group in Magdeburg"
publish_at = 2027-02-10T10:00:00
link = "https://example.org/s3chem/news/magdeburg"
"""

EVENT = """
title = "S3Chem final conference in Maastricht"
publish_at = 2027-05-02T10:00:00
link = "https://example.org/s3chem/final-conference"

[event]
start = 2027-06-17T09:00:00
end = 2027-06-18T17:00:00
location = "Maastricht, NL"
"""


def delivery(post: Post, channel: str, kind: str = "post", offset: str | None = None) -> Delivery:
    """A delivery of ``post`` as the planner would make it (due at the post's time)."""
    return Delivery(post, channel, kind, post.publish_at, post.expires_at, offset)
