"""Regenerate docs/preview.png: the preview page of the bundled sample posts, in Chromium.

Run from the repository root: ``.venv/bin/python docs/screenshot.py`` (needs Debian's
``chromium`` and the ``playwright`` package of the test extra; no browser is downloaded).
The clock is fixed, so the states in the picture do not depend on the day it is made.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("PUBLISHER_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
#: The sample posts as seen on 1 January 2027: everything still pending.
NOW = "2027-01-01T08:00:00+00:00"


def write_page(path: Path) -> None:
    """``publisher preview --format html`` of the samples, with the clock set to ``NOW``."""
    from click.testing import CliRunner

    from publisher.app.cli import Options, cli

    opts = Options(None, False, "text", clock=lambda: datetime.fromisoformat(NOW))
    args = ["--config", str(ROOT / "config.example.toml"), "preview", "--format", "html",
            "--until", "2027-05-20", "-o", str(path)]  # fmt: skip
    result = CliRunner().invoke(cli, args, obj=opts)
    if result.exit_code != 0:
        raise SystemExit(f"preview failed ({result.exit_code}): {result.output}")


def main() -> int:
    from playwright.sync_api import sync_playwright

    out = ROOT / "docs" / "preview.png"
    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "preview.html"
        write_page(page_file)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_file.as_uri())
            page.screenshot(path=str(out), full_page=True)
            browser.close()
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
