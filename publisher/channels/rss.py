"""RSS 2.0 feeds, rebuilt from the ledger's sent items and written atomically.

Publishing an item records its payload (the ledger keeps it) and copies its image beside the
feed; ``rebuild`` then writes the newest ``max_items`` as one file, so any worker can rebuild
any feed from the ledger alone.  The output passes the W3C Feed Validator.
"""

from __future__ import annotations

import mimetypes
import os
import tempfile
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, ClassVar, NotRequired, TypedDict
from urllib.parse import quote

from publisher.channels.base import Health, Http
from publisher.channels.files import atomic_copy, write_if_changed
from publisher.channels.xmltext import escape, quoteattr
from publisher.core.config import ChannelConfig, Config
from publisher.core.config_values import REQUIRED, Key, _int, _path, _str, _url
from publisher.core.errors import ChannelError
from publisher.core.models import Delivery, Draft, Receipt
from publisher.core.plugins import Capabilities
from publisher.core.render import effective, feed_html, markdown_text
from publisher.core.times import utc

SUMMARY_CHARS = 400


def rfc822(value: datetime) -> str:
    """``Tue, 02 Jan 2024 09:30:00 +0000``: English names, numeric zone, as validators want."""
    return format_datetime(utc(value))


def text(value: str) -> str:
    """Plain text for RSS elements: ``&`` and ``<`` as hexadecimal references, as validators ask."""
    return (
        escape(value).replace("&amp;", "&#x26;").replace("&lt;", "&#x3C;").replace("&gt;", "&#x3E;")
    )


def html_text(value: str) -> str:
    """Plain text as HTML text: ``&``, ``<`` and ``>`` as entities (then XML-escaped by ``text``)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _summary(plain: str) -> str:
    first = plain.split("\n\n", 1)[0].strip()
    if len(first) <= SUMMARY_CHARS:
        return first
    return first[: SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"


class RssEnclosure(TypedDict):
    """An item's image: its public URL, size and type, and where it is copied from and to."""

    url: str
    length: int
    type: str
    path: str
    file: str


class RssItem(TypedDict):
    """One feed item as the ledger keeps it; ``rebuild`` writes the feed from these."""

    guid: str
    title: str
    link: str
    description: str
    content_html: str
    pub_date: str
    categories: list[str]
    enclosure: NotRequired[RssEnclosure]


class RssChannel:
    """One feed file for one language."""

    keys: ClassVar[dict[str, Key]] = {
        "path": Key(_path, REQUIRED),
        "title": Key(_str, REQUIRED),
        "link": Key(_url, REQUIRED),
        "feed_url": Key(_url, REQUIRED),
        "media_url": Key(_url, None),
        "description": Key(_str, ""),
        "max_items": Key(_int, 50),
    }
    override_keys = frozenset(["summary", "publish_at", "link", "image", "image_alt", "enabled"])
    #: A feed: rebuilt from its items, one language, no reminders unless asked, never too late.
    capabilities = Capabilities(feed=True, one_language=True, reminders=False, catch_up=False)
    limit: int | None = None
    output_keys = ("path",)

    @staticmethod
    def prepare(values: dict[str, Any], prefix: str) -> dict[str, Any]:
        """Images go beside the feed unless ``media_url`` says where."""
        if values["media_url"] is None:
            values["media_url"] = values["feed_url"].rsplit("/", 1)[0] + "/media/"
        return values

    def __init__(self, cfg: ChannelConfig, config: Config, http: Http) -> None:
        self.name = cfg.name
        self.config = cfg
        self.settings = config
        self.path = Path(cfg.options["path"])
        self.media_dir = self.path.parent / "media"

    def _media_name(self, image: Path) -> str:
        """The image's path relative to posts_dir: two images never share a name in media/."""
        try:
            rel = image.relative_to(self.settings.posts_dir)
        except ValueError:
            rel = Path(image.name)
        return "/".join(rel.parts)

    @staticmethod
    def image_problems(path: Path) -> list[str]:
        """A feed takes any image it can read (``check`` asks without rendering)."""
        from publisher.core.images import ImageProblem, inspect

        try:
            inspect(path)
        except ImageProblem as exc:
            return [str(exc)]
        return []

    def render(self, delivery: Delivery) -> Draft:
        """The item as it will stand in the feed."""
        from publisher.core.reminders import reminder_text

        post = delivery.post
        opts = self.config.options
        view = effective(delivery, self.config)
        override = post.override(self.name, self.config.type)
        warnings: list[str] = []
        if delivery.offset is not None:
            title, warnings = reminder_text(post, delivery.offset, self.settings.templates)
            html = f"<p>{escape(title)}</p>"
            summary = title
        else:
            title = post.title
            base = opts["link"] if opts["link"].endswith("/") else opts["link"] + "/"
            html = feed_html(post.body, base)
            plain, warnings = markdown_text(post.body, base)
            summary = override.summary if override.summary is not None else _summary(plain)
        payload: RssItem = {
            "guid": f"{opts['feed_url']}#{post.id}/{post.language}/{delivery.kind}",
            "title": title,
            "link": view.link or opts["link"],
            "description": summary,
            "content_html": html,
            "pub_date": rfc822(delivery.due_at),
            "categories": [tag for tag in post.tags if tag.strip()],
        }
        errors: list[str] = []
        if view.image is not None:
            from publisher.core.images import ImageProblem, inspect

            name = self._media_name(view.image)
            size, mime = 0, None
            try:
                facts = inspect(view.image)
                size, mime = facts.size, facts.mime
            except ImageProblem as exc:
                errors.append(str(exc))
            # Readers show the item's HTML, and many ignore an enclosure: put the picture there.
            src = quoteattr(opts["media_url"] + quote(name))
            alt = quoteattr(view.image_alt or title)
            payload["content_html"] = f"<p><img src={src} alt={alt}/></p>\n{html}"
            payload["enclosure"] = {
                "url": opts["media_url"] + quote(name),
                "length": size,
                "type": mime
                or mimetypes.guess_type(view.image.name)[0]
                or "application/octet-stream",
                "path": str(view.image),
                "file": name,
            }
        return Draft(
            delivery.id,
            self.name,
            payload,
            text=title,
            image=view.image,
            warnings=tuple(warnings),
            errors=tuple(errors),
        )

    def publish(self, draft: Draft) -> Receipt:
        """Copy the item's image beside the feed; the ledger then holds the item itself.

        The feed's folder is probed first: a feed that cannot be written leaves the item
        unsent (it is tried again), never ``sent`` into a file nobody gets.
        """
        self._probe()
        enclosure = draft.payload.get("enclosure")
        if enclosure:
            source = Path(enclosure["path"])
            target = self.media_dir / enclosure["file"]
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                atomic_copy(source, target)
            except OSError as exc:
                raise ChannelError(
                    f"cannot copy the image {source} to {target}: {exc.strerror}",
                    hint="check that the image exists and the feed folder is writable",
                    retry=True,
                ) from None
        return Receipt(remote_id=str(draft.payload["guid"]), remote_url=str(draft.payload["link"]))

    def find(self, draft: Draft, since: datetime, hint: str | None = None) -> Receipt | None:
        """The item in the feed file as it stands (a lost ledger's feed), read with feedparser."""
        import feedparser

        try:
            raw = self.path.read_bytes()
        except OSError:
            return None
        guid = str(draft.payload["guid"])
        for entry in feedparser.parse(raw).entries:
            if entry.get("id") == guid:
                return Receipt(remote_id=guid, remote_url=str(entry.get("link") or ""))
        return None

    def _probe(self) -> None:
        """Raise ``ChannelError`` (retry) naming the feed when its folder cannot be written."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            os.close(fd)
            os.unlink(tmp)
        except OSError as exc:
            raise ChannelError(
                f"cannot write the feed {self.path} ({exc.strerror or exc})",
                hint=f"make {self.path.parent} a writable folder for the user running "
                f"publisher, or change path in [channels.{self.name}]; the item stays unsent "
                "and is tried again",
                retry=True,
            ) from None

    def check_online(self, today: date) -> Health:
        folder = self.path.parent
        probe = folder if folder.exists() else folder.parent
        if not os.access(probe, os.W_OK):
            raise ChannelError(f"cannot write the feed folder {folder}", hint="check permissions")
        return Health(f"writes {self.path} ({self.config.languages[0]})")

    def feed_xml(self, items: Iterable[Mapping[str, Any]]) -> str:
        """The whole feed document for the given items (newest first)."""
        opts = self.config.options
        items = list(items)[: opts["max_items"]]
        out = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/">',
            "<channel>",
            f"<title>{text(opts['title'])}</title>",
            f"<link>{escape(opts['link'])}</link>",
            f"<description>{text(opts['description'] or opts['title'])}</description>",
            f"<language>{escape(self.config.languages[0])}</language>",
            "<generator>publisher</generator>",
        ]
        if items:
            out.append(f"<lastBuildDate>{escape(items[0]['pub_date'])}</lastBuildDate>")
        out.append(
            f'<atom:link href={quoteattr(opts["feed_url"])} rel="self" type="application/rss+xml"/>'
        )
        for item in items:
            out.append(_item_xml(item))
        out += ["</channel>", "</rss>", ""]
        return "\n".join(out)

    def rebuild(self, sent: Iterable[Mapping[str, Any]]) -> bool:
        """Write the feed if its content changed; True when the file was (re)written."""
        return write_if_changed(self.path, self.feed_xml(sent).encode("utf-8"))


def _item_xml(item: Mapping[str, Any]) -> str:
    html = str(item["content_html"]).replace("]]>", "]]]]><![CDATA[>")
    lines = [
        "<item>",
        f"<title>{text(item['title'])}</title>",
        f"<link>{escape(item['link'])}</link>",
        f'<guid isPermaLink="false">{escape(item["guid"])}</guid>',
        f"<pubDate>{escape(item['pub_date'])}</pubDate>",
    ]
    lines += [f"<category>{text(tag)}</category>" for tag in item.get("categories", ()) if tag]
    # RSS readers (and the W3C validator) read <description> as HTML: encode it as HTML text.
    lines.append(f"<description>{text(html_text(item['description']))}</description>")
    lines.append(f"<content:encoded><![CDATA[{html}]]></content:encoded>")
    enclosure = item.get("enclosure")
    if enclosure:
        lines.append(
            f'<enclosure url={quoteattr(enclosure["url"])} length="{int(enclosure["length"])}" '
            f"type={quoteattr(enclosure['type'])}/>"
        )
    lines.append("</item>")
    return "\n".join(lines)
