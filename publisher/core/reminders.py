"""Reminder sentences per language and offset, with dates formatted by Babel for the language."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Literal

from publisher.core.durations import parse_duration, to_timedelta
from publisher.core.models import Event, Post
from publisher.core.times import zone

#: Built-in wording: an exact offset, else "hours" for s/m/h offsets, else "default".
#: Each offset gets a different sentence, since LinkedIn rejects a repeated text.  The title
#: is the subject of each sentence (a title with a colon never follows a "Label:" prefix), and
#: ``{where}`` says in-person, online or hybrid in the language (see ``WHERE``).
BUILT_IN: dict[str, dict[str, str]] = {
    "en": {
        "30d": "One month to go! {title} takes place on {date} at {time} {where}.",
        "7d": "{title} takes place next week, on {date} at {time} {where}.",
        "1d": "{title} starts tomorrow at {time} {where}. See you there!",
        "hours": "{title} starts {when}, at {time} {where}.",
        "default": "{title} takes place {when}, on {date} at {time} {where}.",
    },
    "it": {
        "30d": "Manca un mese! {title} si terrà il {date} alle {time} {where}.",
        "7d": "{title} si terrà la prossima settimana: il {date} alle {time} {where}.",
        "1d": "{title} inizia domani alle {time} {where}. Vi aspettiamo!",
        "hours": "{title} inizia {when}, alle {time} {where}.",
        "default": "{title} si terrà {when}: il {date} alle {time} {where}.",
    },
    "de": {
        "30d": "Noch ein Monat! {title} findet am {date} um {time} {where} statt.",
        "7d": "{title} findet nächste Woche statt: am {date} um {time} {where}.",
        "1d": "{title} beginnt morgen um {time} {where}. Wir freuen uns auf Sie!",
        "hours": "{title} beginnt {when}, um {time} {where}.",
        "default": "{title} findet {when} statt: am {date} um {time} {where}.",
    },
    "nl": {
        "30d": "Nog één maand! {title} vindt plaats op {date} om {time} {where}.",
        "7d": "{title} is volgende week: op {date} om {time} {where}.",
        "1d": "{title} begint morgen om {time} {where}. Tot dan!",
        "hours": "{title} begint {when}, om {time} {where}.",
        "default": "{title} vindt {when} plaats: op {date} om {time} {where}.",
    },
}
#: Where the event is, per language: in person, online (with or without its URL), or both.
WHERE: dict[str, dict[str, str]] = {
    "en": {
        "in_person": "in {location}",
        "online": "{online} at {online_url}",
        "online_no_url": "{online}",
        "hybrid": "in {location} and {online} at {online_url}",
    },
    "it": {
        "in_person": "a {location}",
        "online": "{online} al link {online_url}",
        "online_no_url": "{online}",
        "hybrid": "a {location} e {online} al link {online_url}",
    },
    "de": {
        "in_person": "in {location}",
        "online": "{online} unter {online_url}",
        "online_no_url": "{online}",
        "hybrid": "in {location} und {online} unter {online_url}",
    },
    "nl": {
        "in_person": "in {location}",
        "online": "{online} via {online_url}",
        "online_no_url": "{online}",
        "hybrid": "in {location} en {online} via {online_url}",
    },
}
PLACEHOLDERS = ("title", "date", "time", "location", "link", "when", "where", "online_url")
#: The offset's own unit, so "90m" and "2h" (or "14d" and "2w") read differently.
_UNITS: dict[str, Literal["second", "minute", "hour", "day", "week"]] = {
    "s": "second",
    "m": "minute",
    "h": "hour",
    "d": "day",
    "w": "week",
}


def template_problem(template: str) -> str | None:
    """Why a reminder template cannot be filled, or None; lets ``check`` catch it early."""
    from string import Formatter

    try:
        fields = [name for _, name, _, _ in Formatter().parse(template) if name is not None]
    except ValueError as exc:
        return f"{exc} (write {{{{ and }}}} for literal braces)"
    for name in fields:
        if name not in PLACEHOLDERS:
            return f"unknown placeholder {{{name}}}; use {' '.join('{' + p + '}' for p in PLACEHOLDERS)}"
    return None


def template_for(
    language: str, offset: str, custom: Mapping[str, Mapping[str, str]]
) -> tuple[str, bool]:
    """The template for an offset, and whether it is in the language (else English wording)."""
    _, unit = parse_duration(offset)
    category = "hours" if unit in ("s", "m", "h") else "default"
    base = language.split("-")[0]
    for lang in (language, base):
        own = custom.get(lang, {})
        if offset in own:
            return own[offset], True
        if offset in BUILT_IN.get(lang, {}):
            return BUILT_IN[lang][offset], True
        if "default" in own:
            return own["default"], True
        if lang in BUILT_IN:
            return BUILT_IN[lang][category], True
    return BUILT_IN["en"].get(offset, BUILT_IN["en"][category]), False


def babel_locale(language: str) -> str:
    """``pt-BR`` -> ``pt_BR``, the form Babel wants."""
    return language.replace("-", "_")


def reminder_text(
    post: Post, offset: str, custom: Mapping[str, Mapping[str, str]]
) -> tuple[str, list[str]]:
    """The reminder sentence for a post's event; warnings for missing wording or bad templates."""
    assert post.event is not None
    warnings: list[str] = []
    template, native = template_for(post.language, offset, custom)
    if not native:
        warnings.append(
            f"no reminder wording for language {post.language!r}; using English "
            f"(add [reminders.templates.{post.language}] to the config)"
        )
    locale = babel_locale(post.language)
    if not _known_locale(locale):
        warnings.append(f"Babel has no locale {locale!r}; dates are in English")
        locale = "en"
    start = post.event.start.astimezone(zone(post.timezone))
    date_text, time_text, when = _formatted(start, offset, locale, locale if native else "en")
    values = {
        "title": post.title,
        "date": date_text,
        "time": time_text,
        "location": post.event.location or post.event.online_url or "online",
        "link": post.link,
        "when": when,
        "online_url": post.event.online_url,
        "where": where(post.event, post.language if native else "en"),
    }
    try:
        return _tidy(template.format(**values)), warnings
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        warnings.append(
            f"reminder template for {post.language}/{offset} is broken ({exc!r}); "
            f"placeholders are {{{'} {'.join(PLACEHOLDERS)}}}"
        )
        return BUILT_IN["en"]["default"].format(**values), warnings


def event_kind(event: Event) -> str:
    """in_person, online or hybrid: a location that starts with "online" is no place."""
    place = event.location.strip()
    if place and not place.lower().startswith("online"):
        return "hybrid" if event.online_url else "in_person"
    return "online" if event.online_url else "online_no_url"


def where(event: Event, language: str) -> str:
    """The event's place in words of the language; empty when it names none at all."""
    kind = event_kind(event)
    if kind == "online_no_url" and not event.location.strip():
        return ""
    phrases = WHERE.get(language) or WHERE.get(language.split("-")[0]) or WHERE["en"]
    place = event.location.strip()
    online = place[0].lower() + place[1:] if place.lower().startswith("online") else "online"
    return phrases[kind].format(location=place, online_url=event.online_url, online=online)


def _tidy(text: str) -> str:
    """No space before punctuation or doubled spaces where a placeholder was empty."""
    import re

    return re.sub(r" {2,}", " ", re.sub(r" +([.,:;!?])(?=\s|$)", r"\1", text)).strip()


@lru_cache(maxsize=64)
def _known_locale(locale: str) -> bool:
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(locale)
    except (ValueError, UnknownLocaleError):
        return False
    return True


@lru_cache(maxsize=4096)
def _formatted(start: datetime, offset: str, locale: str, when_locale: str) -> tuple[str, str, str]:
    """The event's date, time and the offset as words; cached, as each channel asks again."""
    from babel.dates import format_date, format_time, format_timedelta

    _, unit = parse_duration(offset)
    when = format_timedelta(
        to_timedelta(offset),
        granularity=_UNITS[unit],
        threshold=float("inf"),
        add_direction=True,
        locale=when_locale,
    )
    zone_name = format_time(start, "z", locale=locale)
    if zone_name[:1] in "+-" or zone_name.startswith("GMT"):
        zone_name = start.strftime("%Z")  # e.g. English has no short name for Europe's zones
    return (
        format_date(start.date(), format="long", locale=locale),
        f"{format_time(start.timetz(), format='short', locale=locale)} {zone_name}",
        when,
    )
