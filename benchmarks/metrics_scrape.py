"""How long a scrape of ``/metrics`` takes while the CLI sends thousands of requests a second (issue 25).

The CLI (``coveo delete --rate R --metrics-addr``, pinned to its own core) deletes against the emulator (the other
core) while this process scrapes ``/metrics`` every ``--every`` seconds, timing each answer from connect to the last
byte. Only the scrapes inside the steady part of the run count (after the first second, before the last), and the
rate the server saw over the run is printed beside them: a scrape waits for the GIL, which the loop's thread gives up
every 5 ms, so its latency is the figure that shows whether the server really answers while the loop is busy.

    .venv/bin/python benchmarks/metrics_scrape.py                   # 5,000 req/s for ~12 s
    .venv/bin/python benchmarks/metrics_scrape.py --rate 0 --ids 80000   # the loop as busy as it gets
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CLIENT_CORE, ORG, ROOT, SOURCE, bench_env, cli, emulator, machine, pinned, versions, write_ids

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def scrape_ms(url: str) -> float | None:
    started = time.perf_counter()
    try:
        with _NO_PROXY.open(url, timeout=5) as answer:
            answer.read()
    except OSError:
        return None
    return (time.perf_counter() - started) * 1000.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def main(args: argparse.Namespace) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    with tempfile.TemporaryDirectory() as tmp, emulator() as emu:
        ids = write_ids(Path(tmp) / "ids.txt", args.ids)
        cmd = cli("coveo", "delete", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE)
        cmd += ["--rate", str(args.rate), "--concurrency", str(args.concurrency), "--no-progress", "-q"]
        cmd += ["-o", str(Path(tmp) / "out.jsonl"), "--metrics-addr", f"127.0.0.1:{port}", str(ids)]
        proc = subprocess.Popen(pinned(cmd, CLIENT_CORE), env=bench_env(), cwd=ROOT, stderr=subprocess.DEVNULL)
        samples: list[tuple[float, float]] = []  # (seconds since the first answer, ms)
        first: float | None = None
        while proc.poll() is None:
            ms = scrape_ms(url)
            now = time.monotonic()
            if ms is not None:
                first = now if first is None else first
                samples.append((now - first, ms))
            time.sleep(args.every)
        seen = emu.stats()
    span = samples[-1][0] if samples else 0.0
    steady = [ms for t, ms in samples if 1.0 <= t <= span - 1.0]
    if proc.returncode != 0 or not steady:
        sys.exit(f"the run exited {proc.returncode} with {len(steady)} steady scrapes")
    print(f"machine: {machine()}; {versions()}")
    print(f"ids {args.ids:,}, --rate {args.rate}, --concurrency {args.concurrency}, a scrape every {args.every:g} s\n")
    print("| rate sent (server's max in 1 s) | requests | scrapes | p50 ms | p99 ms | max ms |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {seen['max_per_second']:,} | {seen['requests']:,} | {len(steady)} | {percentile(steady, 50):.1f} | "
        f"{percentile(steady, 99):.1f} | {max(steady):.1f} |"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ids", type=int, default=60_000)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--every", type=float, default=0.1, help="seconds between scrapes")
    main(parser.parse_args())
