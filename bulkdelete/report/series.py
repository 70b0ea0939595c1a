"""The charts' data: per-second series from the result lines and from the summary's timeline, at most
``MAX_POINTS`` points each (neighbouring seconds averaged), so the page stays small and fast for any run length.

Every rate is *per second*, whatever the width of a point: a point ``width_s`` wide holds the mean of its seconds.
Latency percentiles of a point are exact over every latency decided within it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bulkdelete.report.aggregate import Aggregate

MAX_POINTS = 1200
# Outcomes in the order they are stacked: ok ones first (the bulk of a healthy run), failures on top.
OUTCOME_ORDER = ("accepted", "batched", "deleted", "not_found", "planned", "skipped", "duplicate", "invalid", "failed")


@dataclass(slots=True)
class DecidedSeries:
    """From the result lines: records decided per second by outcome, final 429s, retries, latency percentiles."""

    x_ms: list[float] = field(default_factory=list)  # each point's start, epoch milliseconds
    width_s: int = 1
    outcomes: dict[str, list[float]] = field(default_factory=dict)
    retries: list[float] = field(default_factory=list)
    throttled: list[float] = field(default_factory=list)
    p50: list[float | None] = field(default_factory=list)
    p99: list[float | None] = field(default_factory=list)


@dataclass(slots=True)
class TimelineSeries:
    """From the summary's timeline: requests sent, throttled, retries, pause and rate target, per second."""

    x_ms: list[float] = field(default_factory=list)
    sent: list[float] = field(default_factory=list)
    ok: list[float] = field(default_factory=list)
    not_ok: list[float] = field(default_factory=list)
    throttled: list[float] = field(default_factory=list)
    retries: list[float] = field(default_factory=list)
    paused: list[float] = field(default_factory=list)  # seconds paused per second: 0..1
    in_flight: list[float] = field(default_factory=list)
    rate_target: list[float | None] = field(default_factory=list)  # None: unlimited


def _percentile(ordered: list[float], p: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)], 3)


def decided_series(agg: Aggregate, *, max_points: int = MAX_POINTS) -> DecidedSeries:
    """Per-second series of the result lines that carry a ``ts`` (empty when none does)."""
    out = DecidedSeries()
    first, last = agg.first_second, agg.last_second
    if first is None or last is None:
        return out
    width = out.width_s = max(1, math.ceil((last - first + 1) / max_points))
    names = [name for name in OUTCOME_ORDER if name in agg.outcomes]
    names += sorted(name for name in agg.outcomes if name not in OUTCOME_ORDER)
    out.outcomes = {name: [] for name in names}
    for start in range(first, last + 1, width):
        seconds = [agg.seconds[s] for s in range(start, min(start + width, last + 1)) if s in agg.seconds]
        out.x_ms.append(start * 1000.0)
        for name, values in out.outcomes.items():
            values.append(sum(sec.outcomes[name] for sec in seconds) / width)
        out.retries.append(sum(sec.retries for sec in seconds) / width)
        out.throttled.append(sum(sec.throttled for sec in seconds) / width)
        latencies = sorted(value for sec in seconds for value in sec.latencies)
        out.p50.append(_percentile(latencies, 50))
        out.p99.append(_percentile(latencies, 99))
    return out


def run_start_ms(summary: dict[str, Any]) -> float | None:
    """The run's start (the timeline's ``t = 0``) in epoch milliseconds, from the summary's ``started_at``."""
    started = summary.get("started_at")
    if not isinstance(started, str):
        return None
    return datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp() * 1000.0


def timeline_series(summary: dict[str, Any], *, max_points: int = MAX_POINTS) -> TimelineSeries:
    """The summary's timeline as per-second rates (a merged row's counts divided by its width), merged further
    to ``max_points``. Empty when the summary has no timeline or no ``started_at``."""
    out = TimelineSeries()
    rows, start_ms = summary.get("timeline") or [], run_start_ms(summary)
    if not rows or start_ms is None:
        return out
    ends = [row["t"] for row in rows[1:]] + [max(float(summary.get("elapsed_s") or 0), rows[-1]["t"] + 1e-3)]
    group = max(1, math.ceil(len(rows) / max_points))
    for i in range(0, len(rows), group):
        chunk, chunk_end = rows[i : i + group], ends[min(i + group, len(rows)) - 1]
        span = max(chunk_end - chunk[0]["t"], 1e-3)
        out.x_ms.append(start_ms + chunk[0]["t"] * 1000.0)
        for name in ("sent", "ok", "not_ok", "throttled", "retries"):
            getattr(out, name).append(round(sum(row[name] for row in chunk) / span, 2))
        out.paused.append(round(min(1.0, sum(row["paused_s"] for row in chunk) / span), 3))
        out.in_flight.append(max(row["in_flight"] for row in chunk))
        rates = [row["rate_target"] for row in chunk]
        out.rate_target.append(None if any(r is None or r <= 0 for r in rates) else sum(rates) / len(rates))
    return out
