"""Reminder sentences per language and offset, with dates formatted by Babel for the language."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache

from publisher.core.durations import parse_duration, to_timedelta
from publisher.core.models import Post
from publisher.core.times import zone

#: Built-in wording: an exact offset, else "hours" for s/m/h offsets, else "default".
#: Each offset gets a different sentence, since LinkedIn rejects a repeated text.
BUILT_IN: dict[str, dict[str, str]] = {
    "en": {
        "30d": "Save the date: {title}, {date} in {location}. One month to go!",
        "7d": "Next week: {title}, {date} in {location}.",
        "1d": "Tomorrow: {title} starts at {time} in {location}.",
        "hours": "Starting {when}: {title}, {time} in {location}.",
        "default": "Reminder: {title}, {date} in {location} ({when}).",
    },
    "it": {
        "30d": "Save the date: {title}, {date} a {location}. Manca un mese!",
        "7d": "La prossima settimana: {title}, {date} a {location}.",
        "1d": "Domani: {title}, inizio alle {time} a {location}.",
        "hours": "Si comincia {when}: {title}, alle {time} a {location}.",
        "default": "Promemoria: {title}, {date} a {location} ({when}).",
    },
    "de": {
        "30d": "Save the date: {title} am {date} in {location}. Noch ein Monat!",
        "7d": "Nächste Woche: {title} am {date} in {location}.",
        "1d": "Morgen: {title}, Beginn um {time} Uhr in {location}.",
        "hours": "Es geht los {when}: {title}, um {time} Uhr in {location}.",
        "default": "Erinnerung: {title} am {date} in {location} ({when}).",
    },
    "nl": {
        "30d": "Save the date: {title} op {date} in {location}. Nog een maand!",
        "7d": "Volgende week: {title} op {date} in {location}.",
        "1d": "Morgen: {title}, vanaf {time} in {location}.",
        "hours": "Het begint {when}: {title}, om {time} in {location}.",
        "default": "Herinnering: {title} op {date} in {location} ({when}).",
    },
}
PLACEHOLDERS = ("title", "date", "time", "location", "link", "when")
#: The offset's own unit, so "90m" and "2h" (or "14d" and "2w") read differently.
_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week"}


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
    }
    try:
        return template.format(**values), warnings
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        warnings.append(
            f"reminder template for {post.language}/{offset} is broken ({exc!r}); "
            f"placeholders are {{{'} {'.join(PLACEHOLDERS)}}}"
        )
        return BUILT_IN["en"]["default"].format(**values), warnings


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
    return (
        format_date(start.date(), format="long", locale=locale),
        format_time(start.timetz(), format="short", locale=locale),
        when,
    )
