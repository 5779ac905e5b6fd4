"""``preview --format html``: one self-contained page showing each delivery as its audience will.

The page is built from the same preview entries as ``--format json`` (so from the same drafts
that will be sent).  Each card is drawn by ``templates/cards/<channel type>.html`` when the
package has one, else by the generic card, so this module names no channel type: a plugin
type previews through the generic card.  Jinja2 autoescapes everything; the only HTML taken
from a post file is the RSS content, cleaned again here.  Images are ``data:`` URIs and styles
are inline, so no request leaves the page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import Environment

    from publisher.app.preview import Entry
    from publisher.channels.base import Channel
    from publisher.core.config import ChannelConfig, Config

_SAFE_TYPE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_IMG = re.compile(r"<img\b[^>]*>")
_ATTR = re.compile(r"""\b([\w-]+)=(["'])(.*?)\2""")


@dataclass
class Card:
    """One delivery as a card: its entry, its channel, and the links to its relatives."""

    n: int
    entry: Entry
    channel: ChannelConfig
    limit: int | None
    local: datetime
    text: str
    account: str
    #: The text's length as its network counts it (Mastodon: each URL as 23).
    length: int = 0
    translations: list[Card] = field(default_factory=list)
    announcement: Card | None = None

    @property
    def anchor(self) -> str:
        return f"d{self.n}"

    @property
    def delivery(self) -> Any:
        return self.entry.delivery

    @property
    def payload(self) -> Mapping[str, Any]:
        return self.entry.payload


@dataclass
class Group:
    """The cards of one post (all its languages and channels) due at the same minute."""

    local: datetime
    kind: str
    cards: list[Card]

    @property
    def titles(self) -> list[str]:
        return list(dict.fromkeys(c.delivery.post.title for c in self.cards))


@dataclass
class Day:
    local: datetime
    groups: list[Group]

    @property
    def anchor(self) -> str:
        return f"day-{self.local:%Y-%m-%d}"

    @property
    def count(self) -> int:
        return sum(len(g.cards) for g in self.groups)


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja2 environment: templates shipped in the package, autoescape always on."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    from publisher.app import page_text

    env = Environment(
        loader=PackageLoader("publisher", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        reader_text=page_text.reader_text, initials=page_text.initials, domain=page_text.domain
    )
    env.filters["feed_html"] = feed_content
    env.filters["pretty_json"] = pretty_json
    env.filters["href"] = href
    env.filters["event_when"] = event_when
    env.filters["event_start"] = event_start
    return env


def href(url: Any) -> str:
    """A link target only when it is http(s) or mailto: a ledger row is not trusted to be."""
    from urllib.parse import urlsplit

    from publisher.core.render import SAFE_SCHEMES

    text = str(url or "")
    return text if urlsplit(text).scheme.lower() in SAFE_SCHEMES else "#"


def pretty_json(value: Any) -> str:
    """A payload as indented JSON text (escaped by the template like any other text)."""
    import json

    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def event_start(entry: Mapping[str, Any]) -> datetime | None:
    """A calendar entry's start as a local wall time (None when the entry has none)."""
    try:
        return datetime.fromisoformat(str(entry["start"]))
    except (KeyError, ValueError):
        return None


def event_when(entry: Mapping[str, Any]) -> str:
    """A calendar entry's start and end as a calendar app lists them, in the entry's own zone."""
    from publisher.core.times import zone

    try:
        tz = zone(str(entry["tzid"]))
        start = datetime.fromisoformat(str(entry["start"])).replace(tzinfo=tz)
        end = (
            datetime.fromisoformat(str(entry["end"])).replace(tzinfo=tz)
            if entry.get("end")
            else None
        )
    except (KeyError, ValueError):
        return ""
    first = start.strftime("%a %-d %b %Y, %H:%M")
    if end is None:
        return f"{first} {start:%Z}"
    if end.date() == start.date():
        return f"{first} – {end:%H:%M %Z}"
    return f"{first} {start:%Z} – {end:%a %-d %b %Y, %H:%M %Z}"


def feed_content(html: str, shown: str | None = None) -> Any:
    """A feed item's HTML as a reader shows it: cleaned again, images named by their alt text.

    Remote images inside the content are not loaded (no request may leave the page); the one
    at ``shown`` (the enclosure, which the card already shows as a photo) is left out.
    """
    import html as entities

    import nh3
    from markupsafe import Markup

    from publisher.core.render import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, SAFE_SCHEMES

    def named(match: re.Match[str]) -> str:
        attrs = {k.lower(): entities.unescape(v) for k, _, v in _ATTR.findall(match.group(0))}
        if shown and attrs.get("src") == shown:
            return ""
        return f"[image: {attrs.get('alt', '')}]"

    html = _IMG.sub(named, str(html))
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS - {"img"},
        attributes={k: v for k, v in ALLOWED_ATTRIBUTES.items() if k != "img"},
        url_schemes=SAFE_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return Markup(cleaned)


def cards(
    items: Sequence[Entry],
    channels: Mapping[str, Channel],
    config: Config,
) -> list[Card]:
    """A card per entry, with its translations and (for a reminder) its announcement linked."""
    from publisher.core.times import zone

    tz = zone(config.timezone)
    out: list[Card] = []
    for n, item in enumerate(items, 1):
        d = item.delivery
        cfg = config.channels[d.channel]
        options = cfg.options
        account = str(
            options.get("display_name") or options.get("title") or options.get("name") or cfg.name
        )
        limit = getattr(channels.get(d.channel), "limit", None)
        rule = getattr(channels.get(d.channel), "text_length", None) or len
        length = rule(item.text)
        out.append(Card(n, item, cfg, limit, d.due_at.astimezone(tz), item.text, account, length))
    by_post: dict[tuple[str, str, str], list[Card]] = {}
    announcements: dict[tuple[str, str, str], Card] = {}
    for card in out:
        d = card.delivery
        by_post.setdefault((d.post.id, d.channel, d.kind), []).append(card)
        by_post.setdefault((d.post.id, "*", d.kind), []).append(card)
        if not d.is_reminder:
            announcements.setdefault((d.post.id, d.language, d.channel), card)
    for card in out:
        d = card.delivery
        same = by_post[(d.post.id, "*", d.kind)]
        card.translations = [c for c in same if c.delivery.language != d.language]
        if d.is_reminder:
            card.announcement = announcements.get((d.post.id, d.language, d.channel))
    return out


def days(all_cards: Sequence[Card]) -> list[Day]:
    """Cards grouped by local day, then by post and minute, in time order."""
    out: dict[str, Day] = {}
    groups: dict[tuple[str, str, str], Group] = {}
    for card in sorted(all_cards, key=lambda c: (c.local, c.delivery.post.id, c.n)):
        d = card.delivery
        day = out.setdefault(f"{card.local:%Y-%m-%d}", Day(card.local, []))
        key = (f"{card.local:%Y-%m-%d %H:%M}", d.post.id, d.kind)
        if key not in groups:
            groups[key] = Group(card.local, d.kind, [])
            day.groups.append(groups[key])
        groups[key].cards.append(card)
    return list(out.values())


def card_template(env: Environment, channel_type: str) -> Any:
    """``cards/<type>.html`` when the package has one, else the generic card."""
    names = ["cards/generic.html"]
    if _SAFE_TYPE.match(channel_type):
        names.insert(0, f"cards/{channel_type}.html")
    return env.select_template(names)


def render_page(
    items: Sequence[Entry],
    channels: Mapping[str, Channel],
    config: Config,
    now: datetime,
    *,
    window: tuple[datetime | None, datetime | None] = (None, None),
) -> str:
    """The whole page as one HTML5 string; pure apart from reading the images it embeds."""
    from publisher.app.page_images import ImageTable
    from publisher.core.times import zone

    env = environment()
    tz = zone(config.timezone)
    images = ImageTable()
    all_cards = cards(items, channels, config)
    templates: dict[str, Any] = {}
    html: dict[int, str] = {}
    for card in all_cards:
        kind = card.channel.type
        if kind not in templates:
            templates[kind] = card_template(env, kind)
        html[card.n] = templates[kind].render(card=card, image=images.get)
    states: dict[str, int] = {}
    for item in items:
        states[item.state] = states.get(item.state, 0) + 1
    return env.get_template("page.html").render(
        days=days(all_cards),
        html=html,
        images=list(images.images.values()),
        states=states,
        total=len(all_cards),
        now=now.astimezone(tz),
        start=window[0].astimezone(tz) if window[0] else None,
        until=window[1].astimezone(tz) if window[1] else None,
        warned=sum(1 for i in items if i.warnings),
        zone_name=config.timezone,
    )
