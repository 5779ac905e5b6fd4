"""Pure rendering: Markdown to plain text for social channels and to sanitized HTML for feeds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

    from publisher.core.config import ChannelConfig, Config
    from publisher.core.models import Delivery

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}
SAFE_SCHEMES = {"http", "https", "mailto"}
_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol"}


@dataclass(frozen=True)
class Effective:
    """A post as one channel sees it, after that channel's override table."""

    title: str
    link: str
    image: Path | None
    image_alt: str


def effective(delivery: Delivery, cfg: ChannelConfig) -> Effective:
    """Apply the post's override table for this channel (by name, else by type)."""
    post = delivery.post
    over = post.override(cfg.name, cfg.type)
    return Effective(
        title=post.title,
        link=over.link if over.link is not None else post.link,
        image=over.image if over.image is not None else post.image,
        image_alt=over.image_alt if over.image_alt is not None else post.image_alt,
    )


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("strikethrough")


@lru_cache(maxsize=1024)
def markdown_html(text: str) -> str:
    """Markdown to raw (unsanitized) HTML; cached, as each channel of a post renders its body."""
    return _markdown().render(text)


class _TextMaker(HTMLParser):
    """Turns rendered HTML into plain text: links as ``text (URL)``, tags dropped."""

    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.out: list[str] = []
        self.links: list[tuple[str, int]] = []
        self.skip = 0
        self.relative: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in _BLOCKS:
            self._paragraph()
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self._newline()
            self.out.append("- ")
        elif tag == "a":
            self.links.append((self._absolute(values.get("href") or ""), len(self.out)))
        elif tag == "img" and values.get("alt"):
            self.out.append(values["alt"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCKS:
            self._paragraph()
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.out[start:]).strip()
            if href and href != label and href != f"mailto:{label}":
                self.out.append(f" ({href})" if label else href)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if data.isspace() and "\n" in data:
            self._newline()
        else:
            self.out.append(data)

    def _paragraph(self) -> None:
        self.out.append("\n\n")

    def _newline(self) -> None:
        if self.out and not self.out[-1].endswith("\n"):
            self.out.append("\n")

    def _absolute(self, href: str) -> str:
        if not href or urlsplit(href).scheme:
            return href if urlsplit(href).scheme in SAFE_SCHEMES or not href else ""
        if self.base:
            return urljoin(self.base, href)
        self.relative.append(href)
        return href

    def text(self) -> str:
        joined = "".join(self.out)
        lines = [re.sub(r"[ \t]+", " ", line).strip() for line in joined.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def markdown_text(text: str, base: str = "") -> tuple[str, list[str]]:
    """Markdown to plain text with absolute links; warns about links it cannot make absolute."""
    plain, warnings = _markdown_text(text, base)
    return plain, list(warnings)


@lru_cache(maxsize=1024)
def _markdown_text(text: str, base: str) -> tuple[str, tuple[str, ...]]:
    """``markdown_text``, cached (immutable result): a post's channels share one conversion."""
    maker = _TextMaker(base)
    maker.feed(markdown_html(text))
    maker.close()
    warnings = [
        f"relative link {href!r} cannot be made absolute: give the post a `link` or write the full URL"
        for href in maker.relative
    ]
    return maker.text(), tuple(warnings)


def hashtags(tags: tuple[str, ...] | list[str]) -> list[str]:
    """``#`` plus the tag's letters and digits: the hashtags the program itself generates."""
    out = []
    for tag in tags:
        word = "".join(ch for ch in tag if ch.isalnum())
        if word and f"#{word}" not in out:
            out.append(f"#{word}")
    return out


@dataclass(frozen=True)
class SocialText:
    """A social post's text in its parts: the main text, the generated hashtags, the link."""

    main: str
    tags: str
    link: str
    warnings: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(part for part in (self.main, self.tags, self.link) if part)


def social_parts(
    delivery: Delivery, cfg: ChannelConfig, config: Config, *, link_in_payload: bool
) -> SocialText:
    """The plain text a social channel sends: override or title + body, tags, then the link."""
    from publisher.core.reminders import reminder_text

    post = delivery.post
    view = effective(delivery, cfg)
    warnings: list[str] = []
    if delivery.offset is not None:
        main, warnings = reminder_text(post, delivery.offset, config.templates)
    else:
        override = post.override(cfg.name, cfg.type).text
        if override is not None:
            main = override.strip()
        else:
            body, warnings = markdown_text(post.body, view.link)
            main = f"{post.title}\n\n{body}".strip() if body else post.title
    link = view.link if view.link and not link_in_payload and not _mentions(main, view.link) else ""
    return SocialText(main, " ".join(hashtags(post.tags)), link, tuple(warnings))


def social_text(
    delivery: Delivery, cfg: ChannelConfig, config: Config, *, link_in_payload: bool
) -> tuple[str, list[str]]:
    """The plain text a social channel sends, and the warnings rendering it raised."""
    parts = social_parts(delivery, cfg, config, link_in_payload=link_in_payload)
    return parts.text, list(parts.warnings)


def length_bound(
    delivery: Delivery, cfg: ChannelConfig, config: Config, reserved: str = ""
) -> int | None:
    """A cheap upper bound on the length of ``social_text``, or None when only rendering tells.

    Plain text is never longer than its Markdown source, except where a relative link gets
    the post's link in front of it; reference links (``[x][ref]``) may repeat a URL, so
    they need a real render.  With ``reserved`` (characters a channel escapes with one more
    character each), the bound covers the escaped text.  ``check`` renders only posts this
    bound cannot clear.  Each text is weighed once per run (``text_weight``), so a post's
    channels and reminders share one pass over its body.
    """
    post = delivery.post
    view = effective(delivery, cfg)
    base = text_weight(view.link, reserved) + 2
    tags = sum(len(tag) + 2 for tag in post.tags) + 2
    if delivery.offset is not None:
        if config.templates:  # custom wording may repeat a placeholder: render to know
            return None
        event = post.event  # built-in wording: each placeholder at most once, < 120 characters
        where = (
            text_weight(event.location, reserved) + text_weight(event.online_url, reserved) + 60
            if event
            else 10
        )
        main = 2 * 120 + text_weight(post.title, reserved) + where
        main += text_weight(post.link, reserved) + 160
    else:
        override = post.override(cfg.name, cfg.type).text
        if override is not None:
            main = text_weight(override, reserved)
        else:
            links = _links(post.body)
            if links is None:
                return None
            main = text_weight(post.title, reserved) + 2 + text_weight(post.body, reserved)
            main += links * (base + 4)
    return main + tags + base


@lru_cache(maxsize=8192)
def text_weight(text: str, reserved: str = "") -> int:
    """The length of ``text`` once each ``reserved`` character is escaped: one regex pass."""
    if not reserved or not text:
        return len(text)
    return len(text) + len(_reserved_re(reserved).findall(text))


@lru_cache(maxsize=16)
def _reserved_re(reserved: str) -> re.Pattern[str]:
    return re.compile("[" + re.escape(reserved) + "]")


@lru_cache(maxsize=4096)
def _links(body: str) -> int | None:
    """How many links may get the post's link in front; None for reference links (render)."""
    if "]:" in body or "][" in body:
        return None
    return body.count("](") + body.count("href=") + body.count("src=")


def _mentions(text: str, url: str) -> bool:
    """True when ``url`` stands in ``text`` as a whole URL, not as the start of a longer one.

    A link written in the body (``[website](URL)``, plain text ``website (URL)``) counts, so
    the same URL is never appended a second time.
    """
    return re.search(rf"(?<![^\s(<\[]){re.escape(url)}(?=[\s).,;:!?>\]]|$)", text) is not None


def _absolute_attribute(base: str) -> Any:
    def fix(tag: str, attribute: str, value: str) -> str | None:
        if attribute in ("href", "src"):
            scheme = urlsplit(value).scheme
            if scheme and scheme not in SAFE_SCHEMES:
                return None
            return urljoin(base, value) if base and not scheme else value
        return value

    return fix


def feed_html(text: str, base: str) -> str:
    """Markdown to HTML safe for a feed: no scripts, handlers or javascript: URLs; links absolute."""
    import nh3

    return nh3.clean(
        markdown_html(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=SAFE_SCHEMES,
        attribute_filter=_absolute_attribute(base),
        link_rel=None,
        strip_comments=True,
    ).strip()
