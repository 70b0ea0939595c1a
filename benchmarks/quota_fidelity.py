"""Quota fidelity: the real CLI ``bulkdelete coveo delete --rate R`` against a strict sliding-window quota of R/1 s.

For each R, a fresh emulator (pinned to core 0) enforces ``--quota R/1s`` (a start past R in any sliding 1 s window is
answered 429) and counts, per the server's own clock: requests, 429s and the most requests started in any 1 s window
(``/_emulator/stats``: ``requests``, ``throttled``, ``max_per_second``). The CLI (pinned to core 1) runs with
``--rate R --concurrency 64 --stop-after D`` on more ids than it can send in D seconds, JSON lines to a file.

*achieved / R* = requests the server accepted (202) ÷ (R × D): the SPEC asks ≥ 0.97 with zero 429s and
never more than R in any 1 s window.

    .venv/bin/python benchmarks/quota_fidelity.py                    # R = 10 (20 s), 100 (15 s), 1000 (10 s)
    .venv/bin/python benchmarks/quota_fidelity.py --rates 1000 --seconds 10 --repeat 3
    .venv/bin/python benchmarks/quota_fidelity.py --rates 800 --seconds 60 --fail-rate 0.05 --reset-rate 0.02

With ``--fail-rate``/``--reset-rate`` the emulator answers that fraction 503 / drops the connection unanswered (seeded:
``--seed``); the client retries them, so a run also shows whether a retry or a fresh connection after a drop breaks the
bound. *achieved / R* then counts every request the quota let through (202 and 503: both used a slot of the quota),
and *started / R* every request the server saw start (those dropped too: the client spent a slot on each). The
verdict reads *started / R*, the pacing's share of the quota, which drops take from *achieved* (2% drops: ~0.958).

With ``--wire`` (tcpdump, root) it also counts the requests the client put on the wire, stamped by the kernel
(*on the wire*): the emulator's own count is stamped by its event loop, and a pause of the emulator stamps the
requests it held together (``benchmarks/wire.py``).

    sudo .venv/bin/python benchmarks/quota_fidelity.py --rates 800 --seconds 30 --reset-rate 0.02 --wire

Bounded: D seconds per run (--stop-after), a timeout per process, loopback only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ORG, SOURCE, bench_env, cli, emulator, machine, run_measured, versions, write_ids
from wire import can_capture, wire_capture

DEFAULT_SECONDS = {10: 20.0, 100: 15.0, 1000: 10.0}


def one_run(
    rate: int, seconds: float, tmp: Path, concurrency: int, faults: list[str], wire: bool
) -> dict[str, float | int]:
    ids = write_ids(tmp / f"ids-{rate}.txt", int(rate * seconds * 1.5) + 100)
    summary_path = tmp / "summary.json"
    with contextlib.ExitStack() as stack:
        emu = stack.enter_context(emulator("--quota", f"{rate}/1s", *faults))
        port = int(emu.base_url.rsplit(":", 1)[1])
        capture = stack.enter_context(wire_capture(port, b"DELETE", tmp / "wire.txt")) if wire else None
        cmd = cli(
            "coveo", "delete", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE,
            "--rate", str(rate), "--concurrency", str(concurrency), "--stop-after", f"{seconds:g}",
            "--no-progress", "-q", "-o", str(tmp / "results.jsonl"), "--overwrite",
            "--summary", str(summary_path), str(ids),
        )  # fmt: skip
        result = run_measured(cmd, env=bench_env(), timeout_s=seconds + 60)
        if result.returncode not in (0, 4):
            sys.exit(f"R={rate}: exit {result.returncode}\n{result.stderr}")
        stats = emu.stats()
    on_wire = capture.max_per_second() if capture is not None else -1
    summary = json.loads(summary_path.read_text())
    # Every request the quota let through used a slot of it: 202s, and 503s (the fault comes after the quota check).
    accepted = stats["by_status"].get("202", 0) + stats["by_status"].get("503", 0)
    return {
        "rate": rate,
        "seconds": seconds,
        "accepted": accepted,
        "achieved": accepted / (rate * seconds),
        "achieved_run": accepted / (rate * summary["elapsed_s"]),
        "started": stats["requests"] / (rate * seconds),
        "throttled": stats["throttled"],
        "max_per_second": stats["max_per_second"],
        "on_wire": on_wire,
        "resets": stats.get("resets", 0),
        "client_cpu": result.cpu_s / summary["elapsed_s"],
    }


def main(args: argparse.Namespace) -> None:
    rows = []
    faults = ["--fail-rate", str(args.fail_rate), "--reset-rate", str(args.reset_rate), "--seed", str(args.seed)]
    with tempfile.TemporaryDirectory() as tmp:
        for rate in args.rates:
            seconds = args.seconds or DEFAULT_SECONDS.get(rate, 10.0)
            for _ in range(args.repeat):
                row = one_run(rate, seconds, Path(tmp), args.concurrency, faults, args.wire)
                print(f"R={rate}: {row}", file=sys.stderr)
                rows.append(row)
    print(f"machine: {machine()}; {versions()}")
    print(f"client: bulkdelete coveo delete --rate R --concurrency {args.concurrency} --stop-after D")
    print(f"emulator: --quota R/1s {' '.join(faults)}")
    print()
    columns = (
        "R req/s | D s | accepted | achieved / R | started / R | 429s | max in any 1 s | on the wire | dropped "
        "| client CPU"
    )
    print(f"| {columns} | verdict |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        ok = row["started"] >= 0.97 and row["throttled"] == 0 and row["max_per_second"] <= row["rate"]
        print(
            f"| {row['rate']} | {row['seconds']:g} | {row['accepted']:,} "
            f"| {row['achieved']:.3f} | {row['started']:.3f} "
            f"| {row['throttled']} | {row['max_per_second']} | {row['on_wire'] if row['on_wire'] >= 0 else '-'} "
            f"| {row['resets']} | {row['client_cpu']:.0%} "
            f"| {'ok' if ok else 'SHORT'} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=int, nargs="+", default=[10, 100, 1000], help="R values (req/s)")
    parser.add_argument("--seconds", type=float, help="D for every R (default: 20, 15, 10 s)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per R (default 1)")
    parser.add_argument("--concurrency", type=int, default=64, help="--concurrency of the CLI (default 64)")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="emulator --fail-rate: fraction answered 503")
    parser.add_argument("--reset-rate", type=float, default=0.0, help="emulator --reset-rate: fraction dropped")
    parser.add_argument("--seed", type=int, default=1, help="emulator --seed (default 1)")
    parser.add_argument("--wire", action="store_true", help="count starts on the wire too (tcpdump)")
    arguments = parser.parse_args()
    if arguments.wire and (why := can_capture()):
        parser.error(f"--wire: {why}")
    main(arguments)
