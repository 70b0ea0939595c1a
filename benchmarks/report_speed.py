"""How long ``bulkdelete report`` takes on a 1M-line results file, and how big the page is (SPEC §9: < 20 s, ≤ 8 MB).

The results file is made up but shaped as a real run writes it (SPEC §4, ``ts`` and ``request_id`` included): a run
of ``--records`` records at ``--rate`` records per second, with 0.3% failed (errors and request ids), 1% retried and
a 429 storm in the middle; the summary beside it has the matching per-second timeline. Each round runs the whole
command (``python -m bulkdelete report``: start-up, imports, the streamed pass, the charts, writing the page) as its
own process; the figure is the median wall-clock time of ``--rounds``. No network at all.

    .venv/bin/python benchmarks/report_speed.py                    # 1,000,000 lines, 3 rounds
    .venv/bin/python benchmarks/report_speed.py --records 200000 --rounds 1
    .venv/bin/python benchmarks/report_speed.py --shards 16         # the same lines as 16 shards' files (SPEC §12)
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, ROOT, bench_env, machine, median, versions

START = datetime(2026, 12, 1, 18, 0, 0, tzinfo=UTC)


def _ts(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_run(folder: Path, records: int, rate: float, seed: int = 1, shards: int = 1) -> tuple[list[Path], Path]:
    """Results files (one, or ``shards`` of a sharded job: record n in file n mod shards) of ``records`` lines in all
    and the job's summary (with a timeline), as a run at ``rate``/s writes them."""
    rng = random.Random(seed)
    duration = records / rate
    storm = (duration * 0.45, duration * 0.5)  # a 429 storm: retried records, a pause
    rows = [{"t": t, "sent": 0, "ok": 0, "not_ok": 0, "throttled": 0, "retries": 0, "in_flight": 16,
             "rate_target": rate, "paused_s": 0.0} for t in range(int(duration) + 1)]  # fmt: skip
    results = [folder / (f"results-{i}.jsonl" if shards > 1 else "results.jsonl") for i in range(shards)]
    outs = [path.open("wb") for path in results]
    try:
        for n in range(records):
            out = outs[n % shards]
            at = n / rate + rng.random() * 0.01
            row = rows[int(at)]
            in_storm = storm[0] <= at < storm[1]
            attempts = 1 + (rng.random() < (0.5 if in_storm else 0.01))
            failed = rng.random() < 0.003
            status = (500 if rng.random() < 0.5 else 400) if failed else 202
            doc = {
                "id": f"https://example.com/docs/{n}/page.html", "outcome": "failed" if failed else "accepted",
                "ok": not failed, "status": status, "attempts": attempts,
                "error": f"{status} INTERNAL_ERROR: something broke (X-Request-ID r-{n})" if failed else None,
                "latency_ms": round(rng.lognormvariate(3.0, 0.5 if not in_storm else 0.9), 3), "line": n + 1,
                "ts": _ts(at), "request_id": f"r-{n:08x}",
            }  # fmt: skip
            out.write(orjson.dumps(doc, option=orjson.OPT_APPEND_NEWLINE))
            row["sent"] += attempts
            row["retries"] += attempts - 1
            row["throttled"] += attempts - 1 if in_storm else 0
            row["paused_s"] = 0.4 if in_storm else 0.0
            row["not_ok" if failed else "ok"] += 1
    finally:
        for out in outs:
            out.close()
    requests = sum(row["sent"] for row in rows)
    summary = {
        "version": "bench", "started_at": _ts(0), "finished_at": _ts(duration), "records": records,
        "target": {"api": "coveo", "org": "bench", "source": "src", "base_url": "http://127.0.0.1", "mode": "item"},
        "ok": sum(row["ok"] for row in rows), "not_ok": sum(row["not_ok"] for row in rows), "requests": requests,
        "retries": sum(row["retries"] for row in rows), "throttled": sum(row["throttled"] for row in rows),
        "elapsed_s": duration, "rate_per_s": rate, "paused_s": sum(row["paused_s"] for row in rows),
        "latency_ms": {"p50": 20.0, "p90": 38.0, "p99": 65.0, "max": 900.0}, "exit_code": 1, "rate_final": rate,
        "quota_found": None, "timeline": rows,
    }  # fmt: skip
    summary_path = folder / "summary.json"
    summary_path.write_bytes(orjson.dumps(summary))
    return results, summary_path


def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results, summary = write_run(folder, args.records, args.rate, shards=args.shards)
        page = folder / "report.html"
        files = [str(path) for path in results]
        cmd = [PYTHON, "-m", "bulkdelete", "report", *files, "--summary", str(summary), "-o", str(page)]
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, env=bench_env(), cwd=ROOT, timeout=600)
            times.append(time.perf_counter() - started)
        size = page.stat().st_size
        mb = sum(path.stat().st_size for path in results) / 1e6
    print(f"machine: {machine()}; {versions()}")
    where = f"{args.shards} results files" if args.shards > 1 else "results file"
    print(f"{where}: {args.records:,} lines ({mb:,.0f} MB), a run of {args.records / args.rate:,.0f} s")
    print(f"bulkdelete report: median {median(times):.1f} s of {args.rounds} ({', '.join(f'{t:.1f}' for t in times)})")
    print(f"page: {size / 1e6:.2f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=300.0, help="records per second of the made-up run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shards", type=int, default=1, help="split the lines among this many results files")
    main(parser.parse_args())
