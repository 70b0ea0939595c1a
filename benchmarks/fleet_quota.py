"""Many processes, one quota (SPEC §12, issue 20): N CLI processes against one strict ``--quota R/1s``.

For each R and N, a fresh emulator (pinned to core 0) enforces ``--quota R/1s`` and counts, on its own clock, the
requests, the 429s and the most requests started in any 1 s window (``/_emulator/stats``). N processes of
``bulkdelete coveo delete --rate R --rate-store redis://…`` (pinned to core 1, next to a fresh ``redis-server``) each
delete their share of ``R × D`` ids (D s of work for the fleet). Next to it, the same N processes with the rate split
by hand (``--rate R/N`` each, no store).

* *sustained / R*: ids accepted ÷ (R × the fleet's span), the span running from the first result line's ``ts`` of
  any process to the last of any: the goal is ≥ 0.95 with a store (start-up and tail included);
* *max in any 1 s* (≤ R) and *429s* (0): the emulator's own counts;
* *round trips / request*: the grant script's calls (``INFO commandstats``) ÷ requests (goal ≤ 0.25 at R ≥ 100).

    .venv/bin/python benchmarks/fleet_quota.py                          # R = 100, 1000; N = 1, 2, 4, 8, 16; D = 10
    .venv/bin/python benchmarks/fleet_quota.py --rates 100 --fleets 4 --seconds 5

Bounded: a timeout per process, loopback only; needs ``redis-server`` on the PATH and ``bulkdelete[redis]``.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import orjson
import redis
from common import (
    CLIENT_CORE,
    ORG,
    ROOT,
    SOURCE,
    bench_env,
    cli,
    emulator,
    machine,
    pinned,
    precompile,
    versions,
    write_ids,
)


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    server = shutil.which("redis-server") or sys.exit("redis-server is not installed")
    cmd = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(pinned([*cmd, "--dir", str(folder)], CLIENT_CORE), stdout=subprocess.DEVNULL)
    try:
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.02)
        yield port
    finally:
        proc.kill()
        proc.wait()


def evalsha_calls(port: int) -> int:
    """How many times the grant script ran (``EVALSHA``), by the server's own count."""
    stats = redis.Redis(port=port).info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def one_fleet(rate: int, fleet: int, seconds: float, tmp: Path, shared: bool) -> dict[str, float | int | str]:
    total = int(rate * seconds)
    share = total // fleet
    with emulator("--quota", f"{rate}/1s") as emu, redis_server(tmp) as port:
        procs = []
        for n in range(fleet):
            ids = write_ids(tmp / f"ids-{n}.txt", share, offset=n * share)
            args = ["--rate", str(rate), "--rate-store", f"redis://127.0.0.1:{port}/0"] if shared else []
            args = args or ["--rate", f"{rate / fleet:g}"]
            cmd = cli(
                "coveo", "delete", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE, *args,
                "--no-progress", "-q", "-o", str(tmp / f"out-{n}.jsonl"), "--overwrite", str(ids),
            )  # fmt: skip
            procs.append(subprocess.Popen(pinned(cmd, CLIENT_CORE), env=bench_env(), cwd=ROOT))
        codes = [proc.wait(timeout=seconds * 4 + 120) for proc in procs]
        if any(codes):
            sys.exit(f"R={rate} N={fleet}: exits {codes}")
        stats = emu.stats()
        calls = evalsha_calls(port) if shared else 0
    stamps = []
    for n in range(fleet):
        for raw in (tmp / f"out-{n}.jsonl").read_bytes().splitlines():
            line = orjson.loads(raw)
            if line["ok"]:
                stamps.append(datetime.fromisoformat(line["ts"].replace("Z", "+00:00")).timestamp())
    span = max(stamps) - min(stamps)
    accepted = stats["by_status"].get("202", 0)
    return {
        "rate": rate,
        "fleet": fleet,
        "mode": "store" if shared else "R/N each",
        "accepted": accepted,
        "span": span,
        "sustained": accepted / (rate * span) if span > 0 else 0.0,
        "throttled": stats["throttled"],
        "max_per_second": stats["max_per_second"],
        "round_trips": calls / stats["requests"] if stats["requests"] else 0.0,
    }


def main(args: argparse.Namespace) -> None:
    precompile()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for rate in args.rates:
            for fleet in args.fleets:
                for shared in (True, False):
                    row = one_fleet(rate, fleet, args.seconds, Path(tmp), shared)
                    print(f"{row}", file=sys.stderr)
                    rows.append(row)
    print(f"machine: {machine()}; {versions()}")
    print(f"each process: bulkdelete coveo delete --rate R --rate-store redis://… (or --rate R/N), {args.seconds:g} s")
    print()
    print(
        "| R req/s | processes | rate | accepted | span s | sustained / R | 429s | max in any 1 s | round trips / req |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        trips = f"{row['round_trips']:.3f}" if row["mode"] == "store" else "-"
        print(
            f"| {row['rate']} | {row['fleet']} | {row['mode']} | {row['accepted']:,} | {row['span']:.2f} "
            f"| {row['sustained']:.3f} | {row['throttled']} | {row['max_per_second']} | {trips} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=int, nargs="+", default=[100, 1000], help="R values (req/s)")
    parser.add_argument("--fleets", type=int, nargs="+", default=[1, 2, 4, 8, 16], help="process counts")
    parser.add_argument("--seconds", type=float, default=10.0, help="D: seconds of work for the fleet (default 10)")
    main(parser.parse_args())
