"""Bytes per distinct id held by ``SeenIds`` (and ``--resume``'s journal load), and the reader's throughput.

Run from the repo root::

    .venv/bin/python benchmarks/memory_per_id.py [--ids 1000000] [--lines 2000000]

Memory: ``tracemalloc`` counts every byte Python allocates for the set (its table and the digest ints) while
1M distinct ids are added, reported per id, plus a sweep of sizes to show the table's growth steps. The ids
themselves are made before tracing starts, so only what ``SeenIds`` keeps is counted.

Throughput: writes a temporary file of realistic URIs in each format and times ``read_records`` over it (best
of three), in lines per second.
"""

from __future__ import annotations

import argparse
import gzip
import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from functools import partial

from bulkdelete.input.reader import read_records
from bulkdelete.pipeline.dedupe import SeenIds


def bytes_per_id(count: int) -> float:
    ids = [f"https://example.com/site/folder-{i // 1000}/document-{i}.html" for i in range(count)]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    seen = SeenIds()
    for record_id in ids:
        seen.add(record_id)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(seen) == count
    return (after - before) / count


def best_of(runs: int, fn: Callable[[], int]) -> tuple[float, int]:
    best, n = float("inf"), 0
    for _ in range(runs):
        start = time.process_time()
        n = fn()
        best = min(best, time.process_time() - start)
    return best, n


def count_records(path: str) -> int:
    return sum(1 for _ in read_records([path]))


def throughput(lines: int) -> None:
    ids = [f"https://example.com/site/folder-{i // 1000}/document-{i}.html" for i in range(lines)]
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            "lines (ASCII)": ("ids.txt", "\n".join(ids) + "\n"),
            "lines (CRLF)": ("crlf.txt", "\r\n".join(ids) + "\r\n"),
            "lines (non-ASCII)": ("uni.txt", "\n".join(i.replace("doc", "dók") for i in ids) + "\n"),
            "jsonl": ("ids.jsonl", "".join(f'{{"documentId":"{i}","title":"t"}}\n' for i in ids)),
            "csv": ("ids.csv", "documentId,title,source\n" + "".join(f"{i},A title,web\n" for i in ids)),
        }
        for label, (name, text) in files.items():
            path = os.path.join(tmp, name)
            with open(path, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
            seconds, n = best_of(3, partial(count_records, path))
            print(f"  {label:<20} {n / seconds / 1e6:6.2f} M lines/s")
        gz = os.path.join(tmp, "ids.txt.gz")
        with gzip.open(gz, "wt", encoding="utf-8") as handle:
            handle.write(files["lines (ASCII)"][1])
        seconds, n = best_of(3, partial(count_records, gz))
        print(f"  {'lines (gzip)':<20} {n / seconds / 1e6:6.2f} M lines/s")


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--ids", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=2_000_000)
    args = parser.parse_args()
    print(f"SeenIds, tracemalloc bytes per distinct id ({args.ids:,} ids): {bytes_per_id(args.ids):.1f}")
    for n in (100_000, 200_000, 700_000, 1_500_000):
        print(f"  {n:>9,} ids: {bytes_per_id(n):6.1f} bytes/id")
    print(f"read_records throughput over {args.lines:,} lines (best of 3):")
    throughput(args.lines)


if __name__ == "__main__":
    main()
