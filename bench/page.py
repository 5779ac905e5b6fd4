"""Benchmark of the preview page: a month of the 10,000-file corpus (about 300 deliveries).

    python -m bench.page [--workdir DIR] [--repeat N]

Figures (medians; json and html runs alternate, each a fresh ``publisher`` process):
  P1  ``preview --format html`` minus ``preview --format json`` over the same month: < 1 s
  P1b the same difference inside one process, from the same entries (no process noise)
  P2  the page opened in Debian's headless Chromium (``goto`` until ``load``): < 2 s
and, for reference, the page's size.  Kept apart from ``bench/run.py`` so that both can grow
without stepping on each other.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus import make_corpus

FILES = 10_000
WINDOW = ("--from", "2029-03-01", "--until", "2029-04-01")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def _publisher() -> str:
    return str(Path(sys.executable).with_name("publisher"))


def _timed(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def _in_process(config_path: Path, repeat: int) -> tuple[float, float, float, int]:
    """The page's own cost: rendering the entries as JSON vs as the page (cold, then median)."""
    from datetime import UTC, datetime

    from publisher.app.preview import entries
    from publisher.app.preview_page import render_page
    from publisher.channels import build_channels
    from publisher.core.config import load_config
    from publisher.core.plan import plan
    from publisher.core.posts import read_posts

    config = load_config(config_path)
    now = datetime(2029, 3, 1, tzinfo=UTC)
    start, until = datetime(2029, 3, 1, tzinfo=UTC), datetime(2029, 4, 1, tzinfo=UTC)
    result = plan(read_posts(config).posts, config, now)
    channels = build_channels(config)
    items = entries(result.deliveries, channels, config, now, {}, start=start, until=until,
                    keep_overdue=False)  # fmt: skip
    runs_json, runs_html = [], []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        json.dumps([i.as_json() for i in items], ensure_ascii=False, indent=2)
        runs_json.append(time.perf_counter() - started)
        started = time.perf_counter()
        render_page(items, channels, config, now, window=(start, until))
        runs_html.append(time.perf_counter() - started)
    cold, warm = runs_html[0], statistics.median(runs_html[1:])
    return cold, warm, statistics.median(runs_json[1:]), len(items)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.page")
    parser.add_argument("--workdir", type=Path, help="keep the corpus here and reuse it")
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = opts.workdir or Path(tmp)
        corpus = make_corpus(work / f"corpus-{FILES}", FILES)
        base = [_publisher(), "--config", str(corpus.config), "preview", *WINDOW]
        page = work / "preview.html"
        items = json.loads(subprocess.run([*base, "--format", "json"], check=True,
                                          capture_output=True, text=True).stdout)  # fmt: skip
        json_runs: list[float] = []
        html_runs: list[float] = []
        for _ in range(opts.repeat):
            json_runs.append(_timed([*base, "--format", "json", "-o", str(work / "p.json")]))
            html_runs.append(_timed([*base, "--format", "html", "-o", str(page)]))
        extra = statistics.median(html_runs) - statistics.median(json_runs)
        size = page.stat().st_size
        print(f"deliveries in the month: {len(items)}; page: {size / 1e6:.2f} MB")
        print(f"P1 preview json: {statistics.median(json_runs):.2f} s, html: "
              f"{statistics.median(html_runs):.2f} s -> html costs {extra:.2f} s more "
              f"(target < 1 s) {'ok' if extra < 1 else 'MISSED'}")  # fmt: skip
        cold, warm, as_json, count = _in_process(corpus.config, opts.repeat)
        print(f"P1b in one process, from the same entries: the page {cold:.2f} s the first time "
              f"(templates compiled), then {warm:.2f} s; JSON {as_json:.2f} s; {count} entries")  # fmt: skip
        if not Path(CHROMIUM).exists():
            print(f"P2 skipped: no Chromium at {CHROMIUM}")
            return 0
        from playwright.sync_api import sync_playwright

        opens: list[float] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for _ in range(opts.repeat):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                tab = context.new_page()
                started = time.perf_counter()
                tab.goto(page.as_uri(), wait_until="load")
                opens.append(time.perf_counter() - started)
                cards = tab.locator("[data-delivery]").count()
                context.close()
            browser.close()
        opened = statistics.median(opens)
        print(f"P2 opened in Chromium in {opened:.2f} s ({cards} cards; target < 2 s) "
              f"{'ok' if opened < 2 else 'MISSED'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
