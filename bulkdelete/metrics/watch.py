"""What a process's metrics read: the live statistics of its run, attached phase by phase, read at scrape time.

A run attaches what it already keeps (``RunStats``, the pacer's rate and pauses, the verifier's verdict counts, the
listing's line count) when it starts: nothing is counted twice and nothing is called per record, so the hot path
costs the same with metrics on. ``reading()`` runs on the metrics server's thread while the loop's thread updates
those ints and dicts: CPython makes each read atomic; a dict copied while it grows is copied again.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bulkdelete.output.progress import count_in_background
from bulkdelete.output.stats import RunStats
from bulkdelete.records import Outcome
from bulkdelete.verify.lines import VerdictKind

if TYPE_CHECKING:
    from bulkdelete.metrics.config import MetricsConfig
    from bulkdelete.rate.control import RateReadings

# Every outcome a result line can hold (SPEC §4), pre-set to 0: a counter that appears only once it is 1 loses
# that first increase to rate() and increase().
RESULT_OUTCOMES = tuple(
    o.value
    for o in (
        Outcome.ACCEPTED,
        Outcome.BATCHED,
        Outcome.DELETED,
        Outcome.NOT_FOUND,
        Outcome.PLANNED,
        Outcome.SKIPPED,
        Outcome.DUPLICATE,
        Outcome.INVALID,
        Outcome.FAILED,
    )
)
VERDICTS = tuple(kind.value for kind in VerdictKind)
_COPY_TRIES = 20


@dataclass(slots=True)
class _Phase:
    """One part of the run: ``kind`` is ``delete`` (its outcomes are the result lines), ``verify``, ``list`` or
    ``call``; ``stats`` its requests; ``rate`` its pacer (None: not paced); ``store`` its rate store, if any."""

    kind: str
    stats: RunStats
    rate: RateReadings | None = None
    store: object | None = None
    verdicts: Mapping[str, int] | None = None
    listed: Callable[[], int] | None = None


@dataclass(frozen=True, slots=True)
class Reading:
    """One scrape's figures, copied from the live run. Durations and timestamps in seconds; ``latency_ms``:
    ``{bucket: count}`` of ``LatencyHistogram``'s 1% buckets (bucket b holds values up to 1.01^(b+1) ms)."""

    outcomes: dict[str, int]
    verdicts: dict[str, int]
    listed: int
    requests: dict[str, int]  # HTTP status as text, or "error" for no answer
    retries: int
    throttled: int
    latency_ms: dict[int, int]
    in_flight: int
    rate_target: float | None
    paused_s: float
    expected: int | None
    store_errors: int
    started: float
    last_progress: float
    labels: dict[str, str]
    exit_code: int | None = None
    duration_s: float | None = None
    ended_at: float | None = None


def _copied(source: Mapping[Any, int]) -> dict[Any, int]:
    """``dict(source)`` of a dict the loop's thread may be growing (``RuntimeError``: copied again)."""
    for _ in range(_COPY_TRIES):
        try:
            return dict(source)
        except RuntimeError:
            continue
    return {}  # pragma: no cover - 20 resizes in a row while copying a few dozen keys


@dataclass(slots=True)
class _Progress:
    mark: int = -1
    at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Watch:
    """What ``/metrics`` and the push read for one process: its labels and its run's phases as they start.

    ``config``: where to serve and push. ``labels``: ``api``, ``org``, ``source``, ``shard`` (``bulkdelete_run_info``;
    never a secret, never an id). ``clock``: wall-clock seconds (timestamps are epoch seconds, as Prometheus's
    ``time()``). A run calls ``deletion``, ``verification``, ``listing`` or ``call`` once per phase, on the loop's
    thread; the end calls ``finish``.
    """

    def __init__(
        self,
        config: MetricsConfig,
        *,
        api: str = "",
        org: str = "",
        source: str = "",
        shard: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.labels = {"api": api, "org": org, "source": source, "shard": shard}
        self._clock = clock
        self.started = clock()
        self._monotonic_start = time.monotonic()
        self._phases: list[_Phase] = []
        self._expected: int | None = None
        self._progress = _Progress(at=self.started)
        self.exit_code: int | None = None
        self.duration_s: float | None = None
        self.ended_at: float | None = None

    def __repr__(self) -> str:
        kinds = ",".join(phase.kind for phase in self._phases) or "none"
        return f"<Watch {self.config.job}/{self.config.instance} phases={kinds} exit={self.exit_code}>"

    # -- attached by the runs (the loop's thread) --

    def deletion(
        self, stats: RunStats, rate: RateReadings | None, *, store: object | None = None, inputs: Sequence[str] = ()
    ) -> None:
        """A deletion started: its ``stats.outcomes`` are the result lines. ``inputs``: plain files whose lines are
        counted in a background thread for ``bulkdelete_records_expected`` (an upper bound: lines, not records)."""
        self._phases.append(_Phase("delete", stats, rate, store))
        if inputs:
            count_in_background(inputs, self._count_expected)

    def verification(
        self, stats: RunStats, rate: RateReadings | None, verdicts: Mapping[str, int], *, store: object | None = None
    ) -> None:
        """A verification started: ``verdicts`` is its live ``verdict → count`` (the verdict lines)."""
        self._phases.append(_Phase("verify", stats, rate, store, verdicts=verdicts))

    def listing(
        self, stats: RunStats, rate: RateReadings | None, listed: Callable[[], int], *, store: object | None = None
    ) -> None:
        """A listing started: ``listed()`` is the number of item lines written so far (cheap, thread-safe)."""
        self._phases.append(_Phase("list", stats, rate, store, listed=listed))

    def call(self, stats: RunStats) -> None:
        """A single API call's requests (``coveo older-than``)."""
        self._phases.append(_Phase("call", stats))

    def expect(self, records: int) -> None:
        """``bulkdelete_records_expected``: the records the run will decide, once known."""
        self._expected = records

    def _count_expected(self, lines: int) -> None:
        self._expected = lines if self._expected is None else self._expected + lines

    def finish(self, exit_code: int) -> None:
        """The run ended with ``exit_code`` (SPEC §5): from now on the metrics carry ``last_run_*``."""
        self.duration_s = time.monotonic() - self._monotonic_start
        self.ended_at = self._clock()
        self.exit_code = exit_code

    # -- read at scrape time (the server's thread) --

    def reading(self) -> Reading:
        """The figures as they are now, summed over the phases."""
        phases = list(self._phases)
        outcomes = dict.fromkeys(RESULT_OUTCOMES, 0)
        verdicts = dict.fromkeys(VERDICTS, 0)
        requests: dict[str, int] = {}
        latency: dict[int, int] = {}
        listed = retries = throttled = in_flight = store_errors = 0
        paused = 0.0
        for phase in phases:
            stats = phase.stats
            if phase.kind == "delete":
                for outcome, n in _copied(stats.outcomes).items():
                    outcomes[outcome] = outcomes.get(outcome, 0) + n
            if phase.verdicts is not None:
                for verdict, n in _copied(phase.verdicts).items():
                    verdicts[verdict] = verdicts.get(verdict, 0) + n
            if phase.listed is not None:
                listed += phase.listed()
            answered = stats.transport_errors
            for code, n in _copied(stats.status_codes).items():
                requests[str(code)] = requests.get(str(code), 0) + n
                answered += n
            if stats.transport_errors:
                requests["error"] = requests.get("error", 0) + stats.transport_errors
            for bucket, n in _copied(stats.latency.buckets).items():
                latency[bucket] = latency.get(bucket, 0) + n
            retries += stats.retries
            throttled += stats.throttled
            in_flight += max(0, stats.requests - answered)
            paused += phase.rate.paused_s if phase.rate is not None else 0.0
            errors = getattr(phase.store, "errors", 0)
            store_errors += errors if isinstance(errors, int) else 0
        rate = next((p.rate for p in reversed(phases) if p.rate is not None), None)
        target = rate.current_rate if rate is not None else None
        decided = sum(outcomes.values()) + sum(verdicts.values()) + listed + sum(requests.values())
        return Reading(
            outcomes=outcomes,
            verdicts=verdicts,
            listed=listed,
            requests=requests,
            retries=retries,
            throttled=throttled,
            latency_ms=latency,
            in_flight=in_flight,
            rate_target=target if target is None or math.isfinite(target) else 0.0,
            paused_s=paused,
            expected=self._expected,
            store_errors=store_errors,
            started=self.started,
            last_progress=self._progressed(decided),
            labels=dict(self.labels),
            exit_code=self.exit_code,
            duration_s=self.duration_s,
            ended_at=self.ended_at,
        )

    def _progressed(self, mark: int) -> float:
        """When ``mark`` (records, verdicts, items decided and requests answered) last moved, as scrapes saw it: the
        run records no time per record, so the resolution is the scrape interval."""
        progress = self._progress
        with progress.lock:
            if mark != progress.mark:
                if progress.mark >= 0 or mark > 0:
                    progress.at = self._clock()
                progress.mark = mark
            return progress.at
