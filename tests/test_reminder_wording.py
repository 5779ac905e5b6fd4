"""The built-in reminder wording, read as a native reader would: golden files per language.

Each file holds every offset for an in-person, an online (title with a colon) and a hybrid
event.  Regenerate with ``UPDATE_GOLDEN=1`` and read the diff before committing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

try:
    from support import Site, config_text, make_site
except ImportError:  # tests/ run as a package
    from tests.support import Site, config_text, make_site

from publisher.core.reminders import reminder_text

GOLDEN = Path(__file__).parent / "golden"
OFFSETS = ("30d", "7d", "1d", "2h", "14d")
EVENTS = {
    "in-person": ("S3Chem final conference", 'location = "Maastricht, NL"'),
    "online": ("Webinar: green hydrogen for chemical regions",
               'location = "Online (Zoom)"\nonline_url = "https://example.org/zoom/123"'),
    "hybrid": ("S3Chem partner meeting",
               'location = "Magdeburg, DE"\nonline_url = "https://example.org/live"'),
}  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return make_site(tmp_path_factory.mktemp("words"), config_text())


def rendered(folder: Site, language: str) -> str:
    out = []
    for kind, (title, where) in EVENTS.items():
        name = f"{kind}.{language}.md"
        folder.post(name, f'title = "{title}"\npublish_at = 2027-04-01T10:00:00\n'
                    f'timezone = "Europe/Amsterdam"\n[event]\nstart = 2027-06-17T14:00:00\n{where}')  # fmt: skip
        post = folder.read(name)
        out.append(f"# {kind}")
        for offset in OFFSETS:
            text, warnings = reminder_text(post, offset, {})
            assert not warnings
            out.append(f"{offset}: {text}")
        out.append("")
    return "\n".join(out)


@pytest.mark.parametrize("language", ["en", "it", "de", "nl"])
def test_reminders_read_naturally(folder: Site, language: str) -> None:
    text = rendered(folder, language)
    golden = GOLDEN / f"reminders.{language}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
    online = text.split("# online")[1].split("# hybrid")[0]
    hybrid = text.split("# hybrid")[1]
    assert online.count("https://example.org/zoom/123") == len(OFFSETS)  # the Zoom link is there
    assert "Maastricht" not in online and "Online (Zoom)" not in online  # no "in Online (Zoom)"
    assert hybrid.count("Magdeburg, DE") == hybrid.count("https://example.org/live") == len(OFFSETS)
    sentences = [line.split(": ", 1)[1] for line in text.split("\n") if line[:1].isdigit()]
    assert not any(": Webinar:" in s for s in sentences)  # no "Save the date: Webinar: ..."
    assert all(("CEST" in s or "MESZ" in s) for s in sentences)  # the time has its zone
    assert all(" ." not in s and "  " not in s for s in sentences)
