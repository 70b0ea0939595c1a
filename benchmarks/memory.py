"""Memory: peak RSS of the CLI against input size, with and without de-duplication.

``bulkdelete coveo delete --dry-run -`` reads N distinct ids from stdin (a generator process pipes them in: nothing
is held on disk), validates and de-duplicates them and writes one JSON line each to /dev/null. Peak RSS is the
child's own ``VmHWM`` (``common.run_measured``, polled from ``/proc``). SPEC §6: a 1,000,000-id ``--no-dedupe`` run
peaks within 1.25× the RSS of a 20,000-id run, and default de-duplication costs at most ~100 bytes per distinct id:
*dedupe bytes/id* = (RSS with dedupe − RSS without) ÷ N.

``--network N`` adds real runs (``--rate 0 --concurrency 64`` against the emulator) of 20,000 and N ids.

    .venv/bin/python benchmarks/memory.py                               # 10k, 20k, 1M, 10M ids
    .venv/bin/python benchmarks/memory.py --sizes 20000 1000000 --network 1000000

Bounded: fixed sizes, a timeout per process, loopback only.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    ORG,
    PYTHON,
    SERVER_CORE,
    SOURCE,
    Measured,
    bench_env,
    cli,
    emulator,
    machine,
    pinned,
    run_measured,
    versions,
    write_ids,
)

GENERATOR = (
    "import sys\n"
    "n = int(sys.argv[1]); out = sys.stdout\n"
    "for start in range(0, n, 100_000):\n"
    "    out.write(''.join(f'https://example.com/item/{i} ?&#+%\\n' for i in range(start, min(start + 100_000, n))))\n"
)


def dry_run(count: int, dedupe: bool, timeout_s: float) -> Measured:
    gen = subprocess.Popen(pinned([PYTHON, "-c", GENERATOR, str(count)], SERVER_CORE), stdout=subprocess.PIPE)
    assert gen.stdout is not None
    try:
        flags = [] if dedupe else ["--no-dedupe"]
        cmd = cli("coveo", "delete", "--dry-run", *flags, "--no-progress", "-q", "-o", "/dev/null", "-")
        result = run_measured(cmd, stdin=gen.stdout, env=bench_env(), timeout_s=timeout_s)
    finally:
        gen.stdout.close()
        gen.wait(timeout=30)
    if result.returncode != 0:
        sys.exit(f"dry run of {count} ids: exit {result.returncode}\n{result.stderr}")
    return result


def network_run(base: str, count: int, tmp: Path, timeout_s: float) -> Measured:
    ids = write_ids(tmp / f"net-{count}.txt", count)
    cmd = cli(
        "coveo", "delete", "--base-url", base, "--org", ORG, "--source", SOURCE, "--rate", "0",
        "--concurrency", "64", "--no-progress", "-q", "-o", str(tmp / "net.jsonl"), "--overwrite", str(ids),
    )  # fmt: skip
    result = run_measured(cmd, env=bench_env(), timeout_s=timeout_s)
    if result.returncode != 0:
        sys.exit(f"network run of {count} ids: exit {result.returncode}\n{result.stderr}")
    return result


def main(args: argparse.Namespace) -> None:
    rows: list[tuple[str, int, Measured, Measured | None]] = []
    for count in args.sizes:
        timeout = 120 + count * 50e-6
        plain = dry_run(count, dedupe=False, timeout_s=timeout)
        deduped = dry_run(count, dedupe=True, timeout_s=timeout)
        print(f"{count}: {plain.max_rss_mb:.1f} MB / {deduped.max_rss_mb:.1f} MB", file=sys.stderr)
        rows.append(("dry run, stdin", count, plain, deduped))
    if args.network:
        with tempfile.TemporaryDirectory() as tmp, emulator() as emu:
            for count in sorted({20_000, *args.network}):
                result = network_run(emu.base_url, count, Path(tmp), timeout_s=120 + count * 2e-3)
                print(f"network {count}: {result.max_rss_mb:.1f} MB", file=sys.stderr)
                rows.append(("network, --rate 0 -c 64 (dedupe)", count, result, None))
    report(rows)


def report(rows: list[tuple[str, int, Measured, Measured | None]]) -> None:
    print(f"machine: {machine()}; {versions()}")
    print()
    print("| run | ids | peak RSS --no-dedupe MB | peak RSS dedupe MB | dedupe bytes/id | s (no-dedupe / dedupe) |")
    print("|---|---:|---:|---:|---:|---|")
    base = {name: plain.max_rss_mb for name, count, plain, _ in rows if count == 20_000}
    for name, count, plain, deduped in rows:
        if deduped is None:
            print(f"| {name} | {count:,} | - | {plain.max_rss_mb:.1f} | - | {plain.wall_s:.1f} |")
            continue
        per_id = (deduped.max_rss_mb - plain.max_rss_mb) * 2**20 / count
        print(
            f"| {name} | {count:,} | {plain.max_rss_mb:.1f} | {deduped.max_rss_mb:.1f} | {per_id:.0f} "
            f"| {plain.wall_s:.1f} / {deduped.wall_s:.1f} |"
        )
    for name, count, plain, _ in rows:
        if count == 1_000_000 and name in base:
            ratio = plain.max_rss_mb / base[name]
            print(f"\n{name}: RSS(1,000,000) / RSS(20,000) = {ratio:.2f} (SPEC: <= 1.25 without dedupe)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 20_000, 1_000_000, 10_000_000], help="stdin dry-run sizes"
    )
    parser.add_argument("--network", type=int, nargs="*", default=[], help="also real runs of these sizes")
    main(parser.parse_args())
