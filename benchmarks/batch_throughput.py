"""What batching buys: Coveo ``--mode batch`` on 1,000,000 ids next to per-item mode, and Velt batches of 30.

Run from the repo root (about 2-3 minutes, loopback only)::

    .venv/bin/python benchmarks/batch_throughput.py [--ids N] [--item-ids N] [--velt-ids N] [--write]

One emulator process (``python -m bulkdelete emulator --port 0 --quota 50/1s``) holds every id; each
scenario runs the real CLI as a separate process (``python -m bulkdelete … --summary FILE -o /dev/null``)
and reads its summary (requests sent, elapsed) and the emulator's ``/_emulator/stats`` (API requests it
served, uploads, documents left). Per-item mode at 50 requests/s would need about 5.6 hours for 1M ids, so it
is measured on ``--item-ids`` and the 1M figure is extrapolated from the measured rate (marked as such). Velt
runs at its default rate of 5 requests/s, batch size 30. ``--write`` stores the table in
benchmarks/RESULTS-batch.md.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
QUOTA, RATE = "50/1s", "50"
SECRET_ENV = {"COVEO_API_KEY": "bench-key", "VELT_API_KEY": "bench-key", "VELT_AUTH_TOKEN": "bench-token"}


@dataclass(frozen=True)
class Scenario:
    """``count`` ids made on the fly by ``make_id`` (never held in a list: the CLI's memory is what we measure)."""

    label: str
    count: int
    make_id: Callable[[int], str]
    args: list[str]

    def ids(self) -> Iterator[str]:
        return map(self.make_id, range(self.count))


@dataclass(frozen=True)
class Measured:
    label: str
    ids: int
    wall_s: float
    run_s: float
    requests: int
    api_requests: int
    uploads: int
    not_deleted: int
    outcomes: dict[str, int]
    max_rss_mb: float
    exit_code: int

    @property
    def ids_per_s(self) -> float:
        return self.ids / self.run_s

    def hours_for(self, total: int) -> float:
        return total / self.ids_per_s / 3600


def coveo_id(prefix: str) -> Callable[[int], str]:
    return lambda i: f"https://www.example.com/{prefix}/folder-{i // 1000}/document-{i}.html"


def write_ids(path: Path, ids: Iterator[str]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(f"{i}\n" for i in ids)


class PeakRss:
    """Polls ``VmHWM`` of a child in ``/proc`` (``wait4``'s ``ru_maxrss`` would include this parent's own RSS,
    inherited through fork and exec)."""

    def __init__(self, pid: int) -> None:
        self._path, self.mb = Path(f"/proc/{pid}/status"), 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._done.wait(0.05):
            try:
                found = re.search(r"VmHWM:\s+(\d+) kB", self._path.read_text())
            except OSError:
                return
            if found:
                self.mb = max(self.mb, int(found[1]) / 1024)

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return self.mb


def start_emulator(docs: Path) -> tuple[subprocess.Popen[str], str]:
    """The emulator on a free loopback port; returns the process and its base URL (read from its banner)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bulkdelete",
            "emulator",
            "--port",
            "0",
            "--quota",
            QUOTA,
            "--docs",
            str(docs),
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    banner = proc.stderr.readline()
    match = re.search(r"listening on (http://\S+)", banner)
    if match is None:
        proc.kill()
        raise SystemExit(f"the emulator did not start: {banner!r}")
    return proc, match[1]


def admin(base_url: str, path: str, method: str = "GET") -> Any:
    request = urllib.request.Request(
        f"{base_url}/_emulator/{path}", method=method, data=b"" if method == "POST" else None
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return orjson.loads(response.read())


def run_cli(scenario: Scenario, base_url: str, tmp: Path) -> Measured:
    """One CLI run as a child process: its summary, the emulator's counters and the child's peak RSS."""
    ids_file, summary_file = tmp / f"{scenario.label}.ids", tmp / f"{scenario.label}.summary.json"
    write_ids(ids_file, scenario.ids())
    admin(base_url, "reset-stats", "POST")
    before = admin(base_url, "stats")["documents_left"]
    argv = [
        sys.executable,
        "-m",
        "bulkdelete",
        *scenario.args,
        "--base-url",
        base_url,
        "--summary",
        str(summary_file),
        "-o",
        os.devnull,
        "--no-progress",
        "-q",
        str(ids_file),
    ]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("COVEO_", "VELT_"))}, **SECRET_ENV}
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    peak = PeakRss(proc.pid)
    proc.wait()
    rss_mb = peak.stop()
    wall = time.perf_counter() - started
    summary = orjson.loads(summary_file.read_bytes())
    stats = admin(base_url, "stats")
    return Measured(
        label=scenario.label,
        ids=scenario.count,
        wall_s=wall,
        run_s=summary["elapsed_s"],
        requests=summary["requests"],
        api_requests=stats["requests"],
        uploads=stats["uploads"],
        not_deleted=scenario.count - (before - stats["documents_left"]),
        outcomes=summary["outcomes"],
        max_rss_mb=rss_mb,
        exit_code=proc.returncode,
    )


def table(results: list[Measured], total: int) -> str:
    head = (
        f"| scenario | ids | run s | wall s | ids/s | client requests | API requests | uploads "
        f"| time for {total:,} ids | not deleted | peak RSS MB | exit |"
    )
    rows = [head, "|" + "---|" * 12]
    for m in results:
        hours = m.hours_for(total)
        when = f"{m.run_s:,.1f} s (measured)" if m.ids >= total else f"≈ {hours:,.2f} h (extrapolated)"
        cells = [m.label, f"{m.ids:,}", f"{m.run_s:,.1f}", f"{m.wall_s:,.1f}", f"{m.ids_per_s:,.0f}"]
        cells += [f"{m.requests:,}", f"{m.api_requests:,}", f"{m.uploads:,}", when, f"{m.not_deleted:,}"]
        cells += [f"{m.max_rss_mb:,.0f}", str(m.exit_code)]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        model = found[1].strip() if found else model
    return (
        f"{platform.system()} {platform.release()}, {model}, nproc {os.cpu_count()}, Python {platform.python_version()}"
    )


def scenarios(total: int, item_ids: int, velt_ids: int) -> list[Scenario]:
    coveo = ["coveo", "delete", "--org", "bench-org", "--source", "bench-src", "--rate", RATE]
    return [
        Scenario("coveo batch", total, coveo_id("batch"), [*coveo, "--mode", "batch"]),
        Scenario("coveo per item", item_ids, coveo_id("item"), [*coveo, "--mode", "item"]),
        Scenario(
            "velt batch 30",
            velt_ids,
            "velt-doc-{}".format,
            ["velt", "delete", "--org", "bench-org", "--batch-size", "30"],
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--ids", type=int, default=1_000_000, help="ids for the Coveo batch run")
    parser.add_argument("--item-ids", type=int, default=2_000, help="ids for the Coveo per-item run")
    parser.add_argument("--velt-ids", type=int, default=3_000, help="ids for the Velt run")
    parser.add_argument("--write", action="store_true", help="write benchmarks/RESULTS-batch.md")
    args = parser.parse_args()
    plan = scenarios(args.ids, args.item_ids, args.velt_ids)
    results: list[Measured] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        docs = tmp / "docs.txt"
        write_ids(docs, itertools.chain.from_iterable(scenario.ids() for scenario in plan))
        emulator, base_url = start_emulator(docs)
        try:
            for scenario in plan:
                print(f"running {scenario.label} on {scenario.count:,} ids…", file=sys.stderr, flush=True)
                results.append(run_cli(scenario, base_url, tmp))
        finally:
            emulator.terminate()
            emulator.wait(10)
    report(results, args.ids, args)


def report(results: list[Measured], total: int, args: argparse.Namespace) -> None:
    text = table(results, total)
    batch, item = results[0], results[1]
    speedup = batch.ids_per_s / item.ids_per_s
    per_million = {m.label: m.api_requests * 1_000_000 / m.ids for m in results}
    lines = [
        text,
        "",
        f"Speed-up of --mode batch over per-item mode at the same {QUOTA} quota and --rate {RATE}: "
        f"{speedup:,.0f}x in ids/s; API requests per 1M ids: batch {per_million['coveo batch']:,.0f}, "
        f"per item {per_million['coveo per item']:,.0f}.",
        "Outcomes: " + "; ".join(f"{m.label} {m.outcomes}" for m in results) + ".",
        f"Coveo batches averaged {batch.ids / max(batch.uploads, 1):,.0f} ids; the batch run used "
        f"{batch.requests / batch.run_s:,.1f} requests/s of the {RATE} allowed, so it was bound by the CLI's "
        "per-record CPU cost (reading, de-duplicating, one result line per id), not by the quota.",
    ]
    print("\n".join(lines))
    if args.write:
        write_results(lines, args)


def write_results(lines: list[str], args: argparse.Namespace) -> None:
    command = (
        f".venv/bin/python benchmarks/batch_throughput.py --ids {args.ids} --item-ids {args.item_ids} "
        f"--velt-ids {args.velt_ids} --write"
    )
    body = [
        "# Batch throughput: Coveo --mode batch vs per item, and Velt batches",
        "",
        f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d')}.",
        "",
        f"Command: `{command}`",
        "",
        f"One emulator process on 127.0.0.1 with `--quota {QUOTA}` holds every id; each scenario is the "
        f"real CLI in its own process at `--rate {RATE}` (Velt: its default `--rate 5`, `--batch-size 30`), "
        "results to /dev/null. *run s* is the run's own elapsed time (summary `elapsed_s`), *wall s* adds "
        "process start-up; *ids/s* = ids / run s. *client requests* count every request the CLI sent (a "
        "Coveo batch is three: create container, upload, push); *API requests* are those the emulator's "
        "Push/Velt API served (the upload goes to the S3-like side: *uploads*). Per-item mode is measured on "
        "a sample and extrapolated to the full count at the measured rate. *peak RSS* is the CLI process's `VmHWM`.",
        "",
        *lines,
        "",
    ]
    (ROOT / "benchmarks" / "RESULTS-batch.md").write_text("\n".join(body), encoding="utf-8")


if __name__ == "__main__":
    main()
