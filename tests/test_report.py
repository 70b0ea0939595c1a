"""``bulkdelete report`` (SPEC §9): the streamed pass over a results file, the series, the page and the command."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import re
import sys
from pathlib import Path

import orjson
import pytest

from bulkdelete.report import MAX_PAGE_BYTES, build_report
from bulkdelete.report.aggregate import aggregate
from bulkdelete.report.series import decided_series, timeline_series
from bulkdelete.report.summaries import merge_summaries
from bulkdelete.report.verified import read_verdicts, verdict_series
from tests.conftest import ROOT, cli_env, run_cli


def line(n: int, second: int, *, outcome: str = "accepted", **fields: object) -> bytes:
    ok = outcome not in ("failed", "invalid")
    doc = {
        "id": f"https://x.com/{n}",
        "outcome": outcome,
        "ok": ok,
        "status": 202 if ok else 500,
        "attempts": 1,
        "error": None if ok else f"500 INTERNAL: boom {n}",
        "latency_ms": float(n),
        "line": n,
        "ts": f"2026-12-01T18:00:{second:02d}.{n % 1000:03d}Z",
        "request_id": f"req-{n}",
    }
    doc.update(fields)
    return orjson.dumps(doc) + b"\n"


def write(path: Path, lines: list[bytes], tail: bytes = b"") -> Path:
    path.write_bytes(b"".join(lines) + tail)
    return path


def test_one_pass_counts_per_second_and_keeps_the_slowest_and_the_failed(tmp_path: Path) -> None:
    lines = [line(n, n // 10) for n in range(1, 41)]  # 40 records over seconds 0..4
    lines += [line(41, 2, outcome="failed", attempts=3), line(42, 2, status=429, outcome="failed", attempts=6)]
    lines += [line(43, 3, ts=None), line(44, 3, ts="yesterday"), line(45, 3, ts=17)]
    results = write(tmp_path / "r.jsonl", [*lines, b"[1, 2]\n", b"\n"], tail=b'{"id": "torn')
    agg = aggregate(results, keep=3, keep_failed=1)
    assert (agg.lines, agg.ok, agg.not_ok, agg.skipped_lines, agg.without_ts) == (
        45,
        43,
        2,
        2,
        3,
    )  # [1, 2] and the torn line
    assert agg.outcomes == {"accepted": 43, "failed": 2}
    assert agg.statuses == {"202": 43, "500": 1, "429": 1}
    epoch = min(agg.seconds)
    assert [sum(agg.seconds[epoch + s].outcomes.values()) for s in range(5)] == [9, 10, 12, 10, 1]
    assert (agg.seconds[epoch + 2].retries, agg.seconds[epoch + 2].throttled) == (2 + 5, 1)
    assert [item.id for item in agg.slowest] == ["https://x.com/45", "https://x.com/44", "https://x.com/43"]
    assert [(item.id, item.request_id, item.error) for item in agg.failed] == [
        ("https://x.com/41", "req-41", "500 INTERNAL: boom 41")
    ]
    assert agg.errors == {"failed: 500 INTERNAL: boom 41": 1, "failed: 500 INTERNAL: boom 42": 1}


def test_a_gzipped_results_file_reads_the_same(tmp_path: Path) -> None:
    lines = [line(n, n % 7) for n in range(1, 200)]
    plain = aggregate(write(tmp_path / "r.jsonl", lines))
    packed = tmp_path / "r.jsonl.gz"
    packed.write_bytes(gzip.compress(b"".join(lines)))
    zipped = aggregate(packed)
    assert (zipped.lines, zipped.outcomes, sorted(zipped.seconds)) == (
        plain.lines,
        plain.outcomes,
        sorted(plain.seconds),
    )


def test_series_average_neighbouring_seconds_and_keep_the_totals(tmp_path: Path) -> None:
    lines = [line(n, n % 60, latency_ms=float(n % 100 + 1)) for n in range(1, 3001)]
    agg = aggregate(write(tmp_path / "r.jsonl", lines))
    series = decided_series(agg, max_points=7)
    assert series.width_s == 9 and len(series.x_ms) == 7  # 60 seconds in points of 9
    assert sum(series.outcomes["accepted"]) * series.width_s == pytest.approx(3000)
    assert all(
        p50 is not None and p99 is not None and p50 <= p99 for p50, p99 in zip(series.p50, series.p99, strict=True)
    )
    assert decided_series(aggregate(write(tmp_path / "none.jsonl", [line(1, 0, ts=None)]))).x_ms == []


def test_the_timeline_becomes_per_second_rates_whatever_the_row_width() -> None:
    rows = [
        {"t": t, "sent": 20, "ok": 20, "not_ok": 0, "throttled": 2, "retries": 2, "in_flight": t,
         "rate_target": 10.0, "paused_s": 1.0}
        for t in range(0, 40, 2)  # merged rows, 2 s each
    ]  # fmt: skip
    summary = {"started_at": "2026-12-01T18:00:00.000Z", "elapsed_s": 40.0, "timeline": rows}
    series = timeline_series(summary, max_points=10)
    assert len(series.x_ms) == 10 and series.sent == [10.0] * 10 and series.paused == [0.5] * 10
    assert series.rate_target == [10.0] * 10 and series.in_flight[-1] == 38
    assert series.x_ms[1] - series.x_ms[0] == 4000.0
    assert timeline_series({"timeline": rows}).x_ms == []  # no started_at: no time axis


def test_the_page_is_self_contained_and_bounded_for_a_long_failing_run(tmp_path: Path) -> None:
    """Many seconds, long ids and errors: still one file under 8 MB that names nothing on the network to load."""
    lines = [
        line(n, n % 60, outcome="failed" if n % 3 else "accepted", id="https://x.com/" + "y" * 5000 + str(n))
        for n in range(1, 5001)
    ]
    facts = build_report(write(tmp_path / "r.jsonl", lines), tmp_path / "page.html")
    html = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert facts.size_bytes == len(html.encode()) <= MAX_PAGE_BYTES and facts.size_bytes < 2_500_000
    assert facts.charts == 3 and facts.lines == 5000
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html)  # everything inlined
    assert "y" * 301 not in html  # long ids are cut


def test_an_empty_results_file_still_gives_a_page(tmp_path: Path) -> None:
    facts = build_report(write(tmp_path / "r.jsonl", []), tmp_path / "page.html")
    assert (facts.lines, facts.charts) == (0, 0) and "records" in (tmp_path / "page.html").read_text(encoding="utf-8")


async def test_report_command_writes_the_page_and_says_where(tmp_path: Path) -> None:
    results = write(tmp_path / "r.jsonl", [line(n, n // 50) for n in range(1, 200)])
    page = tmp_path / "out.html"
    done = await run_cli("report", str(results), "-o", str(page))
    assert done.code == 0, done.stderr
    assert done.stdout == b"" and f"report: {page}" in done.stderr and "199 records" in done.stderr
    assert "199" in page.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--summary", "{summary}"], "not a run summary"),
        ([], "missing option '-o'"),
    ],
)
async def test_report_command_refuses_bad_input_with_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    results = write(tmp_path / "r.jsonl", [line(1, 0)])
    (tmp_path / "s.json").write_bytes(b"[1, 2]")
    argv = [arg.replace("{summary}", str(tmp_path / "s.json")) for arg in args]
    if "-o" not in message:
        argv += ["-o", str(tmp_path / "p.html")]
    done = await run_cli("report", str(results), *argv)
    assert done.code == 2 and message in done.stderr


async def test_without_the_report_extra_it_says_how_to_install_it_and_exits_2(tmp_path: Path) -> None:
    """bokeh made unimportable (as when the extra is not installed): the real command, in a real process."""
    results = write(tmp_path / "r.jsonl", [line(1, 0)])
    code = (
        "import sys; sys.modules['bokeh'] = None; from bulkdelete.cli import main; "
        f"sys.argv = ['bulkdelete', 'report', {str(results)!r}, '-o', {str(tmp_path / 'p.html')!r}]; main()"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stderr=asyncio.subprocess.PIPE, env=cli_env(), cwd=ROOT
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    assert "pip install 'bulkdelete[report]'" in err.decode()
    assert not (tmp_path / "p.html").exists()


def summary_of(start: str, seconds: int, sent: int, **fields: object) -> dict[str, object]:
    """A shard's summary: ``seconds`` rows of ``sent`` requests each, 1 retry and 1 429 a second, rate target 10."""
    rows = [
        {"t": t, "sent": sent, "ok": sent, "not_ok": 0, "throttled": 1, "retries": 1, "in_flight": 2,
         "rate_target": 10.0, "paused_s": 0.25}
        for t in range(seconds)
    ]  # fmt: skip
    doc: dict[str, object] = {
        "records": sent * seconds, "ok": sent * seconds, "not_ok": 0, "requests": sent * seconds + seconds,
        "retries": seconds, "throttled": seconds, "outcomes": {"accepted": sent * seconds},
        "status_codes": {"202": sent * seconds + seconds}, "elapsed_s": float(seconds), "started_at": start,
        "finished_at": start[:17] + f"{int(start[17:19]) + seconds:02d}.000Z", "paused_s": 0.25 * seconds,
        "latency_ms": {"p50": 5.0, "p90": 9.0, "p99": 12.0, "max": 40.0 + seconds}, "exit_code": 0,
        "rate_final": 10.0, "target": {"api": "coveo", "org": "acme", "source": "web", "mode": "item"},
        "timeline": rows,
    }  # fmt: skip
    doc.update(fields)
    return doc


def test_shards_summaries_add_up_and_their_timelines_sum_per_wall_clock_second() -> None:
    a = summary_of("2026-12-01T18:00:00.000Z", 10, 5)
    b = summary_of("2026-12-01T18:00:04.000Z", 10, 3, exit_code=1)  # started 4 s later: overlaps 6 s
    merged = merge_summaries(iter([a, b]))
    assert (merged["records"], merged["requests"], merged["throttled"], merged["merged_from"]) == (80, 100, 20, 2)
    assert merged["outcomes"] == {"accepted": 80} and merged["status_codes"] == {"202": 100}
    assert (merged["started_at"], merged["finished_at"], merged["elapsed_s"]) == (
        "2026-12-01T18:00:00.000Z",
        "2026-12-01T18:00:14.000Z",
        14.0,
    )
    assert merged["exit_code"] == "0, 1" and merged["target"]["org"] == "acme" and merged["rate_final"] == 20.0
    rows = merged["timeline"]
    assert [row["sent"] for row in rows] == [5] * 4 + [8] * 6 + [3] * 4  # summed where both ran
    assert [row["rate_target"] for row in rows] == [10.0] * 4 + [20.0] * 6 + [10.0] * 4
    assert max(row["paused_s"] for row in rows) == 0.25  # a share of a second: the largest, not a sum
    series = timeline_series(merged)
    assert sum(series.sent) == 5 * 10 + 3 * 10
    shared = merge_summaries([dict(a, rate_store="redis://r:6379/0"), dict(b, rate_store="redis://r:6379/0")])
    assert shared["rate_final"] == 10.0 and max(row["rate_target"] for row in shared["timeline"]) == 10.0


def test_shards_results_files_are_one_run_whose_counts_are_the_sum(tmp_path: Path) -> None:
    """Three shards, interleaved in time: one page, counted once each, merged per second, failures from all."""
    shards = [
        write(tmp_path / f"shard-{i}.jsonl", [line(n, n % 20, outcome="failed" if n % 9 == i else "accepted")
                                               for n in range(i, 300, 3)])
        for i in range(3)
    ]  # fmt: skip
    single = aggregate(
        write(tmp_path / "all.jsonl", [raw for shard in shards for raw in shard.read_bytes().splitlines(True)])
    )
    agg = aggregate(*shards)
    assert (agg.files, agg.lines, agg.ok, agg.not_ok) == (3, 300, single.ok, single.not_ok)
    assert agg.outcomes == single.outcomes and sorted(agg.seconds) == sorted(single.seconds)
    assert {n: sum(s.outcomes.values()) for n, s in agg.seconds.items()} == {
        n: sum(s.outcomes.values()) for n, s in single.seconds.items()
    }
    assert {item.results_file for item in agg.failed} == {"shard-0.jsonl", "shard-1.jsonl", "shard-2.jsonl"}
    assert [item.ts for item in agg.failed] == sorted(str(item.ts) for item in agg.failed)  # the earliest, in order
    summary = merge_summaries([summary_of("2026-12-01T18:00:00.000Z", 20, 5) for _ in shards])
    facts = build_report(shards, tmp_path / "page.html", summary=summary)
    html = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert (facts.files, facts.lines) == (3, 300)
    assert "<b>3</b><span>results files</span>" in html and "3 files (shard-0.jsonl … shard-2.jsonl)" in html
    assert "3 summaries added up" in html and "<b>300</b><span>records</span>" in html


async def test_report_command_takes_several_results_files_and_summaries(tmp_path: Path) -> None:
    shards = [write(tmp_path / f"s{i}.jsonl", [line(n, n % 30) for n in range(i, 90, 2)]) for i in range(2)]
    summaries = []
    for i in range(2):
        summaries += ["--summary", str(tmp_path / f"s{i}.json")]
        (tmp_path / f"s{i}.json").write_bytes(orjson.dumps(summary_of("2026-12-01T18:00:00.000Z", 30, 1)))
    page = tmp_path / "out.html"
    done = await run_cli("report", *map(str, shards), *summaries, "-o", str(page))
    assert done.code == 0, done.stderr
    assert "2 results files, 90 records" in done.stderr and "2 summaries added up" in done.stderr
    html = page.read_text(encoding="utf-8")
    assert "<b>60</b><span>records</span>" in html  # the summaries' records: 30 + 30


def verdict(n: int, kind: str, second: int, **fields: object) -> bytes:
    """A verdict line of a verify run (SPEC §11)."""
    doc: dict[str, object] = {
        "id": f"https://x.com/{n}", "verdict": kind, "ok": kind == "gone", "checks": 2,
        "evidence": "search: not found (viewAllContent)" if kind == "gone" else None, "log": None,
        "error": "an id the query language cannot express" if kind == "unknown" else None, "line": n,
        "ts": f"2026-12-03T09:{second // 60:02d}:{second % 60:02d}.{n % 1000:03d}Z",
    }  # fmt: skip
    if kind == "failed":
        meta = {"error": f"Disk quota hit {n}", "retry": 0, "documentId": doc["id"]}  # the id: not repeated
        doc["log"] = {"task": "INDEXING", "result": "ERROR", "operation": "DELETE",
                      "datetime": "2026-12-03T09:05:00.000Z", "meta": meta, "requestId": f"log-req-{n}"}  # fmt: skip
    doc.update(fields)
    return orjson.dumps(doc) + b"\n"


def verdict_file(path: Path) -> Path:
    """300 gone over 5 minutes, 6 failed, 3 present (one with children left), 2 unknown, 1 not deleted."""
    lines = [verdict(n, "gone", n) for n in range(300)]
    lines += [verdict(300 + n, "failed", 200 + n) for n in range(6)]
    lines += [verdict(310, "present", 400, children_left=3), verdict(311, "present", 400), verdict(312, "present", 401)]
    lines += [verdict(320, "unknown", 10), verdict(321, "unknown", 11), verdict(330, "not_deleted", 0, checks=0)]
    return write(path, lines, tail=b'{"id": "torn')


def test_a_verdict_file_is_counted_per_verdict_with_the_reasons_of_what_is_not_gone(tmp_path: Path) -> None:
    found = read_verdicts(verdict_file(tmp_path / "v.jsonl"), keep=4)
    assert found.verdicts == {"gone": 300, "failed": 6, "present": 3, "unknown": 2, "not_deleted": 1}
    assert (found.lines, found.ok, found.not_gone, found.skipped_lines) == (312, 300, 12, 1)
    assert [item.verdict for item in found.listed(8)] == ["failed"] * 4 + ["present"] * 3 + ["unknown"]
    first = found.listed(1)[0]
    assert first.reason == "ERROR at INDEXING (DELETE, 2026-12-03T09:05:00.000Z): error: Disk quota hit 300; retry: 0"
    assert first.request_id == "log-req-300"
    assert found.reasons["unknown: an id the query language cannot express"] == 2
    assert found.reasons["failed: ERROR at INDEXING (DELETE): error: Disk quota hit 301; retry: 0"] == 1  # undated
    series = verdict_series(found, max_points=50)
    assert len(series.x_ms) <= 51 and series.cumulative["gone"][0] == 0 and series.cumulative["gone"][-1] == 300
    assert [values[-1] for values in series.cumulative.values()] == [300, 6, 3, 2, 1]
    assert all(a <= b for a, b in itertools.pairwise(series.cumulative["gone"]))


def test_the_page_shows_the_verification_its_counts_and_why_a_failed_id_is_not_gone(tmp_path: Path) -> None:
    results = write(tmp_path / "r.jsonl", [line(n, n % 60) for n in range(1, 313)])
    verified = verdict_file(tmp_path / "v.jsonl")
    summary = {"verification": {"verdicts": {"gone": 300, "failed": 6, "present": 3, "unknown": 2, "not_deleted": 1},
                                "queries": 45, "elapsed_s": 301.5}}  # fmt: skip
    facts = build_report(results, tmp_path / "page.html", verified=[verified], summary=summary)
    html = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert facts.charts == 4 and facts.verdicts == 312  # decided, 429s, latency; and the verdicts over time
    assert '<section id="verification"><h2>Verification</h2>' in html and 'id="verified"' in html
    assert "<b>300 of 312</b><span>confirmed gone</span>" in html and "<b>96.2%</b><span>share gone</span>" in html
    assert "<b>45</b><span>verify queries</span>" in html and "<b>301.5 s</b><span>verify elapsed</span>" in html
    assert '<td>failed</td><td class="n">6</td><td>not ok</td>' in html
    assert "ERROR at INDEXING (DELETE, 2026-12-03T09:05:00.000Z): error: Disk quota hit 303; retry: 0" in html
    assert "log-req-305" in html and "children left" in html and "Records not gone (all)" in html
    assert "The summary counts" not in html  # the summary and the files agree
    small = build_report(results, tmp_path / "p2.html", verified=[verified, verified])
    assert small.verdicts == 624 and "Records not gone (the first 24" not in small.path.read_text(encoding="utf-8")


def test_the_table_of_what_is_not_gone_is_capped_and_says_how_many_more(tmp_path: Path) -> None:
    lines = [verdict(n, "failed" if n % 2 else "present", n % 600) for n in range(5000)]
    verified = write(tmp_path / "v.jsonl", lines)
    facts = build_report(write(tmp_path / "r.jsonl", []), tmp_path / "page.html", verified=[verified])
    html = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert "Records not gone (the first 200, the failed first; 4,800 more not listed)" in html
    assert (
        html.count('<td>present</td><td class="n">2</td>') == 100 and facts.size_bytes < 2_000_000
    )  # 100 of each kind kept


async def test_report_command_takes_verdict_files(tmp_path: Path) -> None:
    results = write(tmp_path / "r.jsonl", [line(n, n % 60) for n in range(1, 313)])
    verified = verdict_file(tmp_path / "v.jsonl")
    done = await run_cli("report", str(results), "--verified", str(verified), "-o", str(tmp_path / "p.html"))
    assert done.code == 0, done.stderr
    assert "312 records, 312 verdicts, 4 charts" in done.stderr and "1 lines of the verdict files" in done.stderr
