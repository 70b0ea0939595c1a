"""One pass over a run's results files (SPEC §4): per-second counts and latencies, the tables, the slowest and
failed ids.

Several files are the shards of one job (SPEC §12): they are read one after the other into the same per-second
counts, keyed by each line's ``ts``, so they merge into one run whatever their order, and what is kept does not grow
with their number. Each file is streamed (any size; ``.gz`` too) and each line is parsed once with orjson. What is
kept grows with the run's *duration*, not with its number of lines: per second, a count per outcome, the attempts
beyond the first, the final 429s and the latencies (4 bytes each, for exact per-second percentiles); besides that
only the top ``keep`` slowest and the ``keep_failed`` earliest failed records. A torn last line (a crash mid-write)
and lines that are not result objects are counted and skipped, as ``--resume`` skips them.

``ts`` (when the outcome was decided, UTC, ISO 8601 with ``Z``) places a line in time; lines without it (written
before result lines carried one) count in the tables but not in the charts over time.
"""

from __future__ import annotations

import gzip
import heapq
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

SHOWN_CHARS = 300  # ids and errors longer than this are cut in the page: the page stays small for any run


@dataclass(slots=True)
class Second:
    """What was decided within one second of wall-clock time."""

    outcomes: Counter[str] = field(default_factory=Counter)
    retries: int = 0  # attempts beyond the first, of the records decided in this second
    throttled: int = 0  # records whose last answer was a 429
    latencies: array[float] = field(default_factory=lambda: array("f"))


@dataclass(frozen=True, slots=True)
class Listed:
    """A record shown in a table: the slowest ones and the failed ones."""

    id: str
    outcome: str
    status: int | None
    attempts: int
    latency_ms: float | None
    error: str | None
    request_id: str | None
    ts: str | None
    line: int | None
    results_file: str | None = None  # the results file's name, when several were read


@dataclass(slots=True)
class Aggregate:
    """Everything the report shows that comes from the result lines."""

    files: int = 0  # results files read
    lines: int = 0
    skipped_lines: int = 0  # not JSON objects (a torn last line, stray text)
    without_ts: int = 0
    ok: int = 0
    not_ok: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # the first SHOWN_CHARS of each failure's error
    seconds: dict[int, Second] = field(default_factory=dict)  # epoch second -> what was decided in it
    slowest: list[Listed] = field(default_factory=list)  # slowest first
    failed: list[Listed] = field(default_factory=list)  # the earliest (by ts), in ts order

    @property
    def first_second(self) -> int | None:
        return min(self.seconds) if self.seconds else None

    @property
    def last_second(self) -> int | None:
        return max(self.seconds) if self.seconds else None

    def latency_percentiles(self) -> dict[str, float]:
        """``p50``, ``p90``, ``p99``, ``max`` (ms) over every line's latency: what a summary of several shards cannot
        know. Sorts every latency once (4 bytes each): call it only when needed."""
        ordered = sorted(value for second in self.seconds.values() for value in second.latencies)
        if not ordered:
            return {}
        found = {f"p{p}": ordered[max(0, -(-len(ordered) * p // 100) - 1)] for p in (50, 90, 99)}
        return {name: round(value, 3) for name, value in {**found, "max": ordered[-1]}.items()}


def raw_lines(path: Path) -> Iterator[bytes]:
    """The lines of ``path`` as bytes, streamed; a ``.gz`` file decompressed on the way."""
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as packed:
            yield from packed
    else:
        with path.open("rb") as handle:
            yield from handle


def _epoch_second(ts: str) -> int:
    """``2026-12-01T18:43:03.123Z`` -> epoch seconds (the fraction dropped)."""
    return int(datetime.fromisoformat(ts[:19]).replace(tzinfo=UTC).timestamp())


def _listed(doc: dict[str, Any], results_file: str | None) -> Listed:
    error = doc.get("error")
    return Listed(
        id=str(doc.get("id"))[:SHOWN_CHARS],
        outcome=str(doc.get("outcome")),
        status=doc.get("status"),
        attempts=int(doc.get("attempts") or 0),
        latency_ms=doc.get("latency_ms"),
        error=None if error is None else str(error)[:SHOWN_CHARS],
        request_id=doc.get("request_id"),
        ts=doc.get("ts"),
        line=doc.get("line"),
        results_file=results_file,
    )


class Clock:
    """Maps a line's ``ts`` to the ``Second`` it falls in: one parse per second of the run, not per line (lines
    come in completion order, so a line is mostly in the same second as the line before)."""

    __slots__ = ("_last", "_last_key", "_parsed", "_seconds")

    def __init__(self, seconds: dict[int, Second]) -> None:
        self._seconds = seconds
        self._parsed: dict[str, int] = {}
        self._last_key = ""
        self._last = Second()

    def second(self, ts: object) -> Second | None:
        """The ``Second`` of ``ts``; None when ``ts`` is not an ISO 8601 time (the line then counts as without one)."""
        if not isinstance(ts, str):
            return None
        key = ts[:19]
        if key == self._last_key:
            return self._last
        epoch = self._parsed.get(key)
        if epoch is None:
            try:
                epoch = self._parsed[key] = _epoch_second(ts)
            except ValueError:
                return None
        found = self._seconds.get(epoch)
        if found is None:
            found = self._seconds[epoch] = Second()
        self._last_key, self._last = key, found
        return found


@dataclass(slots=True)
class _Kept:
    """The records a pass keeps for the tables, across files: a heap of the slowest, the earliest failed."""

    keep: int
    keep_failed: int
    slow: list[tuple[float, int, dict[str, Any], str | None]] = field(default_factory=list)  # the fastest on top
    failed: list[tuple[str, int, dict[str, Any], str | None]] = field(default_factory=list)  # (ts, seq, doc, file)
    seq: int = 0  # lines seen in every file: breaks ties in file order

    def add_slow(self, latency: float, doc: dict[str, Any], results_file: str | None) -> None:
        self.seq += 1
        if len(self.slow) < self.keep:
            heapq.heappush(self.slow, (latency, self.seq, doc, results_file))
        elif latency > self.slow[0][0]:
            heapq.heapreplace(self.slow, (latency, self.seq, doc, results_file))

    def add_failed(self, doc: dict[str, Any], results_file: str | None) -> None:
        """Keep the ``keep_failed`` earliest by ``ts`` (lines without one first): with several shards, the first
        failures of the job, not of the first file. Trimmed in bulk, so a failing run costs one sort per batch."""
        self.seq += 1
        ts = doc.get("ts")
        self.failed.append((ts if isinstance(ts, str) else "", self.seq, doc, results_file))
        if len(self.failed) >= 2 * self.keep_failed + 64:
            self.failed = sorted(self.failed, key=lambda item: item[:2])[: self.keep_failed]

    def finish(self, agg: Aggregate) -> None:
        agg.slowest = [_listed(doc, name) for _, _, doc, name in sorted(self.slow, key=lambda i: (-i[0], i[1]))]
        agg.failed = [_listed(doc, name) for _, _, doc, name in sorted(self.failed, key=lambda i: i[:2])]
        agg.failed = agg.failed[: self.keep_failed]


def _not_ok(agg: Aggregate, doc: dict[str, Any], outcome: str, kept: _Kept, results_file: str | None) -> None:
    agg.not_ok += 1
    error = doc.get("error")
    agg.errors[f"{outcome}: {str(error)[:SHOWN_CHARS]}" if error else outcome] += 1
    kept.add_failed(doc, results_file)


def aggregate(*paths: Path, keep: int = 15, keep_failed: int = 50) -> Aggregate:
    """Read the results files at ``paths`` once each, as one run; see the module docstring for what is kept."""
    agg = Aggregate(files=len(paths))
    kept = _Kept(keep, keep_failed)
    clock = Clock(agg.seconds)
    for path in paths:
        _read(path, agg, clock, kept, path.name if len(paths) > 1 else None)
    agg.lines = agg.ok + agg.not_ok
    kept.finish(agg)
    return agg


def _read(path: Path, agg: Aggregate, clock: Clock, kept: _Kept, name: str | None) -> None:
    outcomes, statuses, slow, keep = agg.outcomes, agg.statuses, kept.slow, kept.keep
    for raw in raw_lines(path):
        doc = _result_doc(raw, agg)
        if doc is None:
            continue
        outcome, status, latency = doc["outcome"], doc.get("status"), doc.get("latency_ms")
        outcomes[outcome] += 1
        statuses[str(status) if status is not None else "none"] += 1
        second = clock.second(doc.get("ts"))
        if second is None:
            agg.without_ts += 1
        else:
            _count_in_second(second, outcome, doc.get("attempts") or 0, status, latency)
        if latency is not None and (len(slow) < keep or latency > slow[0][0]):  # the common case stays inline
            kept.add_slow(latency, doc, name)
        if doc.get("ok", True):
            agg.ok += 1
        else:
            _not_ok(agg, doc, outcome, kept, name)


def _result_doc(raw: bytes, agg: Aggregate) -> dict[str, Any] | None:
    """The result line's JSON object, or None: a blank line silently, anything else counted as skipped."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        if not raw.strip():
            return None  # a blank line is no record, nor worth a note
        doc = None
    if not isinstance(doc, dict) or "outcome" not in doc:
        agg.skipped_lines += 1
        return None
    return doc


def _count_in_second(second: Second, outcome: str, attempts: int, status: object, latency: float | None) -> None:
    second.outcomes[outcome] += 1
    if attempts > 1:
        second.retries += attempts - 1
    if status == 429:
        second.throttled += 1
    if latency is not None:
        second.latencies.append(latency)
