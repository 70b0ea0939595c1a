"""Selecting what to delete (issue 24, SPEC §13 and §13.1): the listing, ``--except``, ``delete --where``, and
verifying by scan, measured with the real CLI against the emulator.

Four measurements, one subcommand each (``all`` runs them in turn); the emulator runs pinned to core 0, every CLI
run pinned to core 1 (``common.py``), loopback only:

* ``rate``: ``coveo list --rate R`` over a source of 300,000 items with ``--search-latency-ms 300``, the default
  ranges next to **one sequential range** (``--ranges 1 --concurrency 1``: how Coveo's ``org:search:dump`` pages),
  same emulator, one after the other. Pages/s is the summary's ``selection.queries`` ÷ ``selection.elapsed_s`` (and
  the emulator's searches ÷ the process's wall time); goal ≥ 0.9 R.
* ``memory``: peak RSS (the child's ``VmHWM``: ``common.run_measured``) of ``coveo list`` (stdout to /dev/null) over
  30,000 and 300,000 items, and of the 30,000-item listing with ``--except`` holding 1,000,000 ids: the difference
  ÷ 1,000,000 is the cost of an except id (goal ≤ 100 B), next to ``tracemalloc``'s count of what ``ExceptIds``
  keeps after loading that file.
* ``where``: ``coveo delete --where EXPR --yes --rate R`` over 100,000 matching items (of 110,000): deletes/s on the
  emulator's side, sampled from ``/_emulator/stats`` every 0.25 s (requests minus searches and look-ups), from the
  first delete to the last; the most deletes in any 1 s window of samples; goal ≥ 0.97 R.
* ``verify``: 100,000 deletions (``--mode batch``) of a 110,000-item source with ``--processing-delay S``, then
  ``coveo verify --check auto`` and ``--check ids`` of the same result lines, each on a fresh emulator that took the
  same deletes: queries (the summary's ``verification.queries``, the emulator's searches and log queries), verdicts
  (must be equal), elapsed. Goal: ≥ 5× fewer queries with ``auto``.

    .venv/bin/python benchmarks/selection.py all                     # ~10 min
    .venv/bin/python benchmarks/selection.py rate --rate 20 --items 300000 --latency-ms 300
    .venv/bin/python benchmarks/selection.py where --rate 500

Bounded: fixed counts, a timeout per process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    ORG,
    PYTHON,
    ROOT,
    SOURCE,
    Emulator,
    Measured,
    bench_env,
    cli,
    coveo_id,
    emulator,
    machine,
    run_measured,
    versions,
)

SMALL = "small"
OLD_MS = 1_672_531_200_000  # 2023-01-01T00:00:00Z: before --where's date
NEW_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z: after it
WHERE = "@date<2024/01/01"


def write_docs(path: Path, parts: list[tuple[str, int, int, int]]) -> Path:
    """``--docs`` JSON lines: for each ``(source, first, count, date_ms)``, ``count`` documents ``coveo_id(first +
    k)`` of that source, a second apart from ``date_ms``."""
    with path.open("w") as out:
        for source, first, count, date_ms in parts:
            for start in range(first, first + count, 50_000):
                stop = min(start + 50_000, first + count)
                out.write(
                    "".join(
                        json.dumps({"id": coveo_id(i), "source": source, "date": date_ms + 1000 * (i - first)}) + "\n"
                        for i in range(start, stop)
                    )
                )
    return path


def write_except(path: Path, count: int, *, held: int, first: int) -> Path:
    """``count`` ids, one a line: ``held`` of them listed items (``coveo_id(first ...)``), the rest ids no index
    holds (an export's orphans' complement)."""
    with path.open("w") as out:
        out.write("".join(f"{coveo_id(i)}\n" for i in range(first, first + held)))
        for start in range(0, count - held, 100_000):
            stop = min(start + 100_000, count - held)
            out.write("".join(f"https://records.example.org/kept/{i}\n" for i in range(start, stop)))
    return path


def summary_of(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def run_cli(label: str, args: list[str], *, timeout_s: float = 600.0, ok: tuple[int, ...] = (0,)) -> Measured:
    result = run_measured(cli(*args), env=bench_env(), timeout_s=timeout_s)
    if result.returncode not in ok:
        sys.exit(f"{label}: exit {result.returncode}\n{result.stderr}")
    return result


def list_args(emu: Emulator, source: str, rate: str, summary: Path, *extra: str) -> list[str]:
    return [
        "coveo", "list", "--base-url", emu.base_url, "--org", ORG, "--source-name", source, "--rate", rate,
        "--no-progress", "-q", "--summary", str(summary), *extra,
    ]  # fmt: skip


class Sampler:
    """``/_emulator/stats`` read every ``period_s`` in a thread: ``samples`` of ``(time, stats)``."""

    def __init__(self, emu: Emulator, period_s: float = 0.25) -> None:
        self._emu, self._period = emu, period_s
        self.samples: list[tuple[float, dict[str, Any]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.perf_counter()
            self.samples.append((began, self._emu.stats()))
            self._stop.wait(max(0.0, self._period - (time.perf_counter() - began)))


def deletes_of(stats: dict[str, Any]) -> int:
    """Requests that were not searches, source look-ups, log queries or gets: the deletes."""
    other = stats["searches"] + stats["source_lookups"] + stats["log_queries"] + stats["gets"]
    return int(stats["requests"] - other)


def sustained(samples: list[tuple[float, int]]) -> tuple[float, int, float]:
    """From ``(time, cumulative count)`` samples: (count ÷ span from the last sample before the first to the first
    sample at the end, the most in any 1 s between samples, that span)."""
    total = samples[-1][1]
    first = max(i for i, (_, n) in enumerate(samples) if n == 0) if samples[0][1] == 0 else 0
    last = next(i for i, (_, n) in enumerate(samples) if n == total)
    span = samples[last][0] - samples[first][0]
    best, j = 0, first
    for i in range(first, last + 1):
        while samples[i][0] - samples[j][0] > 1.0 + 1e-3:
            j += 1
        best = max(best, samples[i][1] - samples[j][1])
    return (total - samples[first][1]) / span, best, span


def steady(samples: list[tuple[float, int]], total: int) -> float:
    """The rate between the samples that first reach 10% and 90% of ``total``: start and tail left out."""
    low = next(i for i, (_, n) in enumerate(samples) if n >= 0.1 * total)
    high = next((i for i, (_, n) in enumerate(samples) if n >= 0.9 * total), len(samples) - 1)
    (t0, n0), (t1, n1) = samples[low], samples[high]
    return (n1 - n0) / (t1 - t0) if t1 > t0 else float("nan")


# --- 1. the listing's rate ------------------------------------------------------------------------------------------


def measure_rate(args: argparse.Namespace, tmp: Path) -> None:
    docs = write_docs(tmp / "docs-rate.jsonl", [(SOURCE, 0, args.items, OLD_MS)])
    rows: list[str] = []
    with emulator("--docs", str(docs), "--search-latency-ms", str(args.latency_ms)) as emu:
        runs = [("default ranges (16)", ()), ("one sequential range", ("--ranges", "1", "--concurrency", "1"))]
        figures: list[float] = []
        for label, extra in runs:
            emu.reset_stats()
            summary = tmp / "summary-rate.json"
            with Sampler(emu) as sampler:
                result = run_cli(label, list_args(emu, SOURCE, args.rate, summary, *extra), timeout_s=900)
            stats, sel = emu.stats(), summary_of(summary)["selection"]
            middle = steady([(t, s["searches"]) for t, s in sampler.samples], stats["searches"])
            pages_s = sel["queries"] / sel["elapsed_s"]
            figures.append(pages_s)
            rows.append(
                f"| {label} | {' '.join(extra) or '(defaults)'} | {sel['listed']:,} | {sel['queries']:,} | "
                f"{stats['searches']:,} | {sel['elapsed_s']:.1f} | {pages_s:.2f} | {pages_s / float(args.rate):.3f} | "
                f"{stats['searches'] / result.wall_s:.2f} | {middle:.2f} | {sel['listed'] / sel['elapsed_s']:,.0f} | "
                f"{stats['max_per_second']} | {stats['search_peak_inflight']} | {result.max_rss_mb:.1f} |"
            )
            print(rows[-1], file=sys.stderr)
    print(f"\nlisting {args.items:,} items, --rate {args.rate}, --search-latency-ms {args.latency_ms}")
    print(
        "\n| run | options | listed | queries (summary) | searches (emulator) | elapsed s | pages/s | pages/s ÷ R"
        " | searches ÷ wall s | pages/s, 10–90% | items/s | max searches in any 1 s | peak in flight | peak RSS MB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(f"\nranges ÷ sequential: {figures[0] / figures[1]:.1f}× the pages/s")


# --- 2. memory ------------------------------------------------------------------------------------------------------


def measure_memory(args: argparse.Namespace, tmp: Path) -> None:
    small, big, n_except = args.small, args.big, args.except_ids
    parts = [(SMALL, 0, small, OLD_MS), (SOURCE, small, big, OLD_MS)]
    docs = write_docs(tmp / "docs-memory.jsonl", parts)
    excepts = write_except(tmp / "except.txt", n_except, held=small // 3, first=0)
    rows: list[str] = []
    rss: dict[str, float] = {}
    with emulator("--docs", str(docs)) as emu:
        runs = [
            (f"{small:,} items", SMALL, ()),
            (f"{big:,} items", SOURCE, ()),
            (f"{small:,} items, --except {n_except:,} ids", SMALL, ("--except", str(excepts))),
        ]
        for label, source, extra in runs:
            summary = tmp / "summary-memory.json"
            result = run_cli(label, list_args(emu, source, "0", summary, *extra))
            sel = summary_of(summary)["selection"]
            rss[label] = result.max_rss_mb
            rows.append(
                f"| {label} | {sel['listed']:,} | {sel['excepted']:,} | {sel['queries']:,} | {result.wall_s:.1f} | "
                f"{result.cpu_s:.1f} | {result.max_rss_mb:.1f} |"
            )
            print(rows[-1], file=sys.stderr)
    print(f"\n`coveo list --rate 0`, stdout to /dev/null; the --except file holds {small // 3:,} listed ids")
    print("\n| run | listed | excepted | queries | wall s | CPU s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    labels = list(rss)
    grown = (rss[labels[1]] - rss[labels[0]]) / rss[labels[0]]
    per_id = (rss[labels[2]] - rss[labels[0]]) * 1024 * 1024 / n_except
    print(f"\n{big // small}× the items: {grown:+.1%} peak RSS; --except: {per_id:.1f} B per id (peak RSS difference)")
    current, peak = except_tracemalloc(excepts)
    print(
        f"tracemalloc, ExceptIds.load of the same file: {current / n_except:.1f} B per id kept, "
        f"{peak / n_except:.1f} B per id at the peak of loading"
    )


def except_tracemalloc(path: Path) -> tuple[int, int]:
    """Bytes ``ExceptIds`` keeps after loading ``path`` (tracemalloc), and the peak while loading; measured in a
    child process, so this one stays small (``run_measured`` reads each CLI run's own ``VmHWM`` now, but the emulator
    and the runs after it share this machine's memory)."""
    here = str(Path(__file__).parent)
    code = f"import sys; sys.path.insert(0, {here!r}); import selection; selection.traced({str(path)!r})"
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, timeout=300)
    current, peak = out.stdout.split()
    return int(current), int(peak)


def traced(path: str) -> None:
    """Print the bytes ``ExceptIds`` keeps after loading ``path``, and the peak while loading (tracemalloc)."""
    from bulkdelete.select.excepted import ExceptIds

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    held = asyncio.run(ExceptIds.load([path]))
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(held) > 0
    print(current - before, peak - before)


# --- 3. delete --where's rate ---------------------------------------------------------------------------------------


def measure_where(args: argparse.Namespace, tmp: Path) -> None:
    matching, other = args.items, args.items // 10
    docs = write_docs(tmp / "docs-where.jsonl", [(SOURCE, 0, matching, OLD_MS), (SOURCE, matching, other, NEW_MS)])
    rows: list[str] = []
    for rate in args.rates:
        with emulator("--docs", str(docs)) as emu:
            summary = tmp / "summary-where.json"
            cmd = [
                "coveo", "delete", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE, "--source-name",
                SOURCE, "--where", WHERE, "--yes", "--rate", rate, "--no-progress", "-q", "-o",
                str(tmp / "where.jsonl"), "--overwrite", "--summary", str(summary),
            ]  # fmt: skip
            with Sampler(emu) as sampler:
                result = run_cli(f"--where --rate {rate}", cmd, timeout_s=900)
            stats = emu.stats()
        counts = [(t, deletes_of(s)) for t, s in sampler.samples] + [(time.perf_counter(), deletes_of(stats))]
        per_s, best, span = sustained(counts)
        doc = summary_of(summary)
        left = stats["documents_by_source"].get(SOURCE, 0)
        rows.append(
            f"| {rate} | {deletes_of(stats):,} | {left:,} | {stats['searches']:,} | {span:.1f} | {per_s:.1f} | "
            f"{per_s / float(rate):.3f} | {best} | {stats['max_per_second']} | {stats['throttled']} | "
            f"{doc.get('elapsed_s', float('nan')):.1f} | {result.max_rss_mb:.1f} |"
        )
        print(rows[-1], file=sys.stderr)
    print(f"\n`coveo delete --where '{WHERE}' --yes`: {matching:,} matching of {matching + other:,} items")
    print(
        "\n| --rate | deletes (emulator) | left in source | searches | delete span s | deletes/s | ÷ R"
        " | most deletes in any 1 s | max requests in any 1 s | 429s | elapsed s (summary) | peak RSS MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


# --- 4. verify --check auto vs ids ----------------------------------------------------------------------------------


def measure_verify(args: argparse.Namespace, tmp: Path) -> None:
    deleted, size = args.items, args.items + args.items // 10
    docs = write_docs(tmp / "docs-verify.jsonl", [(SOURCE, 0, size, OLD_MS)])
    ids = tmp / "ids-verify.txt"
    ids.write_text("".join(f"{coveo_id(i)}\n" for i in range(deleted)))
    results = tmp / "deleted.jsonl"
    rows: list[str] = []
    verdicts: dict[str, dict[str, int]] = {}
    for n, mode in enumerate(("auto", "ids")):
        delay = str(args.processing_delay)
        with emulator("--docs", str(docs), "--processing-delay", delay) as emu:
            out = results if n == 0 else tmp / "deleted-again.jsonl"  # the same deletes; verify reads the first lines
            delete = [
                "coveo", "delete", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE, "--mode", "batch",
                "--rate", "0", "--no-progress", "-q", "-o", str(out), "--overwrite", str(ids),
            ]  # fmt: skip
            run_cli("delete", delete)
            emu.reset_stats()
            summary = tmp / f"summary-verify-{mode}.json"
            verify = [
                "coveo", "verify", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE, "--check", mode,
                "--rate", args.rate, "--interval", args.interval, "--wait", args.wait, "--no-progress", "-q",
                "-o", str(tmp / f"verdicts-{mode}.jsonl"), "--overwrite", "--summary", str(summary), str(results),
            ]  # fmt: skip
            result = run_cli(f"verify --check {mode}", verify, timeout_s=900, ok=(0, 1))
            stats = emu.stats()
        part = summary_of(summary)["verification"]
        verdicts[mode] = part["verdicts"]
        rows.append(
            f"| {mode} | {sum(part['verdicts'].values()):,} | {_verdicts(part['verdicts'])} | {part['queries']:,} | "
            f"{stats['searches']:,} | {stats['log_queries']:,} | {part['elapsed_s']:.1f} | {result.max_rss_mb:.1f} |"
        )
        print(rows[-1], file=sys.stderr)
    print(
        f"\n{deleted:,} deletions (`--mode batch`) of a {size:,}-item source, `--processing-delay {delay}`; `verify "
        f"--rate {args.rate} --interval {args.interval} --wait {args.wait}` of the same result lines, fresh emulator"
        " each"
    )
    print("\n| --check | lines | verdicts | queries (summary) | searches | log queries | elapsed s | peak RSS MB |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    queries = [int(row.split("|")[4].replace(",", "")) for row in rows]
    same = "equal" if verdicts["auto"] == verdicts["ids"] else "DIFFERENT"
    print(f"\nids ÷ auto: {queries[1] / queries[0]:.1f}× the queries; verdicts {same}")


def _verdicts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in sorted(counts.items()))


# --- the command line -----------------------------------------------------------------------------------------------


def commands() -> Iterator[tuple[str, Any]]:
    yield "rate", measure_rate
    yield "memory", measure_memory
    yield "where", measure_where
    yield "verify", measure_verify


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=[*dict(commands()), "all"])
    parser.add_argument("--items", type=int, help="rate: items listed (300,000); where, verify: deleted (100,000)")
    parser.add_argument("--rate", help="rate: --rate (20); verify: its --rate (200)")
    parser.add_argument("--latency-ms", type=float, default=300.0, help="rate: --search-latency-ms (300)")
    parser.add_argument("--small", type=int, default=30_000, help="memory: the small listing's items")
    parser.add_argument("--big", type=int, default=300_000, help="memory: the big listing's items")
    parser.add_argument("--except-ids", type=int, default=1_000_000, help="memory: ids in the --except file")
    parser.add_argument("--rates", nargs="+", default=["500", "1000"], help="where: --rate values")
    parser.add_argument("--processing-delay", type=float, default=20.0, help="verify: the emulator's delay, s")
    parser.add_argument("--interval", default="5s", help="verify: --interval")
    parser.add_argument("--wait", default="3m", help="verify: --wait")
    args = parser.parse_args()
    chosen = [(name, fn) for name, fn in commands() if args.what in (name, "all")]
    print(f"machine: {machine()}; {versions()}")
    with tempfile.TemporaryDirectory() as folder:
        for name, fn in chosen:
            began = time.perf_counter()
            defaults = {"rate": ("300000", "20"), "verify": ("100000", "200")}.get(name, ("100000", None))
            run = argparse.Namespace(**vars(args))
            run.items = args.items or int(defaults[0])
            run.rate = args.rate or defaults[1]
            print(f"\n### {name}")
            fn(run, Path(folder))
            print(f"\n({name}: {time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
