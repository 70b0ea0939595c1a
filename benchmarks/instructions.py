"""CPU instructions per id: ``bulkdelete coveo delete --rate 0`` vs the bare aiohttp loop, counted by callgrind.

Wall-clock figures on a shared VM move by ±20% from one run to the next; an instruction count does not (repeat runs
agree within 0.3%). Each client runs under ``valgrind --tool=callgrind`` twice, on ``--small`` and on ``--large`` ids,
against the same emulator (its own process, not under valgrind); the difference divided by the difference in ids is
the cost of one more id, start-up cancelled out. Both clients are exactly those of ``throughput.py``: the real CLI
(JSON lines to a file, every feature on) and the bare loop writing one JSON line per result.

Instructions are a proxy, not the goal: they leave out system-call time and cache misses (``throughput.py`` measures
those), but they show every change to the hot path, however small, and were the guide for the work in RESULTS.md.

    .venv/bin/python benchmarks/instructions.py                    # 1,000 and 6,000 ids: ~3 min
    .venv/bin/python benchmarks/instructions.py --large 11000

Needs valgrind (Debian: ``apt install valgrind``). Loopback only; every run is bounded by a timeout.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ORG, PYTHON, ROOT, SOURCE, bench_env, emulator, machine, precompile, versions, write_ids

_COLLECTED = re.compile(r"Collected : (\d+)")


def clients(base: str, out: Path, concurrency: int, metrics: bool = False) -> dict[str, list[str]]:
    me = str(Path(__file__).resolve().parent / "throughput.py")
    bulk = ["coveo", "delete", "--base-url", base, "--org", ORG, "--source", SOURCE, "--rate", "0"]
    bulk += ["--concurrency", str(concurrency), "--no-progress", "-q", "-o", str(out / "results.jsonl"), "--overwrite"]
    bulk += ["--summary", str(out / "s.json")]
    runs = {
        "bulkdelete (JSONL to file)": [PYTHON, "-m", "bulkdelete", *bulk],  # valgrind wants the interpreter itself
        "bare aiohttp (JSONL to file)": [PYTHON, me, "bare", base, "{ids}", str(concurrency), str(out / "bare.jsonl")],
    }
    if metrics:  # --metrics: the same run serving /metrics (issue 25), its own output files
        served = [arg.replace("results.jsonl", "served.jsonl").replace("s.json", "served.json") for arg in bulk]
        runs["bulkdelete, --metrics-addr (JSONL to file)"] = [
            PYTHON, "-m", "bulkdelete", *served, "--metrics-addr", "127.0.0.1:0",
        ]  # fmt: skip
    return runs


def instructions(cmd: list[str], ids: Path, timeout_s: float) -> int:
    """Instructions executed by ``cmd`` on ``ids`` (the CLI takes the file as its last argument)."""
    argv = [arg.replace("{ids}", str(ids)) for arg in cmd]
    if not any(str(ids) in arg for arg in argv):
        argv.append(str(ids))
    full = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv]
    # asyncio's own loop, as the bare loop runs on (the CLI takes uvloop whenever it is installed)
    env = bench_env(BULKDELETE_UVLOOP="0")
    done = subprocess.run(full, capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout_s)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        sys.exit(f"{argv[:3]}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(args: argparse.Namespace) -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt install valgrind)")
    precompile()
    with tempfile.TemporaryDirectory() as tmp, emulator() as emu:
        tmp_path = Path(tmp)
        small = write_ids(tmp_path / "small.txt", args.small)
        large = write_ids(tmp_path / "large.txt", args.large)
        runs = clients(emu.base_url, tmp_path, args.concurrency, args.metrics)
        sizes = ((args.small, small), (args.large, large))
        jobs = {(name, size): (cmd, path) for name, cmd in runs.items() for size, path in sizes}
        with ThreadPoolExecutor(max_workers=2) as pool:  # two valgrind processes at once: one per core
            futures = {key: pool.submit(instructions, cmd, path, args.timeout) for key, (cmd, path) in jobs.items()}
            counts = {key: future.result() for key, future in futures.items()}
    per_id = {name: (counts[name, args.large] - counts[name, args.small]) / (args.large - args.small) for name in runs}
    bare = per_id["bare aiohttp (JSONL to file)"]
    print(f"machine: {machine()}; {versions()}")
    print(f"ids: {args.small:,} and {args.large:,}, concurrency {args.concurrency}, valgrind --tool=callgrind\n")
    print("| client | instructions per id | whole run of the small set | per id, vs bare (JSONL) |")
    print("|---|---:|---:|---:|")
    for name in runs:
        print(f"| {name} | {per_id[name]:,.0f} | {counts[name, args.small]:,} | {per_id[name] / bare:.3f}× |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per valgrind run")
    parser.add_argument("--metrics", action="store_true", help="also the CLI serving /metrics (--metrics-addr)")
    main(parser.parse_args())
