"""A fetched feed's items, as feedparser reads them, and each one's post file (pure functions)."""

from __future__ import annotations

import calendar
import hashlib
import html
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from publisher.app.feed_fetch import Fetched, SourceError

_HTML_PAGE = re.compile(rb"^\s*(<!--.*?-->\s*)*(<!doctype html|<html)", re.I | re.S)
_ALTERNATE = re.compile(rb"<link[^>]+type=[\"']application/(?:rss|atom)\+xml[\"'][^>]*>", re.I)
_HREF = re.compile(rb"href=[\"']([^\"']+)[\"']", re.I)
_IMAGE_SUFFIX = re.compile(r"\.(jpe?g|png|gif)(\?|$)", re.I)
_LINK = re.compile(r"^https?://[^\s/]+(:\d+)?(/\S*)?$")
_SENTENCE = re.compile(r"^(.+?[.!?])(\s|$)", re.S)
#: Tags and attributes kept in an item's text; everything else is dropped by nh3.
_TAGS = {
    "a",
    "b",
    "strong",
    "i",
    "em",
    "p",
    "br",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "img",
    "figure",
    "figcaption",
}
_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt"}}


@dataclass(frozen=True)
class Item:
    """One feed entry, reduced to what a post file needs."""

    identity: str
    key: str
    title: str
    link: str
    published: datetime | None
    tags: tuple[str, ...]
    html: str
    image_url: str | None
    position: int


def item_key(identity: str) -> str:
    """The first 12 hex digits of the SHA-256 of the item's identity (DESIGN §10)."""
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:12]


def parse_feed(fetched: Fetched, what: str) -> list[Item]:
    """The items of a fetched feed; ``SourceError`` when it is a web page or unreadable."""
    import feedparser

    headers = {k.lower(): v for k, v in fetched.headers.items()}
    headers["content-location"] = fetched.url
    parsed = feedparser.parse(fetched.body, response_headers=headers)
    if not parsed.entries and (parsed.bozo or not parsed.version):
        if _HTML_PAGE.match(fetched.body[:2048]) or "html" in headers.get("content-type", ""):
            raise SourceError(
                f"{what}: {fetched.url} is a web page, not a feed", _feed_hint(fetched)
            )
        reason = str(parsed.get("bozo_exception", "no items")).splitlines()[0][:200]
        raise SourceError(
            f"{what}: {fetched.url} is not a readable feed ({reason})",
            "open the address in a browser: it should show RSS or Atom XML; "
            "ask the site's maintainer if it is broken",
        )
    base = parsed.feed.get("link") or fetched.url
    return [_item(entry, n, base) for n, entry in enumerate(parsed.entries)]


def _feed_hint(fetched: Fetched) -> str:
    match = _ALTERNATE.search(fetched.body[:200_000])
    href = _HREF.search(match.group(0)) if match else None
    if href:
        found = urljoin(fetched.url, html.unescape(href.group(1).decode("utf-8", "replace")))
        return f"the page names its feed: set url = {found!r}"
    return "set url to the site's RSS or Atom feed (often .../feed or .../rss.xml)"


def _item(entry: Any, position: int, base: str) -> Item:
    link = urljoin(base, entry.get("link", "")) if entry.get("link") else ""
    published = _when(entry)
    text = _text(entry)
    title = _plain(entry.get("title", ""))
    if entry.get("id"):
        identity = str(entry["id"])
    elif link:
        identity = link
    else:
        # An untitled item's title is its text's first sentence: the whole text tells it apart.
        words = title or _plain(text)
        identity = "title+date:" + json.dumps(
            [words, entry.get("published") or entry.get("updated") or ""], ensure_ascii=False
        )
    return Item(
        identity=identity,
        key=item_key(identity),
        title=title,
        link=link,
        published=published,
        tags=_tags(entry),
        html=text,
        image_url=_image(entry, link or base),
        position=position,
    )


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (TypeError, ValueError, OverflowError, OSError):
                continue
    return None


def _text(entry: Any) -> str:
    for content in entry.get("content", []):
        if content.get("value") and "html" in content.get("type", "text/html"):
            return str(content["value"])
    for content in entry.get("content", []):
        if content.get("value"):
            return html.escape(str(content["value"]))
    detail = entry.get("summary_detail") or {}
    summary = str(entry.get("summary", ""))
    return summary if "html" in detail.get("type", "text/html") else html.escape(summary)


def _plain(fragment: str) -> str:
    import nh3

    return " ".join(html.unescape(nh3.clean(fragment, tags=set())).split())


def _tags(entry: Any) -> tuple[str, ...]:
    """Each category's last ``/`` segment, letters and digits only (DESIGN §10)."""
    out: dict[str, str] = {}
    for tag in entry.get("tags", []):
        term = html.unescape(str(tag.get("term") or tag.get("label") or "")).rstrip("/")
        word = "".join(ch for ch in term.rsplit("/", 1)[-1] if ch.isalnum())
        if word:
            out.setdefault(word.casefold(), word)
    return tuple(out.values())


def _image(entry: Any, base: str) -> str | None:
    for enclosure in entry.get("enclosures", []):
        href = enclosure.get("href", "")
        kind = enclosure.get("type", "")
        if href and (kind.startswith("image/") or (not kind and _IMAGE_SUFFIX.search(href))):
            return urljoin(base, href)
    for media in entry.get("media_content", []):
        href = media.get("url", "")
        kind = media.get("type", "")
        if href and (
            media.get("medium") == "image"
            or kind.startswith("image/")
            or (not kind and not media.get("medium") and _IMAGE_SUFFIX.search(href))
        ):
            return urljoin(base, href)
    for thumb in entry.get("media_thumbnail", []):
        if thumb.get("url"):
            return urljoin(base, thumb["url"])
    return None


# -- the post file ------------------------------------------------------------------------
def markdown(fragment: str, base: str) -> str:
    """The item's HTML, sanitized (nh3) with links made absolute, as Markdown."""
    import nh3
    from markdownify import markdownify

    def absolute(tag: str, attribute: str, value: str) -> str | None:
        if attribute in ("href", "src"):
            joined = urljoin(base, value.strip())
            return joined if joined.startswith(("http://", "https://", "mailto:")) else None
        return value

    clean = nh3.clean(
        fragment, tags=_TAGS, attributes=_ATTRIBUTES, link_rel=None, attribute_filter=absolute
    )
    text = markdownify(clean, heading_style="ATX", bullets="-", strip=["img"])
    lines = [line.rstrip() for line in text.strip().splitlines()]
    lines = ["\\+++" if line.strip() == "+++" else line for line in lines]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def title_of(item: Item, body: str) -> str:
    """The item's title, else its text's first sentence, shortened to 100 characters."""
    if item.title:
        return item.title
    plain = " ".join(re.sub(r"[*_`#>\[\]]|\(https?://[^)]*\)", "", body).split())
    match = _SENTENCE.match(plain)
    sentence = match.group(1) if match else plain
    return sentence if len(sentence) <= 100 else sentence[:99].rstrip() + "…"


def slug(title: str, fallback: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return words[:60].rstrip("-") or fallback


@dataclass(frozen=True)
class PostFile:
    """What an imported item becomes: a file name (without folder) and its text."""

    stem: str
    text: str
    publish_at: datetime
    title: str


def post_file(
    item: Item,
    *,
    source: Any,
    found_at: datetime,
    timezone: str,
    image: str | None = None,
) -> PostFile:
    """The post file for ``item`` from ``source`` (a ``SourceConfig``), found at ``found_at``."""
    from publisher.core.times import zone

    body = markdown(item.html, item.link or source.url)
    title = title_of(item, body)
    first, _, rest = body.partition("\n\n")
    if rest and " ".join(first.split()) == title:  # Drupal's RSS view mode repeats the title
        body = rest
    when = found_at + source.delay if source.mode == "publish" else item.published or found_at
    local = when.astimezone(zone(timezone)).replace(microsecond=0)
    spelled: dict[str, str] = {}
    for tag in (*item.tags, *source.tags):
        spelled.setdefault(tag.casefold(), tag)
    tags = tuple(spelled.values())
    lines = [
        "+++",
        f"id = {_toml(f'{source.name}/{item.key}')}",
        f"title = {_toml(title)}",
        f"publish_at = {local.isoformat()}",
        f"channels = [{', '.join(_toml(c) for c in source.channels)}]",
    ]
    if _LINK.match(item.link):  # the post reader takes only a full http(s) URL
        lines.append(f"link = {_toml(item.link)}")
    if image:
        lines += [f"image = {_toml(image)}", f"image_alt = {_toml(title)}"]
    if tags:
        lines.append(f"tags = [{', '.join(_toml(t) for t in tags)}]")
    if source.mode == "review":
        lines.append("draft = true")
    where = item.link if _LINK.match(item.link) else source.url
    lines += [
        f"# imported from {source.name} ({_oneline(where)})",
        f"# at {found_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        "+++",
    ]
    stem = f"{local:%Y-%m-%d}-{slug(title, item.key)}"
    return PostFile(stem, "\n".join(lines) + "\n" + (body + "\n" if body else ""), local, title)


def _toml(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, except DEL, escaped here too)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _oneline(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)
