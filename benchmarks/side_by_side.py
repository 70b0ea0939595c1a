"""Per-id CPU of ``bulkdelete coveo delete --rate 0`` against the bare aiohttp loop, both running *at the same time*.

This VM's speed drifts by ±20% over seconds to minutes (the same bare loop took 2.7 s, then 4.4 s of CPU for the same
30,000 ids): runs made one after the other, as in ``throughput.py``, carry that drift into their ratio (per-round
ratios there spread over 0.65–1.39). Here the two clients run side by side on the same core (core 1), each against
its own emulator (core 0), so that whatever slows the core slows both alike, and each one's CPU time for the same ids
is compared: per-round ratios then spread over a few percent. Each round runs both on ``--ids`` and on a fifth of
them; the difference is the per-id (marginal) cost, start-up and exit cancelled out.

    .venv/bin/python benchmarks/side_by_side.py                       # 25,000 ids, 7 rounds: ~1.5 min
    .venv/bin/python benchmarks/side_by_side.py --loop uvloop         # the CLI on uvloop (its default), the bare
                                                                      # loop on asyncio's, as a user would write it

Bounded: fixed id counts, a timeout per process, loopback only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    CLIENT_CORE,
    ORG,
    PYTHON,
    ROOT,
    SOURCE,
    bench_env,
    emulator,
    machine,
    median,
    pinned,
    precompile,
    versions,
    write_ids,
)


def run_pair(commands: dict[str, list[str]], env: dict[str, str], timeout_s: float) -> dict[str, float]:
    """Start both commands at once (pinned to the client core) and return each one's CPU seconds."""
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for name, cmd in commands.items():
        procs[name] = subprocess.Popen(pinned(cmd, CLIENT_CORE), env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    spent: dict[str, float] = {}
    deadline = time.monotonic() + timeout_s
    while len(spent) < len(procs):
        for name, proc in procs.items():
            if name in spent:
                continue
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if not pid:
                if time.monotonic() > deadline:
                    proc.kill()
                continue
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit(f"{name}: exit {os.waitstatus_to_exitcode(status)}")
            spent[name] = usage.ru_utime + usage.ru_stime
        time.sleep(0.01)
    return spent


def main(args: argparse.Namespace) -> None:
    precompile()
    small_n = args.ids // 5
    me = str(Path(__file__).resolve().parent / "throughput.py")
    env = bench_env(BULKDELETE_UVLOOP="1" if args.loop == "uvloop" else "0", MALLOC_MMAP_THRESHOLD_=str(1024 * 1024))
    cpu: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, emulator() as bulk_emu, emulator() as bare_emu:
        out = Path(tmp)
        files = {args.ids: write_ids(out / "ids.txt", args.ids), small_n: write_ids(out / "small.txt", small_n)}
        for round_no in range(args.rounds):
            for count, ids in files.items():
                bulk = [PYTHON, "-m", "bulkdelete", "coveo", "delete", "--base-url", bulk_emu.base_url, "--org", ORG]
                bulk += ["--source", SOURCE, "--rate", "0", "--concurrency", str(args.concurrency), "--no-progress"]
                bulk += ["-q", "-o", str(out / "r.jsonl"), "--overwrite", "--summary", str(out / "s.json"), str(ids)]
                bare = [PYTHON, me, "bare", bare_emu.base_url, str(ids), str(args.concurrency), str(out / "b.jsonl")]
                pair = {"bulkdelete": bulk, "bare": bare}
                if round_no % 2:  # who starts first alternates
                    pair = dict(reversed(pair.items()))
                for name, seconds in run_pair(pair, env, args.timeout).items():
                    cpu.setdefault((name, count), []).append(seconds)
    extra = args.ids - small_n
    per_id = {
        name: [(big - small) / extra * 1e6 for big, small in zip(cpu[name, args.ids], cpu[name, small_n], strict=True)]
        for name in ("bulkdelete", "bare")
    }
    marginal = [bare / bulk for bulk, bare in zip(per_id["bulkdelete"], per_id["bare"], strict=True)]
    whole = [bare / bulk for bulk, bare in zip(cpu["bulkdelete", args.ids], cpu["bare", args.ids], strict=True)]
    print(f"machine: {machine()}; {versions()}")
    print(f"ids: {args.ids:,} and {small_n:,} per round, {args.rounds} rounds, both clients at once on one core,")
    print(f"concurrency {args.concurrency}; bulkdelete on {args.loop}, the bare loop on asyncio\n")
    print("| | bulkdelete | bare aiohttp (JSONL) | bulkdelete's throughput ÷ bare's, median [min–max] |")
    print("|---|---:|---:|---:|")
    print(
        f"| CPU µs per id (marginal) | {median(per_id['bulkdelete']):.1f} | {median(per_id['bare']):.1f} "
        f"| {median(marginal):.3f}× [{min(marginal):.2f}–{max(marginal):.2f}] |"
    )
    print(
        f"| CPU s, whole process, {args.ids:,} ids | {median(cpu['bulkdelete', args.ids]):.2f} "
        f"| {median(cpu['bare', args.ids]):.2f} | {median(whole):.3f}× [{min(whole):.2f}–{max(whole):.2f}] |"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ids", type=int, default=25_000, help="ids per run (default 25000; a fifth for the small)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (default 7)")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight (default 64)")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio", help="the CLI's event loop")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per process (default 180)")
    main(parser.parse_args())
