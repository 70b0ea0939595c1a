"""The Prometheus view of a ``Watch`` (SPEC §14): a custom collector, so every scrape reads the live run.

Names have the ``bulkdelete_`` prefix, base units (seconds), ``_total`` counters, labels of few values; never an id
and never a secret (the labels are the outcome, verdict, HTTP status, version and the run's api/org/source/shard).
The pushed outcome (``pushed=True``) is the counters as they ended plus ``bulkdelete_last_run_*``: the gauges that
describe a live process (in flight, rate target, last progress) are left out, so that a group on the Pushgateway
never looks like a run still going.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from bulkdelete._version import __version__
from bulkdelete.metrics.watch import Reading, Watch

# Request durations, seconds: loopback (1 ms) to a slow API under load (30 s, the default --timeout).
BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_LOG_STEP = math.log(1.01)  # LatencyHistogram's: bucket b holds [1.01^b, 1.01^(b+1)) ms


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _labelled(family: CounterMetricFamily, counts: dict[str, int]) -> CounterMetricFamily:
    for label, count in sorted(counts.items()):
        family.add_metric([label], count)
    return family


def duration_histogram(latency_ms: dict[int, int]) -> HistogramMetricFamily:
    """``bulkdelete_request_duration_seconds`` from ``LatencyHistogram``'s 1% buckets: each is counted at its
    geometric middle, so every bucket boundary and the sum are right within 1%."""
    counts = [0] * (len(BUCKETS_S) + 1)
    total_s = 0.0
    for bucket, n in latency_ms.items():
        seconds = math.exp((bucket + 0.5) * _LOG_STEP) / 1000.0
        counts[bisect.bisect_left(BUCKETS_S, seconds)] += n
        total_s += seconds * n
    cumulative, buckets = 0, []
    for bound, n in zip((*map(str, BUCKETS_S), "+Inf"), counts, strict=True):
        cumulative += n
        buckets.append((bound, float(cumulative)))
    return HistogramMetricFamily(
        "bulkdelete_request_duration_seconds",
        "Request durations: from the start of a request (after its rate slot) to the end of its answer.",
        buckets=buckets,
        sum_value=total_s,
    )


def families(reading: Reading, *, pushed: bool = False) -> Iterator[Metric]:
    """Every metric family of ``reading`` (``pushed``: the outcome as pushed at the end)."""
    yield _labelled(
        CounterMetricFamily(
            "bulkdelete_records", "Records decided, by outcome: one result line each.", labels=["outcome"]
        ),
        reading.outcomes,
    )
    yield _labelled(
        CounterMetricFamily(
            "bulkdelete_verdicts", "Verdicts given (verify): one verdict line each.", labels=["verdict"]
        ),
        reading.verdicts,
    )
    yield _counter("bulkdelete_listed", "Items listed (list): one item line each.", reading.listed)
    yield _labelled(
        CounterMetricFamily(
            "bulkdelete_requests", "HTTP requests answered, by status ('error': no answer).", labels=["code"]
        ),
        reading.requests,
    )
    yield _counter(
        "bulkdelete_retries", "Requests sent again (a retry of a 429, a 5xx, a timeout...).", reading.retries
    )
    yield _counter("bulkdelete_throttled", "Answers that were 429 (or Velt's RESOURCE_EXHAUSTED).", reading.throttled)
    yield duration_histogram(reading.latency_ms)
    yield _counter("bulkdelete_paused_seconds", "Seconds every request waited on a throttle's pause.", reading.paused_s)
    yield _counter("bulkdelete_rate_store_errors", "Rate store calls that got no answer.", reading.store_errors)
    yield _gauge("bulkdelete_run_start_timestamp_seconds", "When the run started, Unix time.", reading.started)
    if reading.expected is not None:
        yield _gauge(
            "bulkdelete_records_expected", "Records the run expects to decide (input lines).", reading.expected
        )
    if not pushed:
        yield _gauge("bulkdelete_in_flight_requests", "Requests sent and not answered yet.", reading.in_flight)
        if reading.rate_target is not None:
            yield _gauge(
                "bulkdelete_rate_target_per_second",
                "The rate requests are paced to (0: unlimited).",
                reading.rate_target,
            )
        yield _gauge(
            "bulkdelete_last_progress_timestamp_seconds",
            "When a record, verdict or item was last decided or a request answered, Unix time (to a scrape).",
            reading.last_progress,
        )
    info = GaugeMetricFamily("bulkdelete_build_info", "The bulkdelete version running.", labels=["version"])
    info.add_metric([__version__], 1)
    yield info
    run = GaugeMetricFamily(
        "bulkdelete_run_info", "What the run deletes from.", labels=["api", "org", "source", "shard"]
    )
    labels = reading.labels
    run.add_metric([labels["api"], labels["org"], labels["source"], labels["shard"]], 1)
    yield run
    if reading.exit_code is not None:
        yield _gauge("bulkdelete_last_run_exit_code", "The run's exit status (SPEC §5).", reading.exit_code)
        yield _gauge("bulkdelete_last_run_duration_seconds", "How long the run took.", reading.duration_s or 0.0)
        if reading.exit_code == 0 and reading.ended_at is not None:
            yield _gauge(
                "bulkdelete_last_success_timestamp_seconds",
                "When a run last ended with exit 0, Unix time.",
                reading.ended_at,
            )


class RunCollector(Collector):
    """Reads ``watch`` at every collection (``pushed``: the end's outcome, for the Pushgateway)."""

    def __init__(self, watch: Watch, *, pushed: bool = False) -> None:
        self._watch = watch
        self._pushed = pushed

    def __repr__(self) -> str:
        return f"<RunCollector {self._watch!r} pushed={self._pushed}>"

    def collect(self) -> Iterator[Metric]:
        yield from families(self._watch.reading(), pushed=self._pushed)
