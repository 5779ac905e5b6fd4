"""Reminder sentences: in the post's language, dates written the local way, one sentence per offset."""

from __future__ import annotations

import pytest

from publisher.core.config import Config
from publisher.core.models import Post
from publisher.core.reminders import reminder_text

try:
    from helpers import EVENT, Site, config_text, make_site
except ImportError:  # tests/ run as a package
    from tests.helpers import EVENT, Site, config_text, make_site

LANGUAGES = '["en", "it", "de", "nl", "de-AT", "sv", "xx"]'
TITLE = "S3Chem final conference in Maastricht"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return make_site(tmp_path_factory.mktemp("rem"), config_text(languages=LANGUAGES))


@pytest.fixture(scope="module")
def config(folder: Site) -> Config:
    return folder.config()


def event_post(folder: Site, language: str, front: str = EVENT) -> Post:
    name = f"conf.{language}.md"
    folder.post(name, front)
    return folder.read(name)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", f"Next week: {TITLE}, June 17, 2027 in Maastricht, NL."),
        ("it", f"La prossima settimana: {TITLE}, 17 giugno 2027 a Maastricht, NL."),
        ("de", f"Nächste Woche: {TITLE} am 17. Juni 2027 in Maastricht, NL."),
        ("nl", f"Volgende week: {TITLE} op 17 juni 2027 in Maastricht, NL."),
    ],
)
def test_built_in_wording_with_dates_written_for_the_language(
    folder: Site, language: str, expected: str
) -> None:
    text, warnings = reminder_text(event_post(folder, language), "7d", {})
    assert (text, warnings) == (expected, [])


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("it", f"Domani: {TITLE}, inizio alle 09:00 a Maastricht, NL."),
        ("de", f"Morgen: {TITLE}, Beginn um 09:00 Uhr in Maastricht, NL."),
        ("nl", f"Morgen: {TITLE}, vanaf 09:00 in Maastricht, NL."),
    ],
)
def test_times_are_written_for_the_language(folder: Site, language: str, expected: str) -> None:
    assert reminder_text(event_post(folder, language), "1d", {})[0] == expected


def test_a_regional_language_uses_its_base_languages_wording(folder: Site) -> None:
    text, warnings = reminder_text(event_post(folder, "de-AT"), "7d", {})
    assert text == f"Nächste Woche: {TITLE} am 17. Juni 2027 in Maastricht, NL."
    assert warnings == []


@pytest.mark.parametrize("language", ["en", "it", "de", "nl"])
def test_each_offset_of_one_event_gets_a_different_sentence(folder: Site, language: str) -> None:
    post = event_post(folder, language)
    offsets = ["30d", "7d", "1d", "2h", "3d", "10d", "1h", "45m", "2d", "12h"]
    texts = [reminder_text(post, offset, {})[0] for offset in offsets]
    assert len(set(texts)) == len(texts), texts


@pytest.mark.parametrize("pair", [("90m", "2h"), ("14d", "2w"), ("45d", "60d")])
@pytest.mark.parametrize("language", ["en", "it", "de", "nl"])
def test_offsets_babel_rounds_alike_still_get_different_sentences(
    folder: Site, language: str, pair: tuple[str, str]
) -> None:
    post = event_post(folder, language)
    first, second = (reminder_text(post, offset, {})[0] for offset in pair)
    assert first != second


def test_a_configured_template_replaces_the_built_in_one(folder: Site) -> None:
    custom = {"it": {"7d": "Tra una settimana: {title} ({date}, {time})"}}
    text, warnings = reminder_text(event_post(folder, "it"), "7d", custom)
    assert text == f"Tra una settimana: {TITLE} (17 giugno 2027, 09:00)"
    assert warnings == []
    assert reminder_text(event_post(folder, "it"), "1d", custom)[0].startswith("Domani:")


def test_an_unknown_language_falls_back_to_english_with_a_warning(folder: Site) -> None:
    text, warnings = reminder_text(event_post(folder, "sv"), "7d", {})
    assert text.startswith(f"Next week: {TITLE}, ")
    assert any("no reminder wording for language 'sv'" in w for w in warnings)


def test_the_english_fallback_is_english_throughout(folder: Site) -> None:
    text, _ = reminder_text(event_post(folder, "sv"), "2h", {})
    assert text.startswith("Starting in 2 hours: ")


@pytest.mark.parametrize("template", ["{nope} {title}", "{title", "{0}", "{date:%Y}"])
def test_a_broken_template_is_a_warning_not_a_crash(folder: Site, template: str) -> None:
    text, warnings = reminder_text(event_post(folder, "it"), "7d", {"it": {"7d": template}})
    assert TITLE in text and "17 giugno 2027" in text
    assert any("reminder template for it/7d is broken" in w for w in warnings)


def test_an_attribute_in_a_template_is_a_warning_not_a_crash(folder: Site) -> None:
    text, warnings = reminder_text(event_post(folder, "it"), "7d", {"it": {"7d": "{title.x}"}})
    assert TITLE in text and warnings


def test_the_location_falls_back_to_the_online_url_then_online(folder: Site) -> None:
    online = EVENT.replace('location = "Maastricht, NL"', 'online_url = "https://example.org/live"')
    assert (
        "in https://example.org/live."
        in reminder_text(event_post(folder, "en", online), "7d", {})[0]
    )
    nowhere = EVENT.replace('location = "Maastricht, NL"', "")
    assert reminder_text(event_post(folder, "en", nowhere), "7d", {})[0].endswith("in online.")


def test_the_reminder_shows_the_start_in_the_posts_timezone(folder: Site) -> None:
    front = 'timezone = "Europe/Amsterdam"\n' + EVENT.replace(
        "start = 2027-06-17T09:00:00", "start = 2027-06-16T22:30:00Z"
    ).replace("end = 2027-06-18T17:00:00", "")
    text, _ = reminder_text(event_post(folder, "de", front), "1d", {})
    assert text == f"Morgen: {TITLE}, Beginn um 00:30 Uhr in Maastricht, NL."
