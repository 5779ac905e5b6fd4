"""Round 2's figures: warm runs (the per-file cache), the idle daemon, memory at 100,000 files.

Each figure runs beside its baseline in the same run: warm ``check`` and warm ``preview``
alternate with the tomllib floor; the idle daemon with notifications alternates with the same
daemon stat-scanning every second (``PUBLISHER_FILE_EVENTS=off``, round 1's behaviour).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.corpus import PREVIEW_FROM, PREVIEW_UNTIL

if TYPE_CHECKING:
    from bench.run import Bench

#: How long the idle daemon's CPU time is measured.
IDLE_SECONDS = 30.0


def _state(root: Path) -> None:
    """A ledger folder, as every site that runs ``publisher run`` has: the cache lives there."""
    (root / "state").mkdir(exist_ok=True)


def bench_warm(bench: Bench, size: int, root: Path) -> None:
    """1w/2w/9: warm check and warm preview vs the floor; memory at 100,000 files."""
    from bench.run import ROOT, Row, med, paired, publisher_cmd, run_child, runs_for, secs

    config = str(root / "config.toml")
    check = [*publisher_cmd(), "--config", config, "check"]
    preview = [*publisher_cmd(), "--config", config, "preview", "--format", "json", "--from",
               PREVIEW_FROM, "--until", PREVIEW_UNTIL]  # fmt: skip
    floor = [sys.executable, str(ROOT / "bench" / "floor.py"), str(root / "posts")]
    _state(root)
    cache = root / "state" / "publisher.db.posts-cache"
    cache.unlink(missing_ok=True)
    run_child(check, root)  # the first run after a change writes the cache
    cache_bytes = cache.stat().st_size if cache.exists() else 0
    peaks: dict[str, list[int]] = {"check": [], "preview": []}

    def run(name: str, cmd: list[str], out: Path | None = None) -> float:
        elapsed, peak = run_child(cmd, root, stdout=out)
        peaks[name].append(peak)
        return elapsed

    runs = runs_for(bench, size)
    ours, base = paired(bench, runs, lambda: run("check", check), lambda: run_child(floor, root)[0])
    out = root / "preview-warm.json"
    view, base2 = paired(bench, runs, lambda: run("preview", preview, out),
                         lambda: run_child(floor, root)[0])  # fmt: skip
    bench.raw[f"warm/{size}"] = {"check": ours, "floor": base, "preview": view, "floor2": base2,
                                 "maxrss_kb": peaks, "cache_bytes": cache_bytes}  # fmt: skip
    ratio = med(ours) / med(base)
    bench.rows.append(Row("1w", "warm `check` (nothing changed) vs tomllib floor", f"{size:,}",
                          str(len(ours)), secs(med(ours)), secs(med(base)), f"{ratio:.2f}x",
                          "<= 1.0x", ratio <= 1.0,
                          f"spread {secs(min(ours))}-{secs(max(ours))} vs "
                          f"{secs(min(base))}-{secs(max(base))}; cache file "
                          f"{cache_bytes / 1e6:.1f} MB"))  # fmt: skip
    mb = max(peaks["preview"]) / 1024
    ratio = med(view) / med(base2)
    bench.rows.append(Row("2w", "warm `preview --format json`, 30 days, vs tomllib floor",
                          f"{size:,}", str(len(view)), f"{secs(med(view))}, {mb:.0f} MB",
                          secs(med(base2)), f"{ratio:.2f}x, {mb:.0f} MB",
                          "< 1.5x, < 150 MB (10k)",
                          ratio < 1.5 and (mb < 150 or size != 10_000)))  # fmt: skip
    if size >= 100_000:
        cold = bench.raw.get(f"check/{size}", {}).get("maxrss_kb") or []
        warm = max(peaks["check"]) / 1024
        coldmb = max(cold) / 1024 if cold else float("nan")
        bench.rows.append(Row("9", "`check` peak memory (cold / warm)", f"{size:,}",
                              f"{len(cold)}/{len(peaks['check'])}",
                              f"{coldmb:.0f} MB / {warm:.0f} MB", "-",
                              f"{max(coldmb, warm):.0f} MB", "< 300 MB", max(coldmb, warm) < 300,
                              f"cache file {cache_bytes / 1e6:.0f} MB"))  # fmt: skip


def bench_idle(bench: Bench, size: int, root: Path) -> None:
    """8: idle `publisher run` over N files, nothing due: CPU over 30 s, and a new file seen."""
    from bench.run import Row, med, publisher_cmd, task

    if size != 10_000:
        return
    _state(root)
    config = root / "config-idle.toml"
    config.write_text((root / "config.toml").read_text().replace("state/publisher.db",
                                                                 "state/idle.db"))  # fmt: skip
    task("idle_ledger", {"config": str(config)}, root)
    tokens = {line.split('"')[1]: "bench-token" for line in config.read_text().splitlines()
              if line.startswith("token_env")}  # fmt: skip
    results: dict[str, list[tuple[float, float]]] = {"events": [], "polling": []}
    for index in range(max(1, min(bench.repeat, 2))):
        for mode, extra in (("events", {}), ("polling", {"PUBLISHER_FILE_EVENTS": "off"})):
            results[mode].append(_idle_once(config, {**tokens, **extra}, f"{mode}-{index}",
                                            publisher_cmd()))  # fmt: skip
    bench.raw[f"idle/{size}"] = results
    cpu = med([c for c, _ in results["events"]])
    seen = med([s for _, s in results["events"]])
    old_cpu = med([c for c, _ in results["polling"]])
    old_seen = med([s for _, s in results["polling"]])
    bench.rows.append(Row("8", f"idle `publisher run`, nothing due: CPU over {IDLE_SECONDS:.0f} s; "
                          "a new file seen after", f"{size:,}", str(len(results["events"])),
                          f"{cpu:.2%} of a core; {seen:.2f} s",
                          f"1-s stat scan: {old_cpu:.2%}; {old_seen:.2f} s",
                          f"{cpu:.2%}, {seen:.2f} s", "<= 2 %, <= 2 s",
                          cpu <= 0.02 and seen <= 2.0))  # fmt: skip


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _idle_once(
    config: Path, extra: dict[str, str], name: str, cmd: list[str]
) -> tuple[float, float]:
    """Start the daemon, let it settle, measure its CPU share, then time a new file's notice."""
    from bench.run import child_env

    root = config.parent
    log = root / f"idle-{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([*cmd, "--config", str(config), "run"], cwd=root,
                                env=child_env(extra), stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        _wait_for(log, "publisher run:", proc, 600)
        time.sleep(3.0)  # the start-up rounds and feed rebuilds
        cpu0, t0 = _cpu_seconds(proc.pid), time.monotonic()
        time.sleep(IDLE_SECONDS)
        share = (_cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0)
        post = root / "posts" / "2030" / f"idle-{name}.en.md"
        post.parent.mkdir(parents=True, exist_ok=True)
        before = log.read_text(errors="replace").count("post files: 1 new")
        start = time.monotonic()
        post.write_text('+++\ntitle = "Idle check"\npublish_at = 2030-12-01T10:00:00\n+++\nHi.\n')
        _wait_for(log, "post files: 1 new", proc, 30, before)
        seen = time.monotonic() - start
        post.unlink()
        return share, seen
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(log: Path, text: str, proc: subprocess.Popen[bytes], timeout: float,
              already: int = 0) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while log.read_text(errors="replace").count(text) <= already:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"daemon: no {text!r}:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.02)
