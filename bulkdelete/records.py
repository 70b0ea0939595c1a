"""The data that flows between the pipeline's stages.

``Record`` is one input record as read; ``Result`` is its final, reported outcome (one JSON line, SPEC §4).
Both are immutable: millions of them pass through a run, and no stage may change what another decided. They are
``NamedTuple``s rather than frozen dataclasses because each is built once per record on the hot path: a tuple is
as immutable and as small, and four times cheaper to build (0.4 against 1.5 µs measured: a frozen dataclass's
``__init__`` sets each field through ``object.__setattr__``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

import orjson


class Outcome(StrEnum):
    """What finally happened to one record (SPEC §4)."""

    ACCEPTED = "accepted"  # Coveo answered 202 to its DELETE: enqueued, not yet deleted
    BATCHED = "batched"  # in a Coveo batch whose push got 202
    DELETED = "deleted"  # Velt reported success
    NOT_FOUND = "not_found"  # Velt reported the id absent: the goal state holds
    PLANNED = "planned"  # dry run: would have been sent
    SKIPPED = "skipped"  # an earlier run (--resume) already recorded it as ok
    DUPLICATE = "duplicate"  # the same id came earlier in this run
    INVALID = "invalid"  # rejected before sending
    FAILED = "failed"  # final API error, or attempts exhausted
    # What one check of ``verify`` found (SPEC §11): the engine runs checks as it runs deletes; never a delete's.
    GONE = "gone"  # a check that could have seen the id did not
    PRESENT = "present"  # a check saw it (or, with --children, a descendant of it)

    ok: bool  # the goal state holds (every outcome but invalid, failed and present); set on each member below


_NOT_OK = frozenset({Outcome.INVALID.value, Outcome.FAILED.value, Outcome.PRESENT.value})
for _member in Outcome:
    # A plain attribute per member, read three times per record: a property would be a Python call each time.
    _member.ok = _member.value not in _NOT_OK


class Record(NamedTuple):
    """One input record.

    ``id`` is the id exactly as read, surrounding whitespace trimmed. ``line`` is the 1-based record number in its
    input. ``file`` names the input and is only set when the run reads more than one. ``problem`` is set by the
    reader when the record cannot be sent (it becomes an ``invalid`` result carrying that reason).
    """

    id: str
    line: int
    file: str | None = None
    problem: str | None = None


class Result(NamedTuple):
    """The final outcome of one record: exactly one per decided record, written as one JSON line."""

    record: Record
    outcome: Outcome
    status: int | None = None
    attempts: int = 0
    error: str | None = None
    latency_ms: float | None = None
    batch: str | None = None
    ts: str | None = None  # when the outcome was decided: UTC, ISO 8601, milliseconds, ``Z`` (``utc_stamp``)
    request_id: str | None = None  # the API's X-Request-ID of the last answer

    @property
    def ok(self) -> bool:
        return self.outcome.ok

    def to_dict(self) -> dict[str, object]:
        # Once per record on the hot path: the tuples unpacked (one C step, where each NamedTuple field read is a
        # descriptor call) and ``_value_`` read rather than the ``value`` property.
        record, outcome, status, attempts, error, latency_ms, batch, ts, request_id = self
        record_id, line, file, _ = record
        doc: dict[str, object] = {
            "id": record_id,
            "outcome": outcome._value_,
            "ok": outcome.ok,
            "status": status,
            "attempts": attempts,
            "error": error,
            "latency_ms": None if latency_ms is None else round(latency_ms, 3),
            "line": line,
            "ts": ts,
            "request_id": request_id,
        }
        if file is not None:
            doc["file"] = file
        if batch is not None:
            doc["batch"] = batch
        return doc

    def to_json_line(self) -> bytes:
        """The result as one JSON line, newline included."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_APPEND_NEWLINE)
