"""The run summary (SPEC §8): a JSON document for ``--summary FILE`` and a short text for people on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from bulkdelete.output.runinfo import RunInfo, target_label
from bulkdelete.output.stats import RunStats
from bulkdelete.pipeline.engine import RunEnd, StopReason

EXIT_OK, EXIT_NOT_OK, EXIT_USAGE, EXIT_ABORTED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def exit_code_for(end: RunEnd, stats: RunStats) -> int:
    if end.reason is StopReason.INTERRUPTED:
        return EXIT_INTERRUPTED
    if end.reason is StopReason.INPUT_ERROR:
        return EXIT_USAGE if stats.requests == 0 else EXIT_ABORTED
    if end.reason in (StopReason.ABORTED, StopReason.MAX_ERRORS):
        return EXIT_ABORTED
    return EXIT_NOT_OK if stats.not_ok else EXIT_OK


def build_summary(
    stats: RunStats, end: RunEnd, *, elapsed_s: float, paused_s: float, exit_code: int, info: RunInfo
) -> dict[str, Any]:
    """The summary document; ``timeline`` comes last, as it is by far the longest part."""
    latency = stats.latency
    return {
        "version": info.version,
        "started_at": info.started_at,
        "finished_at": info.finished_at,
        "target": info.target,
        "records": stats.records,
        "outcomes": dict(sorted(stats.outcomes.items())),
        "ok": stats.ok,
        "not_ok": stats.not_ok,
        "unsent": end.abandoned,
        "requests": stats.requests,
        "retries": stats.retries,
        "throttled": stats.throttled,
        "transport_errors": stats.transport_errors,
        "status_codes": {str(code): n for code, n in sorted(stats.status_codes.items())},
        "elapsed_s": round(elapsed_s, 3),
        "rate_per_s": round(stats.records / elapsed_s, 1) if elapsed_s > 0 else 0.0,
        "latency_ms": {
            "p50": latency.percentile(50),
            "p90": latency.percentile(90),
            "p99": latency.percentile(99),
            "max": round(latency.max_ms, 3) if latency.count else None,
        },
        "paused_s": round(paused_s, 3),
        "stop_reason": end.reason.value,
        "stop_message": end.message,
        "exit_code": exit_code,
        "rate_final": info.rate_final,
        "quota_found": None if info.quota_found is None else round(info.quota_found, 1),
        "timeline": info.timeline,
    }


def render_text(summary: dict[str, Any]) -> str:
    """The human summary, a few aligned lines."""
    outcomes = ", ".join(f"{name} {count:,}" for name, count in summary["outcomes"].items()) or "none"
    codes = ", ".join(f"{code}×{n:,}" for code, n in summary["status_codes"].items()) or "none"
    lat = summary["latency_ms"]
    lat_text = (
        "n/a"
        if lat["p50"] is None
        else f"p50 {lat['p50']:.1f} · p90 {lat['p90']:.1f} · p99 {lat['p99']:.1f} · max {lat['max']:.1f} ms"
    )
    lines = [
        f"bulkdelete {target_label(summary['target'])}: {summary['records']:,} records in {summary['elapsed_s']:.1f} s "
        f"({summary['rate_per_s']:,.1f}/s): {summary['ok']:,} ok, {summary['not_ok']:,} not ok",
        f"  outcomes  {outcomes}",
        f"  requests  {summary['requests']:,} (retries {summary['retries']:,}, throttled {summary['throttled']:,},"
        f" no answer {summary['transport_errors']:,}, paused {summary['paused_s']:.1f} s)   status {codes}",
        f"  latency   {lat_text}",
    ]
    if summary["stop_reason"] != StopReason.COMPLETED.value:
        why = summary["stop_message"] or summary["stop_reason"]
        lines.append(f"  stopped   {summary['stop_reason']}: {why}")
    if summary["unsent"]:
        lines.append(f"  unsent    {summary['unsent']:,} records got no line: run again with --resume to send them")
    lines.append(f"  exit      {summary['exit_code']}")
    return "\n".join(lines)


def write_summary(path: str, summary: dict[str, Any]) -> None:
    """``--summary FILE``: a few hundred bytes written once at the end, so a blocking write costs nothing."""
    Path(path).write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
