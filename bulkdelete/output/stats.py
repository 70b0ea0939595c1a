"""Live run statistics: what the run sent and what it decided (the run summary, SPEC §8, is built from these).

Latencies go into a log-bucketed histogram (1% resolution) so percentiles cost constant memory on any input size.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bulkdelete.records import Outcome, Result

_BUCKET_BASE = math.log(1.01)
_log = math.log


@dataclass(slots=True)
class LatencyHistogram:
    """Percentiles of latencies in milliseconds, within 1%, in constant memory."""

    buckets: Counter[int] = field(default_factory=Counter)
    count: int = 0
    max_ms: float = 0.0

    def add(self, ms: float) -> None:
        self.buckets[int(_log(ms if ms > 0.001 else 0.001) / _BUCKET_BASE)] += 1
        self.count += 1
        if ms > self.max_ms:
            self.max_ms = ms

    def percentile(self, p: float) -> float | None:
        if not self.count:
            return None
        rank = max(1, math.ceil(self.count * p / 100))
        seen = 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= rank:
                return min(round(math.exp((bucket + 1) * _BUCKET_BASE), 3), round(self.max_ms, 3))
        return round(self.max_ms, 3)  # pragma: no cover - rank never exceeds count


@dataclass(slots=True)
class RunStats:
    """Counters updated by the transport (requests) and the engine (outcomes)."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    transport_errors: int = 0
    status_codes: Counter[int] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    ok: int = 0
    not_ok: int = 0

    @property
    def records(self) -> int:
        return self.ok + self.not_ok

    @property
    def in_flight(self) -> int:
        """Requests sent and not answered yet (every request ends as a reply or a transport error)."""
        return self.requests - self.latency.count - self.transport_errors

    def record_reply(self, status: int, latency_ms: float) -> None:
        self.status_codes[status] += 1
        if status == 429:
            self.throttled += 1
        self.latency.add(latency_ms)

    def record_result(self, result: Result) -> None:
        outcome = result.outcome
        self.outcomes[outcome._value_] += 1
        if outcome.ok:
            self.ok += 1
        else:
            self.not_ok += 1

    def request_figures(self) -> dict[str, Any]:
        """What the requests did, as a summary shows it (SPEC §8): ``requests``, ``retries``, ``throttled``,
        ``transport_errors``, ``status_codes`` (code as text → count)."""
        return {
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "transport_errors": self.transport_errors,
            "status_codes": {str(code): n for code, n in sorted(self.status_codes.items())},
        }

    def count(self, outcome: Outcome) -> int:
        return self.outcomes[outcome.value]
