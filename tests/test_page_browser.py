"""The preview page in a real browser: Debian's headless Chromium, driven by Playwright.

No browser is downloaded: Playwright launches ``/usr/bin/chromium`` (``.ci/run`` installs it).
Where Chromium or Playwright is missing these tests skip with the reason, except under
``PUBLISHER_CI=1``, where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from support import IN_CI, REPO, Site

from publisher.channels.little import unescape
from publisher.core.posts import read_posts

CHROMIUM = os.environ.get("PUBLISHER_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _missing()
    if reason:
        if IN_CI:
            pytest.fail(f"PUBLISHER_CI=1: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def example_site(tmp_path: Path) -> Site:
    """The bundled samples with config.example.toml: Facebook, LinkedIn, two RSS feeds."""
    site = Site(tmp_path / "example")
    shutil.copytree(REPO / "posts", site.posts)
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    site.write_config(text)
    long = " ".join(f"Sentence {i} of a long announcement (Lyon_#{i})." for i in range(60))
    site.write_post(
        "long.en.md",
        'title = "A long one: Donaudampfschifffahrtsgesellschaftskapitänsmützenabzeichenherstellungsverordnungsentwurf"\n'
        'publish_at = 2027-03-01T10:00:00\ntags = ["S3Chem"]',
        long + "\n\nSee <https://example.org/a_(b)>.",
    )
    return site


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def folded(text: str) -> str:
    return " ".join(text.split())


def reader_text(item: dict[str, Any], types: dict[str, str]) -> str:
    """The text as readers will see it, taken from the JSON payload (what will be sent)."""
    payload, kind = item["payload"], types[item["channel"]]
    if kind == "facebook":
        return payload["fields"].get("message") or payload["fields"]["caption"]
    if kind == "linkedin":
        return unescape(payload["body"]["commentary"])
    if kind == "ical":  # a calendar entry's text is its summary (the event's title)
        return payload["summary"]
    if kind == "mastodon":
        return payload["status"]
    parser = _Text()
    parser.feed(payload["content_html"])
    return folded("".join(parser.parts))


def page_and_json(invoke, site: Site) -> tuple[Path, list[dict[str, Any]]]:
    out = site.root / "page.html"
    args = ("preview", "--from", "2027-01-01")
    assert invoke(site, *args, "--format", "html", "-o", str(out)).exit_code == 0
    result = invoke(site, *args, "--format", "json")
    assert result.exit_code == 0
    return out, json.loads(result.stdout)


def open_page(browser: Any, path: Path, width: int, javascript: bool = False) -> tuple:
    """Open the page; collect console errors and every request that is not the page itself."""
    context = browser.new_context(
        viewport={"width": width, "height": 800}, java_script_enabled=javascript
    )
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    started = time.perf_counter()
    page.goto(path.as_uri(), wait_until="load")
    seconds = time.perf_counter() - started
    others = [u for u in requests if u != path.as_uri() and not u.startswith("data:")]
    return context, page, errors, others, seconds


def test_page_shows_every_delivery_as_readers_see_it(browser, invoke, clock, example_site):
    clock.now = datetime(2027, 1, 1, 8, tzinfo=UTC)
    path, items = page_and_json(invoke, example_site)
    config = example_site.config()
    types = {name: ch.type for name, ch in config.channels.items()}
    titles = {(p.id, p.language): p.title for p in read_posts(config).posts}
    context, page, errors, requests, seconds = open_page(browser, path, 1280)
    try:
        assert errors == []
        assert requests == [], "no request may leave the page"
        cards = page.locator("[data-delivery]")
        ids = cards.evaluate_all("els => els.map(e => e.dataset.delivery)")
        assert sorted(ids) == sorted(i["id"] for i in items), "one card per delivery"
        assert len(ids) == len(items) >= 22, "19 sample deliveries and 3 of the long post"
        folds = 0
        for item in items:
            card = page.locator(f'[data-delivery="{item["id"]}"]')
            assert card.get_attribute("data-channel") == item["channel"]
            assert card.get_attribute("data-state") == item["state"]
            title = card.locator('[data-role="title"]').inner_text()
            assert title == titles[(item["post"], item["language"])]
            text = card.locator('[data-role="text"]')
            assert text.count() == 1
            more = card.locator("label.see-more")
            if more.count():  # folded: only the head shows until "See more" is clicked
                folds += 1
                assert more.is_visible()
                assert len(text.inner_text()) < len(reader_text(item, types))
                more.click()  # JavaScript is off: the fold opens with HTML and CSS alone
                assert not more.is_visible()
            shown = text.inner_text()
            expected = reader_text(item, types)
            if types[item["channel"]] == "rss":
                assert folded(shown) == expected
            else:
                assert shown == expected
        assert folds >= 6, "the long Facebook and LinkedIn texts are folded"
        long_card = page.locator('[data-delivery="long/en/facebook/post"]')
        assert long_card.locator("label.see-more").count() == 1
    finally:
        context.close()
    print(f"\n{len(items)} cards, {folds} folds, opened in {seconds:.2f} s")


def test_page_is_usable_on_a_phone_and_in_print(browser, invoke, clock, example_site):
    clock.now = datetime(2027, 1, 1, 8, tzinfo=UTC)
    path, items = page_and_json(invoke, example_site)
    context, page, errors, requests, _ = open_page(browser, path, 375, javascript=True)
    try:
        assert errors == [] and requests == []
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1] == 375, f"horizontal scroll at 375 px: {widths}"
        boxes = page.locator("[data-delivery]").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().right)"
        )
        assert len(boxes) == len(items) and max(boxes) <= 375
        size = page.evaluate("() => getComputedStyle(document.body).fontSize")
        assert float(size.removesuffix("px")) >= 14
        page.emulate_media(media="print")
        hidden = page.locator(".tail").evaluate_all(
            "els => els.filter(e => getComputedStyle(e).display === 'none').length"
        )
        assert hidden == 0, "print shows every text whole"
    finally:
        context.close()


def test_warnings_and_states_are_beside_their_card(browser, invoke, clock, example_site):
    clock.now = datetime(2027, 5, 2, 8, tzinfo=UTC)  # the February posts are long overdue
    example_site.write_post(
        "over.en.md",
        'title = "Over"\npublish_at = 2027-05-10T10:00:00\nchannels = ["linkedin"]'
        f'\n[linkedin]\ntext = "{"(x) " * 800}"',
    )
    out = example_site.root / "page.html"
    args = ("preview", "--from", "2027-01-01", "--format", "html", "-o", str(out))
    assert invoke(example_site, *args).exit_code == 0
    context, page, errors, requests, _ = open_page(browser, out, 1280)
    try:
        assert errors == [] and requests == []
        card = page.locator('[data-delivery="over/en/linkedin/post"]')
        warning = card.locator('[data-role="warning"]')
        assert warning.count() == 1 and "3000" in warning.inner_text()
        over = card.locator(".count.over")
        assert re.search(r"/ 3,000 .*over the limit of 3,000", over.inner_text())
        assert over.evaluate("e => getComputedStyle(e).color") == "rgb(176, 0, 32)"
        states = page.locator("[data-delivery]").evaluate_all(
            "els => els.map(e => e.dataset.state)"
        )
        assert {"will expire", "overdue", "pending"} <= set(states)
        badge = page.locator('[data-state="will expire"] .state').first
        assert badge.inner_text().lower() == "will expire"
    finally:
        context.close()
