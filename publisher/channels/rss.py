"""RSS 2.0 feeds, rebuilt from the ledger's sent items and written atomically.

Publishing an item records its payload (the ledger keeps it) and copies its image beside the
feed; ``rebuild`` then writes the newest ``max_items`` as one file, so any worker can rebuild
any feed from the ledger alone.  The output passes the W3C Feed Validator.
"""

from __future__ import annotations

import mimetypes
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from publisher.channels.base import Health, Http
from publisher.core.config import ChannelConfig, Config
from publisher.core.errors import ChannelError
from publisher.core.models import Delivery, Draft, Receipt
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


def _summary(plain: str) -> str:
    first = plain.split("\n\n", 1)[0].strip()
    if len(first) <= SUMMARY_CHARS:
        return first
    return first[: SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"


class RssChannel:
    """One feed file for one language."""

    limit: int | None = None

    def __init__(self, cfg: ChannelConfig, config: Config, http: Http) -> None:
        self.name = cfg.name
        self.config = cfg
        self.settings = config
        self.path = Path(cfg.options["path"])
        self.media_dir = self.path.parent / "media"

    def _media_name(self, image: Path) -> str:
        try:
            rel = image.relative_to(self.settings.posts_dir)
        except ValueError:
            rel = Path(image.name)
        parts = rel.parts[1:] if len(rel.parts) > 1 and rel.parts[0] == "media" else rel.parts
        return "/".join(parts)

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
        payload: dict[str, Any] = {
            "guid": f"{opts['feed_url']}#{post.id}/{post.language}/{delivery.kind}",
            "title": title,
            "link": view.link or opts["link"],
            "description": summary,
            "content_html": html,
            "pub_date": rfc822(delivery.due_at),
            "categories": list(post.tags),
        }
        errors: list[str] = []
        if view.image is not None:
            name = self._media_name(view.image)
            try:
                size = view.image.stat().st_size
            except OSError:
                size = 0
                errors.append(f"image {view.image} is missing")
            payload["enclosure"] = {
                "url": opts["media_url"] + name,
                "length": size,
                "type": mimetypes.guess_type(view.image.name)[0] or "application/octet-stream",
                "path": str(view.image),
                "file": name,
            }
        return Draft(delivery.id, self.name, payload, text=title, image=view.image,
                     warnings=tuple(warnings), errors=tuple(errors))  # fmt: skip

    def publish(self, draft: Draft) -> Receipt:
        """Copy the item's image beside the feed; the ledger then holds the item itself."""
        enclosure = draft.payload.get("enclosure")
        if enclosure:
            source = Path(enclosure["path"])
            target = self.media_dir / enclosure["file"]
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                _atomic_copy(source, target)
            except OSError as exc:
                raise ChannelError(
                    f"cannot copy the image {source} to {target}: {exc.strerror}",
                    hint="check that the image exists and the feed folder is writable",
                    retry=True,
                ) from None
        return Receipt(remote_id=str(draft.payload["guid"]), remote_url=str(draft.payload["link"]))

    def find(self, draft: Draft, since: datetime) -> Receipt | None:
        """A feed item exists only once the ledger says sent; re-publishing is harmless."""
        return None

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
        document = self.feed_xml(sent).encode("utf-8")
        try:
            if self.path.read_bytes() == document:
                return False
        except OSError:
            pass
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.path, document)
        return True


def _item_xml(item: Mapping[str, Any]) -> str:
    html = str(item["content_html"]).replace("]]>", "]]]]><![CDATA[>")
    lines = [
        "<item>",
        f"<title>{text(item['title'])}</title>",
        f"<link>{escape(item['link'])}</link>",
        f'<guid isPermaLink="false">{escape(item["guid"])}</guid>',
        f"<pubDate>{escape(item['pub_date'])}</pubDate>",
    ]
    lines += [f"<category>{text(tag)}</category>" for tag in item.get("categories", ())]
    lines.append(f"<description>{text(item['description'])}</description>")
    lines.append(f"<content:encoded><![CDATA[{html}]]></content:encoded>")
    enclosure = item.get("enclosure")
    if enclosure:
        lines.append(
            f'<enclosure url={quoteattr(enclosure["url"])} length="{int(enclosure["length"])}" '
            f"type={quoteattr(enclosure['type'])}/>"
        )
    lines.append("</item>")
    return "\n".join(lines)


def _atomic_write(path: Path, data: bytes) -> None:
    """Temp file in the same folder, fsync, rename: readers never see half a feed."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_copy(source: Path, target: Path) -> None:
    same_size = target.exists() and target.stat().st_size == source.stat().st_size
    if same_size and target.read_bytes() == source.read_bytes():
        return
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
