"""``bulkdelete report`` (SPEC §9): the streamed pass over a results file, the series, the page and the command."""

from __future__ import annotations

import asyncio
import gzip
import re
import sys
from pathlib import Path

import orjson
import pytest

from bulkdelete.report import MAX_PAGE_BYTES, build_report
from bulkdelete.report.aggregate import aggregate
from bulkdelete.report.series import decided_series, timeline_series
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
