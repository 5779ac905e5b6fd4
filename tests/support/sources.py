"""Feeds for the source tests: a served RSS feed per list of items, and the config that polls it."""

from __future__ import annotations

from pathlib import Path

try:
    from fakes.feeds import FeedSite

    from support.site import RSS_CHANNELS, site_config
except ImportError:  # tests/ run as a package
    from tests.fakes.feeds import FeedSite
    from tests.support.site import RSS_CHANNELS, site_config

HOST = "https://news.example.org"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
       b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
       b"\x00\x00\x00IEND\xaeB`\x82")  # fmt: skip
ITEM = """<item><title>{title}</title><link>{host}/news/{slug}/</link>
<guid>{host}/news/{slug}/</guid><pubDate>{date}</pubDate><description>About {title}.</description>
<enclosure url="{host}/images/{slug}.png" type="image/png" length="70"/></item>"""


def rss(feeds: FeedSite, *slugs: str) -> str:
    """An RSS 2.0 feed with one item per slug, newest first (dates go back a day each)."""
    body = "".join(
        ITEM.format(
            title=f"News {s}",
            slug=s,
            host=feeds.url,
            date=f"{20 - n:02d} May 2027 10:00:00 +0000".join(["Thu, ", ""]),
        )  # fmt: skip
        for n, s in enumerate(slugs)
    )
    for slug in slugs:
        feeds.serve(f"/images/{slug}.png", PNG, "image/png")
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
            f"<link>{feeds.url}/</link><description>d</description>{body}</channel></rss>")  # fmt: skip


def configure(site, feeds: FeedSite, sources: str) -> None:
    site.write_config(site_config(RSS_CHANNELS) + sources.replace("SITE", feeds.url))


SOURCE = """
[sources.news]
type = "feed"
url = "SITE/feed"
channels = ["rss"]
"""


def imported(site) -> list[Path]:
    return sorted((site.posts / "imported").rglob("*.md"))
