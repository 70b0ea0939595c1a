"""The run summary (SPEC §8): a JSON document for ``--summary FILE`` and a short text for people on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from bulkdelete.output.runinfo import RunInfo, target_label
from bulkdelete.output.stats import RunStats
from bulkdelete.pipeline.ending import RunEnd, StopReason

EXIT_OK, EXIT_NOT_OK, EXIT_USAGE, EXIT_ABORTED, EXIT_BUDGET = 0, 1, 2, 3, 4
EXIT_INTERNAL, EXIT_INTERRUPTED = 70, 130
_ABORTS = frozenset({StopReason.ABORTED, StopReason.MAX_ERRORS, StopReason.OUTPUT_CLOSED, StopReason.OUTPUT_FAILED})
_BUDGETS = frozenset({StopReason.STOP_AFTER, StopReason.MAX_REQUESTS})


def exit_code_for(end: RunEnd, stats: RunStats, *, unsent: int = 0, unsent_exact: bool = True) -> int:
    """The exit status of a run (SPEC §5). A budget stop exits 4 while records may be left (``unsent``, or a
    stream not read to its end): ``--resume`` finishes them; with nothing left it is an ordinary finish."""
    reason = end.reason
    if reason is StopReason.INTERRUPTED:
        return EXIT_INTERRUPTED
    if reason is StopReason.INPUT_ERROR:
        return EXIT_USAGE if stats.requests == 0 else EXIT_ABORTED
    if reason in _ABORTS:
        return EXIT_ABORTED
    if reason in _BUDGETS and (unsent or not unsent_exact):
        return EXIT_BUDGET
    return EXIT_NOT_OK if stats.not_ok else EXIT_OK


def resume_helps(summary: dict[str, Any]) -> bool:
    """Whether running again with ``--resume`` can finish the unsent records: not after a rejected key (401/403:
    the same key is refused again) nor after an unreadable input (the same bytes fail again)."""
    if summary["stop_reason"] == StopReason.INPUT_ERROR.value:
        return False
    rejected = {"401", "403"} & summary["status_codes"].keys()
    return not (summary["stop_reason"] == StopReason.ABORTED.value and rejected)


def build_summary(
    stats: RunStats,
    end: RunEnd,
    *,
    elapsed_s: float,
    paused_s: float,
    exit_code: int,
    info: RunInfo,
    unsent: int = 0,
    unsent_exact: bool = True,
    other_shards: int = 0,
) -> dict[str, Any]:
    """The summary document; ``timeline`` comes last, as it is by far the longest part. ``unsent``: records not
    decided (no line); ``unsent_exact`` False when a stream was not read to its end (more may have followed).
    ``other_shards``: records passed over as another shard's (``--shard``; always present, 0 without it)."""
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
        "unsent": unsent,
        "unsent_exact": unsent_exact,
        "shard": info.shard,
        "other_shards": other_shards,
        **stats.request_figures(),
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
    if summary.get("shard") is not None:
        lines.append(f"  shard     {summary['shard']}: {summary['other_shards']:,} records of other shards passed over")
    unsent, exact = summary["unsent"], summary["unsent_exact"]
    if unsent or not exact:
        count = f"{unsent:,} records" if exact else f"{unsent:,} records read (and the rest of the unread input)"
        advice = ": run again with --resume to send them" if resume_helps(summary) else ""
        lines.append(f"  unsent    {count} got no line{advice}")
    lines.append(f"  exit      {summary['exit_code']}")
    return "\n".join(lines)


def write_summary(path: str, summary: dict[str, Any]) -> None:
    """``--summary FILE``: a few hundred bytes written once at the end, so a blocking write costs nothing."""
    Path(path).write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
