"""Seeded, realistic corpora: years of news and events in three languages, with images.

A corpus is a folder with ``config.toml`` (languages en, it, de; a Facebook Page, a LinkedIn
Page and an RSS feed per language) and ``posts/YYYY/MM/<slug>.<lang>.md`` files.  The same
seed and size always give the same bytes, so figures from different machines compare.
"""

from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

LANGUAGES = ("en", "it", "de")
#: Posts spread evenly over these twelve years; the preview window lies inside them.
SPAN_START = datetime(2019, 1, 1, 8, 0)
SPAN_DAYS = 12 * 365
PREVIEW_FROM = "2029-03-01"
PREVIEW_UNTIL = "2029-03-31"
#: Version of the generator: a kept corpus made by another version is rebuilt.
VERSION = 4
IMAGES = 60

WORDS = {
    "en": {
        "subject": ["The project partners", "The regional stakeholders", "The S3Chem partners",
                    "The working groups", "Chemical-industry clusters", "The managing authorities"],
        "verb": ["discussed", "presented", "reviewed", "agreed on", "compared", "monitored"],
        "object": ["the regional action plans", "the progress of phase 2", "new funding calls",
                   "the transfer of good practices", "the circular-economy roadmap",
                   "the monitoring indicators", "the results of the study visit"],
        "tail": ["in Magdeburg", "with the Joint Secretariat", "during the online session",
                 "at the premises of the ministry", "for the next two years", "in detail"],
        "title": ["Working group meeting in {city}", "Study visit to {city}",
                  "Policy learning platform: {topic}", "New call for {topic}",
                  "Conference on {topic} in {city}", "Interview: {topic}"],
        "more": "More on the [project website]({link}).",
    },
    "it": {
        "subject": ["I partner di progetto", "Gli stakeholder regionali", "I partner di S3Chem",
                    "I gruppi di lavoro", "I cluster della chimica", "Le autorità di gestione"],
        "verb": ["hanno discusso", "hanno presentato", "hanno esaminato", "hanno concordato",
                 "hanno confrontato", "hanno monitorato"],
        "object": ["i piani di azione regionali", "lo stato di avanzamento della fase 2",
                   "i nuovi bandi", "il trasferimento delle buone pratiche",
                   "la roadmap sull'economia circolare", "gli indicatori di monitoraggio"],
        "tail": ["a Magdeburgo", "con il Segretariato congiunto", "durante la sessione online",
                 "presso la sede del ministero", "per i prossimi due anni", "nel dettaglio"],
        "title": ["Riunione del gruppo di lavoro a {city}", "Visita di studio a {city}",
                  "Piattaforma di apprendimento: {topic}", "Nuovo bando per {topic}",
                  "Conferenza su {topic} a {city}", "Intervista: {topic}"],
        "more": "Maggiori informazioni sul [sito del progetto]({link}).",
    },
    "de": {
        "subject": ["Die Projektpartner", "Die regionalen Akteure", "Die S3Chem-Partner",
                    "Die Arbeitsgruppen", "Die Chemiecluster", "Die Verwaltungsbehörden"],
        "verb": ["diskutierten", "präsentierten", "überprüften", "vereinbarten", "verglichen",
                 "beobachteten"],
        "object": ["die regionalen Aktionspläne", "den Fortschritt der Phase 2",
                   "neue Förderaufrufe", "den Transfer guter Praktiken",
                   "die Roadmap zur Kreislaufwirtschaft", "die Monitoring-Indikatoren"],
        "tail": ["in Magdeburg", "mit dem Gemeinsamen Sekretariat", "in der Online-Sitzung",
                 "in den Räumen des Ministeriums", "für die nächsten zwei Jahre", "im Detail"],
        "title": ["Arbeitsgruppentreffen in {city}", "Studienbesuch in {city}",
                  "Lernplattform: {topic}", "Neuer Aufruf: {topic}",
                  "Konferenz zu {topic} in {city}", "Interview: {topic}"],
        "more": "Mehr auf der [Projektwebsite]({link}).",
    },
}  # fmt: skip
CITIES = ["Maastricht", "Magdeburg", "Tarragona", "Leuna", "Ferrara", "Ostrava", "Stade", "Huelva"]
TOPICS = ["green chemistry", "bio-based plastics", "hydrogen valleys", "skills", "SME access",
          "digital twins", "waste heat", "circular carbon"]  # fmt: skip
TAGS = ["S3Chem", "InterregEurope", "ChemicalIndustry", "CircularEconomy", "Innovation",
        "RegionalPolicy", "Hydrogen", "Skills"]  # fmt: skip
ZONES = ["Europe/Berlin", "Europe/Rome", "Europe/Amsterdam", "Europe/Madrid"]


@dataclass(frozen=True)
class Corpus:
    """A generated corpus on disk."""

    root: Path
    files: int

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def posts(self) -> Path:
        return self.root / "posts"


def png(rng: random.Random, size: int = 12) -> bytes:
    """A small valid RGB PNG of noise (a few hundred bytes), made with zlib and struct only."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rng.randrange(256) for _ in range(size * 3))
                    for _ in range(size))  # fmt: skip
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))  # fmt: skip


def channels_toml(api_url: str = "http://127.0.0.1:9") -> str:
    """Three channels per language; ``api_url`` is unreachable on purpose (check never calls)."""
    out = []
    for n, lang in enumerate(LANGUAGES):
        out.append(f"""
[channels.facebook-{lang}]
type = "facebook"
page_id = "10000000000000{n}"
token_env = "BENCH_FACEBOOK_{lang.upper()}_TOKEN"
api_url = "{api_url}"
languages = ["{lang}"]

[channels.linkedin-{lang}]
type = "linkedin"
organization_id = "1000000{n}"
token_env = "BENCH_LINKEDIN_{lang.upper()}_TOKEN"
api_url = "{api_url}"
languages = ["{lang}"]

[channels.rss-{lang}]
type = "rss"
path = "public/feed.{lang}.xml"
title = "S3Chem ({lang})"
link = "https://www.interregeurope.eu/s3chem"
feed_url = "https://www.interregeurope.eu/s3chem/feed.{lang}.xml"
languages = ["{lang}"]
""")
    return "".join(out)


PUBLISHER_TOML = """[publisher]
timezone = "Europe/Berlin"
posts_dir = "posts"
state = "state/publisher.db"
languages = ["en", "it", "de"]
catch_up = "2d"

[reminders]
offsets = ["30d", "7d", "1d"]
time = 09:00:00
"""


def _sentence(rng: random.Random, words: dict[str, list[str] | str]) -> str:
    parts = [rng.choice(words[k]) for k in ("subject", "verb", "object", "tail")]
    return " ".join(str(p) for p in parts) + "."


def _body(rng: random.Random, lang: str, link: str) -> str:
    words = WORDS[lang]
    paragraphs = []
    for index in range(rng.randint(2, 5)):
        sentences = [_sentence(rng, words) for _ in range(rng.randint(2, 5))]
        if index == 0 and rng.random() < 0.6:
            sentences[0] = f"**{sentences[0]}**"
        if rng.random() < 0.15:
            sentences.append(f"<em>{rng.choice(CITIES)}</em>, {rng.choice(TOPICS)}.")
        paragraphs.append(" ".join(sentences))
    if rng.random() < 0.25:
        paragraphs.append("\n".join(f"- {rng.choice(TOPICS)}" for _ in range(rng.randint(2, 4))))
    paragraphs.append(str(words["more"]).format(link=link))
    return "\n\n".join(paragraphs)


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _story(rng: random.Random, number: int, count: int) -> tuple[str, dict[str, str]]:
    """One story: its folder-relative stem and one post file text per language."""
    day = SPAN_START + timedelta(days=SPAN_DAYS * number // max(count, 1))
    publish = day.replace(hour=rng.choice([8, 9, 10, 11, 14, 16]), minute=rng.choice([0, 15, 30]))
    slug = f"{publish:%Y-%m-%d}-{number:06d}"
    stem = f"{publish:%Y/%m}/{slug}"
    link = f"https://www.interregeurope.eu/s3chem/news/{slug}"
    roll = rng.random()
    langs = LANGUAGES if roll < 0.6 else LANGUAGES[:2] if roll < 0.85 else LANGUAGES[:1]
    is_event = rng.random() < 0.3
    city, topic = rng.choice(CITIES), rng.choice(TOPICS)
    tags = rng.sample(TAGS, rng.randint(1, 4))
    image = f"../../media/img-{rng.randrange(IMAGES):03d}.png" if rng.random() < 0.4 else None
    explicit_id = rng.random() < 0.5
    zone = rng.choice(ZONES) if rng.random() < 0.3 else None
    expires = publish + timedelta(days=90) if not is_event and rng.random() < 0.05 else None
    start = publish + timedelta(days=rng.randint(35, 120))
    start = start.replace(hour=rng.choice([9, 10, 14]), minute=0)
    reminders = rng.choice([None] * 7 + ['["7d", "1d"]'] * 2 + ['["30d", "7d", "1d", "2h"]'])
    online = rng.random() < 0.3
    li_text = rng.random() < 0.1
    rss_summary = rng.random() < 0.1
    fb_later = rng.random() < 0.03
    li_off = rng.random() < 0.03
    only_some = rng.random() < 0.1
    draft = rng.random() < 0.02
    files: dict[str, str] = {}
    for lang in langs:
        words = WORDS[lang]
        title = rng.choice(words["title"]).format(city=city, topic=topic)
        lines = ["+++"]
        if explicit_id:
            lines.append(f'id = "{slug}"')
        lines += [f"title = {_toml_str(title)}", f"publish_at = {publish:%Y-%m-%dT%H:%M:%S}"]
        if zone:
            lines.append(f'timezone = "{zone}"')
        if expires:
            lines.append(f"expires_at = {expires:%Y-%m-%dT%H:%M:%S}")
        if only_some:
            lines.append(f'channels = ["facebook-{lang}", "rss-{lang}"]')
        lines.append(f'link = "{link}"')
        if image:
            lines += [f'image = "{image}"', f"image_alt = {_toml_str(title)}"]
        lines.append("tags = [" + ", ".join(f'"{t}"' for t in tags) + "]")
        if draft:
            lines.append("draft = true")
        if is_event:
            lines += ["", "[event]", f"start = {start:%Y-%m-%dT%H:%M:%S}",
                      f"end = {start + timedelta(hours=8):%Y-%m-%dT%H:%M:%S}",
                      f'location = "{city}"']  # fmt: skip
            if online:
                lines.append(f'online_url = "{link}/live"')
            if reminders:
                lines.append(f"reminders = {reminders}")
        if li_text or li_off:
            lines += ["", "[linkedin]"]
            lines.append("enabled = false" if li_off else f"text = {_toml_str(title + ' #S3Chem')}")
        if fb_later:
            later = publish + timedelta(hours=2)
            lines += ["", "[facebook]", f"publish_at = {later:%Y-%m-%dT%H:%M:%S}"]
        if rss_summary:
            lines += ["", "[rss]", f"summary = {_toml_str(_sentence(rng, words))}"]
        lines += ["+++", _body(rng, lang, link), ""]
        files[lang] = "\n".join(lines)
    return stem, files


def _stamp(files: int, seed: int) -> str:
    return f"publisher bench corpus v{VERSION} files={files} seed={seed}\n"


def make_corpus(root: Path, files: int, seed: int = 2027) -> Corpus:
    """Write a corpus of exactly ``files`` post files (kept and reused if already there)."""
    stamp = root / "CORPUS"
    if stamp.exists() and stamp.read_text() == _stamp(files, seed):
        return Corpus(root, files)
    if root.exists():
        import shutil

        shutil.rmtree(root)
    rng = random.Random(seed)
    media = root / "posts" / "media"
    media.mkdir(parents=True)
    for index in range(IMAGES):
        (media / f"img-{index:03d}.png").write_bytes(png(rng))
    (root / "config.toml").write_text(PUBLISHER_TOML + channels_toml(), encoding="utf-8")
    stories = max(1, round(files / 2.45))  # 2.45 language files per story on average
    written = 0
    number = 0
    while written < files:
        stem, texts = _story(rng, number, stories)
        number += 1
        folder = root / "posts" / stem.rsplit("/", 1)[0]
        folder.mkdir(parents=True, exist_ok=True)
        for lang, text in texts.items():
            if written == files:
                break
            (root / "posts" / f"{stem}.{lang}.md").write_text(text, encoding="utf-8")
            written += 1
    stamp.write_text(_stamp(files, seed))
    return Corpus(root, files)


def make_send_corpus(root: Path, *, deliveries: int, channels: int, api_url: str, due: datetime,
                     caps: dict[int, int], token: str, page_id: str) -> Path:  # fmt: skip
    """Posts that are all due at ``due``, each aimed at one of ``channels`` Facebook Pages."""
    import shutil

    if root.exists():
        shutil.rmtree(root)
    rng = random.Random(7)
    (root / "posts" / "media").mkdir(parents=True)
    (root / "posts" / "media" / "photo.png").write_bytes(png(rng))
    config = [PUBLISHER_TOML.replace('catch_up = "2d"', 'catch_up = "2d"\nlease = "10m"')]
    for index in range(channels):
        config.append(f"""
[channels.page-{index}]
type = "facebook"
page_id = "{page_id}"
token_env = "BENCH_SEND_TOKEN"
api_url = "{api_url}"
max_per_hour = {caps.get(index, 0)}
""")
    (root / "config.toml").write_text("".join(config), encoding="utf-8")
    for number in range(deliveries):
        lang = LANGUAGES[number % len(LANGUAGES)]
        at = due - timedelta(minutes=1 + number % 50)
        image = 'image = "media/photo.png"\n' if number % 10 == 0 else ""
        text = (f'+++\nid = "send-{number:05d}"\ntitle = "Bench post {number}"\n'
                f'publish_at = {at:%Y-%m-%dT%H:%M:%S}+00:00\nchannels = ["page-{number % channels}"]\n'
                f'link = "https://example.org/s3chem/{number}"\n{image}tags = ["S3Chem"]\n+++\n'
                f"{_body(rng, lang, 'https://example.org/s3chem')}\n")  # fmt: skip
        (root / "posts" / f"send-{number:05d}.{lang}.md").write_text(text, encoding="utf-8")
    return root / "config.toml"
