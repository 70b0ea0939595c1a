"""``--rate auto`` against undisclosed quotas: is the quota found and held?

For each quota Q (50, 150, 1000 req/s) the emulator enforces a strict sliding window of Q/1s; the real CLI runs
``bulkdelete coveo delete --rate auto --stop-after 30s``. The emulator's stats are sampled every second; the table
reports what the server accepted per second over the last 20 s (after convergence) as a share of Q, and the share of
all requests that were throttled (429). SPEC §6: ≥ 85% of Q sustained, ≤ 5% throttled.

    .venv/bin/python benchmarks/auto_rate.py            # ~2 minutes
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CLIENT_CORE, ORG, SOURCE, bench_env, cli, emulator, machine, pinned, write_ids

QUOTAS = (50, 150, 1000)
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
    main()
