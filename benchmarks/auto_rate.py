"""``--rate auto`` against undisclosed quotas: is the quota found and held?

For each quota Q (50, 150, 1000 req/s) the emulator enforces a strict sliding window of Q/1s; the real CLI runs
``bulkdelete coveo delete --rate auto --stop-after 30s``. The emulator's stats are sampled every second; the table
reports what the server accepted per second over the last 20 s (after convergence) as a share of Q, and the share of
all requests that were throttled (429). SPEC §6: ≥ 85% of Q sustained, ≤ 5% throttled.

``--whole-run`` measures the start too (issue 14): the CLI deletes ``--ids`` ids (default 3,000) to the end, and the
table reports ids ÷ (Q × the run's ``elapsed_s`` from its summary: from the start of the run, slow start included, to
its last result), the share of requests throttled, and the process's wall time (Python start-up included).
Goal: ≥ 0.9 at Q = 150 with ≤ 5% throttled; ≥ 0.85 at Q = 60 and 1000.

    .venv/bin/python benchmarks/auto_rate.py            # ~2 minutes
    .venv/bin/python benchmarks/auto_rate.py --whole-run --repeat 3
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CLIENT_CORE, ORG, SOURCE, bench_env, cli, emulator, machine, pinned, run_measured, write_ids

QUOTAS = (50, 150, 1000)
WHOLE_RUN_QUOTAS = (60, 150, 1000)
RUN_S, MEASURE_S = 30, 20


def run_one(quota: int, ids: Path) -> dict[str, float]:
    with emulator("--quota", f"{quota}/1s") as emu:
        cmd = cli(*("coveo", "delete", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE),
                  *("--rate", "auto", "--concurrency", "64", "--stop-after", f"{RUN_S}s", "-o", "/dev/null"),
                  str(ids))  # fmt: skip
        proc = subprocess.Popen(pinned(cmd, CLIENT_CORE), env=bench_env(), stderr=subprocess.DEVNULL)
        samples: list[tuple[float, int]] = []
        while proc.poll() is None:
            stats = emu.stats()
            samples.append((time.monotonic(), int(stats["by_status"].get("202", 0))))
            time.sleep(1.0)
        final = emu.stats()
    end_t, end_ok = samples[-1]
    start_t, start_ok = next((t, ok) for t, ok in samples if t >= end_t - MEASURE_S)
    held = (end_ok - start_ok) / (end_t - start_t)
    return {
        "held": held / quota,
        "throttled": final["throttled"] / max(1, final["requests"]),
        "requests": final["requests"],
        "max_per_second": final["max_per_second"],
    }


def whole_run(quota: int, ids: Path, count: int, tmp: Path) -> dict[str, float]:
    """One run of ``count`` ids to its end against an undisclosed ``quota``/1s."""
    summary = tmp / f"summary-{quota}.json"
    with emulator("--quota", f"{quota}/1s") as emu:
        cmd = cli(*("coveo", "delete", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE),
                  *("--rate", "auto", "--concurrency", "64", "--no-progress", "-o", "/dev/null"),
                  *("--summary", str(summary), str(ids)))  # fmt: skip
        measured = run_measured(cmd, env=bench_env(), timeout_s=300.0)
        final = emu.stats()
    doc = json.loads(summary.read_bytes())
    accepted = int(doc["outcomes"].get("accepted", 0))
    return {
        "share": accepted / (quota * float(doc["elapsed_s"])),
        "elapsed_s": float(doc["elapsed_s"]),
        "wall_s": measured.wall_s,
        "accepted": accepted,
        "throttled": final["throttled"] / max(1, final["requests"]),
        "requests": final["requests"],
        "max_per_second": final["max_per_second"],
        "exit": measured.returncode,
    }


def main_whole_run(count: int, repeat: int, quotas: tuple[int, ...]) -> None:
    print(f"machine: {machine()}")
    print(f"ids per run: {count:,}, --rate auto --concurrency 64, a fresh emulator per run")
    print("| quota Q | run | ids / (Q × run elapsed_s) | elapsed_s | process wall s | throttled / requests | "
          "max in any 1 s | exit |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        ids = write_ids(Path(tmp) / "ids.txt", count)
        for quota in quotas:
            for k in range(repeat):
                row = whole_run(quota, ids, count, Path(tmp))
                cells = (f"{quota}/1s", str(k + 1), f"{row['share']:.3f}", f"{row['elapsed_s']:.2f}",
                         f"{row['wall_s']:.2f}", f"{row['throttled']:.2%}", f"{row['max_per_second']:,.0f}",
                         f"{row['exit']:.0f}")  # fmt: skip
                print("| " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        ids = write_ids(Path(tmp) / "ids.txt", 1000 * (RUN_S + 5))
        print(f"| quota Q | held over the last {MEASURE_S} s / Q | throttled / requests | requests |")
        print("|---|---|---|---|")
        for quota in QUOTAS:
            row = run_one(quota, ids)
            print(f"| {quota}/1s | {row['held']:.3f} | {row['throttled']:.2%} | {row['requests']:,.0f} |", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--whole-run", action="store_true", help="runs of --ids ids to their end, start included")
    parser.add_argument("--ids", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--quotas", type=lambda text: tuple(int(q) for q in text.split(",")), default=None)
    args = parser.parse_args()
    if args.whole_run:
        main_whole_run(args.ids, args.repeat, args.quotas or WHOLE_RUN_QUOTAS)
    else:
        main()
