"""The benchmark suite: ``python -m bench [--sizes 1000,10000,100000] [--repeat 5]``.

Generates seeded corpora in a temporary folder, measures the seven figures of issue 6, each
a median of several runs paired with its baseline measured in the same run, and prints one
Markdown table (see bench/README.md for what each row means and the latest figures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import PREVIEW_FROM, PREVIEW_UNTIL, make_corpus
from bench.more import bench_idle, bench_warm

ROOT = Path(__file__).resolve().parent.parent
#: A cold run: no per-file cache read or written (as on a first run).
COLD = {"PUBLISHER_NO_CACHE": "1"}
#: The tick's clock: nothing is due at this instant; everything before it counts as sent.
TICK_NOW = "2025-06-15T12:00:30+00:00"


@dataclass
class Row:
    """One line of the table."""

    number: str
    what: str
    size: str
    runs: str
    ours: str
    baseline: str
    figure: str
    target: str
    ok: bool | None
    note: str = ""


@dataclass
class Bench:
    """The run's settings and what it measured so far."""

    sizes: list[int]
    repeat: int
    budget: float
    work: Path
    only: set[str]
    rows: list[Row] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def wants(self, number: str) -> bool:
        return not self.only or number in self.only


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def publisher_cmd() -> list[str]:
    script = Path(sys.executable).with_name("publisher")
    return [str(script)] if script.exists() else [sys.executable, "-m", "publisher"]


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment, with the bench package importable (after any PYTHONPATH given).

    Bytecode caching is allowed even if PYTHONDONTWRITEBYTECODE is set: an installed
    package has its .pyc files, and compiling the sources on every start is not our cost.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p] + [str(ROOT)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return {**env, **(extra or {})}


def run_child(cmd: Sequence[str], cwd: Path, stdout: Path | None = None,
              env: dict[str, str] | None = None) -> tuple[float, int]:  # fmt: skip
    """Run one process; its wall time in seconds and its own peak RSS in KiB (from wait4)."""
    err = cwd / "stderr.txt"
    with open(stdout or os.devnull, "wb") as out, open(err, "wb") as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=child_env(env), stdout=out, stderr=errors)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0,):
        tail = err.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{tail}")
    return elapsed, usage.ru_maxrss


def task(name: str, args: dict[str, Any], cwd: Path) -> dict[str, Any]:
    """Run a ``bench.tasks`` measurement in a fresh interpreter."""
    out = cwd / f"{name}.json"
    run_child([sys.executable, "-m", "bench.tasks", name, json.dumps(args), str(out)], cwd)
    return json.loads(out.read_text())


def paired(bench: Bench, runs: int, *steps: Callable[[], float]) -> list[list[float]]:
    """Run the steps alternately (A B A B ...) until ``runs`` rounds or the time budget is spent."""
    results: list[list[float]] = [[] for _ in steps]
    spent = 0.0
    for _ in range(runs):
        for index, step in enumerate(steps):
            value = step()
            results[index].append(value)
            spent += value
        if spent > bench.budget:
            break
    return results


def med(values: Sequence[float]) -> float:
    return statistics.median(values)


def secs(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def runs_for(bench: Bench, size: int) -> int:
    return bench.repeat if size < 100_000 else min(bench.repeat, 2)


def verdict(value: float, limit: float) -> bool:
    return value <= limit


# -- the measurements -----------------------------------------------------------------------
def bench_check(bench: Bench, size: int, root: Path) -> None:
    """1: check over N files vs reading them and parsing their front matter with tomllib."""
    config = str(root / "config.toml")
    check = [*publisher_cmd(), "--config", config, "check"]
    floor = [sys.executable, str(ROOT / "bench" / "floor.py"), str(root / "posts")]
    if size < 10_000:  # write the .pyc files and warm the page cache; a corpus just written
        run_child(check, root, env=COLD)  # is in the page cache, and at 10,000 files a start
        run_child(floor, root)  # is noise
    peaks: list[int] = []

    def cold() -> float:
        elapsed, peak = run_child(check, root, env=COLD)
        peaks.append(peak)
        return elapsed

    ours, base = paired(bench, runs_for(bench, size), cold, lambda: run_child(floor, root)[0])
    bench.raw[f"check/{size}"] = {"check": ours, "floor": base, "maxrss_kb": peaks}
    ratio = med(ours) / med(base)
    bench.rows.append(Row("1", "`check` vs tomllib floor", f"{size:,}", str(len(ours)),
                          secs(med(ours)), secs(med(base)), f"{ratio:.1f}x", "<= 2.0x",
                          verdict(ratio, 2.0)))  # fmt: skip


def bench_preview(bench: Bench, size: int, root: Path) -> None:
    """2: preview --format json of 30 days over N files: time and peak memory."""
    cmd = [*publisher_cmd(), "--config", str(root / "config.toml"), "preview", "--format",
           "json", "--from", PREVIEW_FROM, "--until", PREVIEW_UNTIL]  # fmt: skip
    out = root / "preview.json"
    times, peaks = [], []
    for _ in range(runs_for(bench, size)):
        elapsed, peak = run_child(cmd, root, stdout=out, env=COLD)
        times.append(elapsed)
        peaks.append(peak)
        if sum(times) > bench.budget:
            break
    entries = len(json.loads(out.read_text()))
    bench.raw[f"preview/{size}"] = {"seconds": times, "maxrss_kb": peaks, "entries": entries}
    mb = max(peaks) / 1024
    ok = (med(times) < 2.0 and mb < 200) if size == 10_000 else None
    bench.rows.append(Row("2", f"`preview --format json` cold, 30 days ({entries:,} entries)",
                          f"{size:,}", str(len(times)), f"{secs(med(times))}, {mb:.0f} MB", "-",
                          f"{secs(med(times))}, {mb:.0f} MB", "10k: < 2 s, < 200 MB" if
                          size == 10_000 else "-", ok))  # fmt: skip


def bench_tick(bench: Bench, size: int, root: Path) -> None:
    """3: one daemon tick over N unchanged files with nothing due vs a full check."""
    ticks = 5 if size < 100_000 else 2
    cli_check = bench.raw.get(f"check/{size}", {}).get("check")
    # The baseline is `check` in the same process; at 100,000 files, row 1's CLI `check`
    # of this same run (one more in-process check would cost minutes and tell nothing new).
    checks = 0 if size >= 100_000 and cli_check else 1
    result = task("tick", {"config": str(root / "config.toml"), "now": TICK_NOW,
                           "ticks": ticks, "checks": checks}, root)  # fmt: skip
    bench.raw[f"tick/{size}"] = result
    tick = med(result["tick"])
    check = med(result["check"] or cli_check)
    ratio = tick / check
    parts = ", ".join(f"{k} {v:.0f}" if k == "channels served" else f"{k} {secs(v)}"
                      for k, v in result["parts"].items())  # fmt: skip
    if result.get("old_tick"):
        parts += f"; round 1's tick (every channel's round) {secs(med(result['old_tick']))}"
    where = "in-process `check`" if result["check"] else "row 1's CLI `check`"
    bench.rows.append(Row("3", "daemon tick (unchanged, nothing due) vs `check`", f"{size:,}",
                          f"{len(result['tick'])}/{len(result['check'] or cli_check)}", secs(tick),
                          secs(check), f"{ratio:.3f}x", "<= 0.05x", verdict(ratio, 0.05),
                          f"{result['how']}: {parts}; baseline: {where}"))  # fmt: skip
    if result.get("edit"):
        edit = med(result["edit"])
        bench.rows.append(Row("3b", "daemon: one post file edited -> seen and synced", f"{size:,}",
                              str(len(result["edit"])), secs(edit), "-", secs(edit),
                              "< 1 s (seen within 2 s)", edit < 1.0))  # fmt: skip


def bench_growth(bench: Bench) -> None:
    """4: check time at 100,000 files / at 10,000 files (linear is 10)."""
    big, small = bench.raw.get("check/100000"), bench.raw.get("check/10000")
    if not big or not small:
        return
    ratio = med(big["check"]) / med(small["check"])
    floor = med(big["floor"]) / med(small["floor"])
    bench.rows.append(Row("4", "growth of `check`: 100k / 10k files", "10k -> 100k",
                          f"{len(small['check'])}/{len(big['check'])}", f"{ratio:.1f}",
                          f"floor {floor:.1f}", f"{ratio:.1f}", "<= 11", verdict(ratio, 11)))  # fmt: skip


def bench_start(bench: Bench) -> None:
    """5: publisher --help vs python -c 'import click'."""
    cwd = bench.work
    ours = [*publisher_cmd(), "--help"]
    base = [sys.executable, "-c", "import click"]
    run_child(ours, cwd)
    run_child(base, cwd)
    a, b = paired(bench, max(bench.repeat * 3, 10),
                  lambda: run_child(ours, cwd)[0], lambda: run_child(base, cwd)[0])  # fmt: skip
    bench.raw["start"] = {"help": a, "click": b}
    ratio = med(a) / med(b)
    bench.rows.append(Row("5", "CLI start: `publisher --help` vs `import click`", "-",
                          str(len(a)), secs(med(a)), secs(med(b)), f"{ratio:.2f}x", "<= 1.2x",
                          verdict(ratio, 1.2)))  # fmt: skip


def bench_rss(bench: Bench) -> None:
    """6: writing a 10,000-item RSS feed vs feedgen writing the same items."""
    root = bench.work / "corpus-1000"
    make_corpus(root, 1000)
    result = task("rss", {"config": str(root / "config.toml"), "items": 10_000,
                          "runs": bench.repeat, "out": str(bench.work / "rss")}, root)  # fmt: skip
    bench.raw["rss"] = result
    ratio = med(result["ours"]) / med(result["feedgen"])
    bench.rows.append(Row("6", "10,000-item RSS feed vs feedgen", "10,000 items",
                          str(len(result["ours"])), secs(med(result["ours"])),
                          secs(med(result["feedgen"])), f"{ratio:.2f}x", "<= 0.5x",
                          verdict(ratio, 0.5)))  # fmt: skip


def bench_send(bench: Bench) -> None:
    """7: 1,000 due deliveries to Graph fakes answering after 50 ms, over 8 Pages, one capped."""
    latency, channels, deliveries, caps = 0.05, 8, 1000, {"0": 60}
    results = []
    for index in range(min(bench.repeat, 3)):
        results.append(task("send", {"latency": latency, "deliveries": deliveries,
                                     "channels": channels, "caps": caps,
                                     "root": str(bench.work / f"send-{index}")}, bench.work))  # fmt: skip
    bench.raw["send"] = results
    per = [deliveries // channels + (1 if i < deliveries % channels else 0)
           for i in range(channels)]  # fmt: skip
    expected = {f"page-{i}": min(n, caps.get(str(i), n) or n) for i, n in enumerate(per)}
    ideal = max(expected.values()) * latency
    sent = sum(expected.values())
    seconds = med([r["seconds"] for r in results])
    exact = all(r["per_channel"] == expected and r["fake"]["posts"] == sent for r in results)
    cpu = med([r["cpu"] for r in results]) / sent * 1000
    efficiency = ideal / seconds
    bench.rows.append(Row("7", f"send {deliveries:,} due to {channels} Pages, 50 ms fakes, "
                          f"one capped at {caps['0']}/h", f"{sent} sent", str(len(results)),
                          f"{sent / seconds:.0f}/s", f"ideal {sent / ideal:.0f}/s",
                          f"{efficiency:.0%} of ideal", ">= 90% of ideal", efficiency >= 0.9 and exact,
                          f"caps and exactly-once {'held' if exact else 'BROKEN'}; "
                          f"CPU {cpu:.1f} ms/delivery; fake: {results[0]['fake']['impl']}"))  # fmt: skip


# -- the table ------------------------------------------------------------------------------
def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")  # fmt: skip


def table(rows: list[Row]) -> str:
    head = ["#", "measure", "N", "runs", "ours (median)", "baseline (median)", "figure",
            "target", "met"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ok = {True: "yes", False: "**NO**", None: "-"}[r.ok]
        lines.append(f"| {r.number} | {r.what} | {r.size} | {r.runs} | {r.ours} | {r.baseline} "
                     f"| {r.figure} | {r.target} | {ok} |")  # fmt: skip
    notes = [f"- {r.number} ({r.size}): {r.note}" for r in rows if r.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="corpus sizes in post files (default: %(default)s)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (default: 5; "
                        "the 100,000-file corpus gets at most 2)")  # fmt: skip
    parser.add_argument("--budget", type=float, default=120.0, help="stop repeating one figure "
                        "after this many seconds, after at least one run (default: 120)")  # fmt: skip
    parser.add_argument("--only", default="", help="comma-separated figure numbers, e.g. 1,5")
    parser.add_argument("--workdir", type=Path, help="keep corpora here and reuse them "
                        "(default: a temporary folder, removed at the end)")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write every raw timing to this file")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    work = args.workdir or Path(tempfile.mkdtemp(prefix="publisher-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    bench = Bench(sizes, max(1, args.repeat), args.budget, work, only)
    started = time.perf_counter()
    try:
        for size in sizes:
            if not any(bench.wants(n) for n in ("1", "1w", "2", "2w", "3", "3b", "4", "8", "9")):
                break
            log(f"corpus of {size:,} files")
            root = make_corpus(work / f"corpus-{size}", size).root
            for number, step in (("1", bench_check), ("2", bench_preview), ("3", bench_tick),
                                 ("1w", bench_warm), ("8", bench_idle)):  # fmt: skip
                # 4 is computed from 1, 3b comes with 3, 2w and 9 with 1w
                needed = {"1": "4", "3": "3b", "1w": "2w"}.get(number)
                if number == "1w" and bench.wants("9"):
                    needed = "9"
                if bench.wants(number) or (needed and bench.wants(needed)):
                    log(f"{number}: {step.__doc__.split(':')[1].strip()} ({size:,} files)")
                    step(bench, size, root)
        for number, final in (("4", bench_growth), ("5", bench_start), ("6", bench_rss),
                              ("7", bench_send)):  # fmt: skip
            if bench.wants(number):
                log(f"{number}: {final.__doc__.split(':')[1].strip()}")
                final(bench)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    order = {n: i for i, n in enumerate(["1", "1w", "2", "2w", "3", "3b", "4", "5", "6", "7",
                                         "8", "9"])}  # fmt: skip
    bench.rows.sort(key=lambda r: order[r.number])
    print(f"Machine: {machine()}")
    print(f"Command: python -m bench {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(f"Total time: {time.perf_counter() - started:.0f} s\n")
    print(table(bench.rows))
    if args.json:
        args.json.write_text(json.dumps({"rows": [r.__dict__ for r in bench.rows],
                                         "raw": bench.raw}, indent=1, default=str))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
