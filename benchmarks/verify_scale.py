"""Verification at scale (issue 19): 100,000 ids checked against the emulator's index.

Three runs of ``bulkdelete coveo verify`` (the real CLI, pinned to core 1) against the emulator (core 0):

* **all gone**: the index no longer holds any of the N ids: one pass decides every id (``--wait 15m``, the default:
  nothing is left to wait for);
* **all pending**: the index still holds every id, ``--wait 0``: one pass, then every id waits in the spool for the
  last logs round and is called ``present``: memory against *all gone* shows what pending ids cost;
* **mixed**: 1% of the ids still in the index, ``--wait 1m --interval 20s``: the pending ones are asked again in
  later rounds, the rest decided in the first pass.

Each at the default rate (5 queries/s, 100 ids a query) or ``--rate R``. Queries are the emulator's counts (searches
and log queries); peak RSS is the child's own ``VmHWM`` (``common.run_measured``). A run of 10,000 ids next to it
shows how memory grows with the number of ids (one digest per distinct id, for de-duplication) and not with the ids
pending.

    .venv/bin/python benchmarks/verify_scale.py                      # 100,000 ids at the default rate: ~12 min
    .venv/bin/python benchmarks/verify_scale.py --rate 0             # as fast as the emulator answers: ~1 min

Bounded: fixed counts, a timeout per process, loopback only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ORG, SOURCE, Measured, bench_env, cli, emulator, machine, run_measured, versions, write_ids


def verify(base: str, ids: Path, rate: str, tmp: Path, *extra: str) -> Measured:
    cmd = cli(
        "coveo", "verify", "--base-url", base, "--org", ORG, "--source", SOURCE, "--rate", rate,
        "--no-progress", "-q", "-o", str(tmp / "verdicts.jsonl"), "--overwrite", *extra, str(ids),
    )  # fmt: skip
    result = run_measured(cmd, env=bench_env(), timeout_s=3600)
    if result.returncode not in (0, 1):
        sys.exit(f"verify: exit {result.returncode}\n{result.stderr}")
    return result


def one(label: str, count: int, docs: int, rate: str, extra: tuple[str, ...], tmp: Path) -> list[str]:
    ids = write_ids(tmp / f"ids-{count}.txt", count)
    doc_file = write_ids(tmp / f"docs-{docs}.txt", docs)
    with emulator("--docs", str(doc_file)) as emu:
        result = verify(emu.base_url, ids, rate, tmp, *extra)
        stats = emu.stats()
    lines = (tmp / "verdicts.jsonl").read_bytes().count(b"\n")
    gone = (tmp / "verdicts.jsonl").read_bytes().count(b'"verdict":"gone"')
    queries = stats["searches"] + stats["log_queries"]
    row = (
        f"| {label} | {count:,} | {docs:,} | {rate} | {' '.join(extra)} | {lines:,} | {gone:,} | {stats['searches']:,}"
        f" | {stats['log_queries']:,} | {queries:,} | {result.wall_s:.1f} | {result.max_rss_mb:.1f} |"
    )
    print(row, file=sys.stderr)
    return [row]


def main(args: argparse.Namespace) -> None:
    rows: list[str] = []
    n = args.ids
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        rows += one("all gone", n, 0, args.rate, (), tmp)
        rows += one("all pending", n, n, args.rate, ("--wait", "0"), tmp)
        rows += one("1% pending", n, n // 100, args.rate, ("--wait", "1m", "--interval", "20s"), tmp)
        rows += one("all pending, small", n // 10, n // 10, args.rate, ("--wait", "0"), tmp)
    print(f"machine: {machine()}; {versions()}")
    print()
    print(
        "| run | ids | in the index | --rate | flags | lines | gone | searches | log queries | queries | wall s"
        " | peak RSS MB |"
    )
    print("|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ids", type=int, default=100_000, help="ids to verify")
    parser.add_argument("--rate", default="5", help="queries per second (default 5: verify's default)")
    main(parser.parse_args())
