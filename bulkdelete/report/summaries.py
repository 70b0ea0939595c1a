"""The summaries of several processes (the shards of one job, SPEC §12) folded into one summary of the job.

Folded one at a time, so memory holds one summary and the job's per-second timeline, whatever the number of shards.
What adds up is summed: records, ok / not ok, requests, retries, 429s, unsent, the outcome and status tables, the
verification's verdicts and queries. Time is the job's: from the first ``started_at`` to the last ``finished_at``.
The timelines are summed per wall-clock second (each row placed at its summary's ``started_at`` + ``t``; a merged row
of k seconds spread over them), except two levels: the rate target is summed too, unless the summaries say they
share one budget through a rate store (then it is that budget: the largest), and the share of a second paused is
the largest of any shard's. What does not add up is left to the result lines: latency percentiles (the report
computes them from every line) and ``quota_found``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bulkdelete.report.series import run_start_ms

SUMMED = ("records", "ok", "not_ok", "requests", "retries", "throttled", "unsent", "other_shards")
TABLES = ("outcomes", "status_codes")
_COUNTS = ("sent", "ok", "not_ok", "throttled", "retries")  # timeline columns that add up
_IN_FLIGHT, _RATE, _PAUSED = len(_COUNTS), len(_COUNTS) + 1, len(_COUNTS) + 2


def _shares_a_budget(summary: dict[str, Any]) -> bool:
    """A process of a rate store (SPEC §12): its rate target is the budget of all, not a share of it."""
    target = summary.get("target")
    named = (summary.get(key) for key in ("rate_store", "rate_key"))
    return any(named) or (isinstance(target, dict) and bool(target.get("rate_store") or target.get("rate_key")))


def _iso(epoch_ms: float) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _end_ms(summary: dict[str, Any], start_ms: float) -> float:
    finished = summary.get("finished_at")
    if isinstance(finished, str):
        return datetime.fromisoformat(finished.replace("Z", "+00:00")).timestamp() * 1000.0
    return start_ms + float(summary.get("elapsed_s") or 0) * 1000.0


@dataclass(slots=True)
class _Fold:
    """The job so far."""

    count: int = 0
    sums: Counter[str] = field(default_factory=Counter)
    tables: dict[str, Counter[str]] = field(default_factory=lambda: {name: Counter() for name in TABLES})
    verdicts: Counter[str] = field(default_factory=Counter)
    queries: int = 0
    verify_s: float = 0.0
    start_ms: float = math.inf
    end_ms: float = -math.inf
    paused_s: float = 0.0
    latency_max: float = 0.0
    rate_final: float | None = None
    seconds: dict[int, list[float]] = field(default_factory=dict)  # epoch second -> _COUNTS, in flight, rate, paused
    seen: dict[str, set[str]] = field(default_factory=dict)  # exit codes, versions, stop reasons
    target: dict[str, Any] | None = None

    def add(self, summary: dict[str, Any]) -> None:
        self.count += 1
        for key in SUMMED:
            if isinstance(summary.get(key), int | float):
                self.sums[key] += summary[key]
        for name in TABLES:
            self.tables[name].update({str(k): int(v) for k, v in (summary.get(name) or {}).items()})
        for key in ("exit_code", "version", "stop_reason"):
            if summary.get(key) is not None:
                self.seen.setdefault(key, set()).add(str(summary[key]))
        self.paused_s = max(self.paused_s, float(summary.get("paused_s") or 0))
        self.latency_max = max(self.latency_max, float((summary.get("latency_ms") or {}).get("max") or 0))
        shared = _shares_a_budget(summary)
        if isinstance(summary.get("rate_final"), int | float):
            rate, before = float(summary["rate_final"]), self.rate_final
            if rate <= 0 or before == 0:
                self.rate_final = 0.0  # a process without a rate limit: the job has none
            else:
                self.rate_final = max(before or 0.0, rate) if shared else (before or 0.0) + rate
        self._add_target(summary.get("target"))
        self._add_verification(summary.get("verification"))
        start_ms = run_start_ms(summary)
        if start_ms is not None:
            self.start_ms, self.end_ms = min(self.start_ms, start_ms), max(self.end_ms, _end_ms(summary, start_ms))
            self._add_timeline(summary, start_ms, shared)

    def _add_target(self, target: object) -> None:
        """The job's target: the keys every shard agrees on."""
        if not isinstance(target, dict):
            return
        if self.target is None:
            self.target = dict(target)
        else:
            self.target = {k: v for k, v in self.target.items() if target.get(k) == v}

    def _add_verification(self, verification: object) -> None:
        if isinstance(verification, dict):
            self.verdicts.update({str(k): int(v) for k, v in (verification.get("verdicts") or {}).items()})
            self.queries += int(verification.get("queries") or 0)
            self.verify_s = max(self.verify_s, float(verification.get("elapsed_s") or 0))

    def _add_timeline(self, summary: dict[str, Any], start_ms: float, shared: bool) -> None:
        rows = summary.get("timeline") or []
        if not rows:
            return
        ends = [row["t"] for row in rows[1:]] + [max(float(summary.get("elapsed_s") or 0), rows[-1]["t"] + 1)]
        for row, end in zip(rows, ends, strict=True):
            first = math.floor(start_ms / 1000 + row["t"])
            width = max(1, round(end - row["t"]))
            rate = row.get("rate_target")
            for second in range(first, first + width):
                into = self.seconds.setdefault(second, [0.0] * (len(_COUNTS) + 3))
                for i, name in enumerate(_COUNTS):
                    into[i] += row.get(name, 0) / width
                into[_IN_FLIGHT] += row.get("in_flight", 0)
                if rate is None or rate <= 0:
                    into[_RATE] = math.inf  # unlimited
                else:
                    into[_RATE] = max(into[_RATE], rate) if shared else into[_RATE] + rate
                into[_PAUSED] = max(into[_PAUSED], row.get("paused_s", 0) / width)

    def timeline(self, start_ms: float) -> list[dict[str, Any]]:
        """Rows of one wall-clock second each, from the first second any shard ran to the last (zeros between)."""
        if not self.seconds:
            return []
        rows = []
        for second in range(min(self.seconds), max(self.seconds) + 1):
            values = self.seconds.get(second) or [0.0] * (len(_COUNTS) + 3)
            row: dict[str, Any] = {"t": round(second - start_ms / 1000, 3)}
            row.update({name: round(values[i], 3) for i, name in enumerate(_COUNTS)})
            rate = values[_RATE]
            row["in_flight"] = values[_IN_FLIGHT]
            row["rate_target"] = None if rate == math.inf or rate <= 0 else rate
            row["paused_s"] = round(values[_PAUSED], 3)
            rows.append(row)
        return rows


def _joined(values: set[str] | None) -> str | None:
    return ", ".join(sorted(values)) if values else None


def merge_summaries(summaries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """One summary of the job from its processes' summaries (see the module docstring for how each field is
    combined). ``merged_from`` counts them; ``latency_ms`` holds only ``max``."""
    fold = _Fold()
    for summary in summaries:
        fold.add(summary)
    merged: dict[str, Any] = {key: fold.sums[key] for key in SUMMED if key in fold.sums}
    merged.update({name: dict(fold.tables[name]) for name in TABLES if fold.tables[name]})
    merged["merged_from"] = fold.count
    merged["latency_ms"] = {"max": fold.latency_max}
    merged["paused_s"] = fold.paused_s
    merged.update({key: _joined(fold.seen.get(key)) for key in ("exit_code", "version", "stop_reason")})
    if fold.target is not None:
        merged["target"] = fold.target
    if fold.verdicts or fold.queries:
        merged["verification"] = {"verdicts": dict(fold.verdicts), "queries": fold.queries, "elapsed_s": fold.verify_s}
    if fold.start_ms < math.inf:
        elapsed = max(fold.end_ms - fold.start_ms, 0.0) / 1000
        merged.update(started_at=_iso(fold.start_ms), finished_at=_iso(fold.end_ms), elapsed_s=round(elapsed, 3))
        merged["rate_per_s"] = round(merged.get("records", 0) / elapsed, 1) if elapsed else 0.0
        merged["timeline"] = fold.timeline(fold.start_ms)
    if fold.rate_final is not None:
        merged["rate_final"] = fold.rate_final
    return merged
