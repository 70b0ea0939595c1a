"""One pass over a verify run's verdict files (SPEC §11), for the report's "Verification" part.

A verdict line: ``{"id", "verdict", "ok", "checks", "evidence", "log", "error", "line", "ts"}`` (optional ``file``,
``children_left``); ``log`` is the Coveo Logs API entry that explains a ``failed`` (or ``present``) id:
``{"task", "result", "operation", "datetime", "meta": {…}, "requestId"}``. Several files (the shards of one verify
job) merge by ``ts``, as results files do (``aggregate``).

Streamed like the results: what is kept grows with the verification's duration (a count per verdict per second),
plus the first ``keep`` not-gone records of each verdict and at most ``MAX_REASONS`` distinct reasons.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bulkdelete.report.aggregate import SHOWN_CHARS, Clock, Second, raw_lines

# Verdicts in the order they are stacked and listed, with whether they are ok and what they mean (SPEC §11).
VERDICTS = {
    "gone": (True, "a check that could have seen it did not"),
    "failed": (False, "Coveo's Logs API reports the delete ERROR or REJECTED"),
    "present": (False, "still there when --wait ran out"),
    "unknown": (False, "could not be checked (see its error)"),
    "not_deleted": (False, "the delete was not ok: nothing queried"),
}
NOT_GONE_ORDER = ("failed", "present", "unknown", "not_deleted")  # the table of what is not gone lists these first
MAX_REASONS = 500  # distinct reasons counted; the rest count as one "other reasons"
OTHER_REASONS = "(other reasons)"


@dataclass(frozen=True, slots=True)
class NotGone:
    """A record whose verdict is not ``gone``, as the page lists it."""

    id: str
    verdict: str
    checks: int | None
    error: str | None
    reason: str | None  # the log entry, readable: ``ERROR at INDEXING (DELETE): meta…``
    request_id: str | None  # the log entry's requestId
    children_left: int | None
    ts: str | None
    results_file: str | None = None  # the verdict file's name, when several were read


@dataclass(slots=True)
class Verification:
    """Everything the page's "Verification" part shows that comes from the verdict lines."""

    files: int = 0
    lines: int = 0
    ok: int = 0
    skipped_lines: int = 0
    without_ts: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)  # "verdict: reason or error" -> records
    seconds: dict[int, Second] = field(default_factory=dict)  # epoch second -> verdicts decided in it (``outcomes``)
    kept: dict[str, list[NotGone]] = field(default_factory=dict)  # verdict -> its first ``keep`` records

    @property
    def not_gone(self) -> int:
        return self.lines - self.verdicts["gone"]

    def listed(self, cap: int) -> list[NotGone]:
        """At most ``cap`` not-gone records: failed ones first (they carry the log's reason), then present, unknown,
        not deleted, then any verdict this version does not know."""
        order = [*NOT_GONE_ORDER, *sorted(set(self.kept) - set(NOT_GONE_ORDER))]
        return [item for verdict in order for item in self.kept.get(verdict, [])][:cap]


def log_reason(log: object, record_id: object = None, *, dated: bool = True) -> str | None:
    """A log entry as one readable line: ``ERROR at INDEXING (DELETE, 2026-12-03T09:10:00Z): error: …; code: …``.
    A ``meta`` value that is the record's id is left out (the row shows it); ``dated=False`` leaves out the entry's
    time too, so the same cause of many records reads the same (the table of reasons counts them together)."""
    if not isinstance(log, dict):
        return None if log is None else str(log)[:SHOWN_CHARS]
    head = " at ".join(str(log[key]) for key in ("result", "task") if log.get(key))
    when = ", ".join(str(log[key]) for key in ("operation", "datetime" if dated else "") if log.get(key))
    meta = log.get("meta")
    if isinstance(meta, dict):
        shown = {k: v for k, v in meta.items() if v != record_id}
        details = "; ".join(f"{k}: {v if isinstance(v, str) else orjson.dumps(v).decode()}" for k, v in shown.items())
    else:
        details = "" if meta is None else str(meta)
    text = f"{head or 'log'}{f' ({when})' if when else ''}{f': {details}' if details else ''}"
    return text[:SHOWN_CHARS]


def _not_gone(doc: dict[str, Any], verdict: str, name: str | None) -> NotGone:
    log, error, children = doc.get("log"), doc.get("error"), doc.get("children_left")
    request_id = log.get("requestId") if isinstance(log, dict) else None
    return NotGone(
        id=str(doc.get("id"))[:SHOWN_CHARS],
        verdict=verdict,
        checks=doc.get("checks") if isinstance(doc.get("checks"), int) else None,
        error=None if error is None else str(error)[:SHOWN_CHARS],
        reason=log_reason(log, doc.get("id")),
        request_id=None if request_id is None else str(request_id)[:SHOWN_CHARS],
        children_left=children if isinstance(children, int) else None,
        ts=doc.get("ts") if isinstance(doc.get("ts"), str) else None,
        results_file=name,
    )


def _docs(path: Path, found: Verification) -> Iterator[dict[str, Any]]:
    for raw in raw_lines(path):
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            if not raw.strip():
                continue
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("verdict"), str):
            yield doc
        else:
            found.skipped_lines += 1


def read_verdicts(*paths: Path, keep: int = 100) -> Verification:
    """Read the verdict files at ``paths`` once each, as one verification; see the module docstring."""
    found = Verification(files=len(paths))
    clock = Clock(found.seconds)
    for path in paths:
        name = path.name if len(paths) > 1 else None
        for doc in _docs(path, found):
            _count(found, doc, clock, keep, name)
    return found


def _count(found: Verification, doc: dict[str, Any], clock: Clock, keep: int, name: str | None) -> None:
    verdict = doc["verdict"]
    found.lines += 1
    found.verdicts[verdict] += 1
    second = clock.second(doc.get("ts"))
    if second is None:
        found.without_ts += 1
    else:
        second.outcomes[verdict] += 1
    if verdict == "gone" or doc.get("ok") is True:
        found.ok += 1
        return
    reason = log_reason(doc.get("log"), doc.get("id"), dated=False) or str(doc.get("error") or "")[:SHOWN_CHARS]
    key = f"{verdict}: {reason}" if reason else verdict
    found.reasons[key if key in found.reasons or len(found.reasons) < MAX_REASONS else OTHER_REASONS] += 1
    kept = found.kept.setdefault(verdict, [])
    if len(kept) < keep:
        kept.append(_not_gone(doc, verdict, name))


@dataclass(slots=True)
class VerdictSeries:
    """Verdicts given so far (cumulative), per verdict, at each point's end; at most ``max_points`` points."""

    x_ms: list[float] = field(default_factory=list)
    cumulative: dict[str, list[float]] = field(default_factory=dict)


def verdict_series(found: Verification, *, max_points: int = 1200) -> VerdictSeries:
    """Cumulative verdicts over time, from the lines that carry a ``ts`` (empty when none does)."""
    out = VerdictSeries()
    if not found.seconds:
        return out
    first, last = min(found.seconds), max(found.seconds)
    width = max(1, math.ceil((last - first + 1) / max_points))
    names = [name for name in VERDICTS if name in found.verdicts]
    names += sorted(name for name in found.verdicts if name not in VERDICTS)
    totals = dict.fromkeys(names, 0)
    out.x_ms.append(first * 1000.0)  # from zero at the first verdict's second
    out.cumulative = {name: [0.0] for name in names}
    for start in range(first, last + 1, width):
        for s in range(start, min(start + width, last + 1)):
            if s in found.seconds:
                for name, count in found.seconds[s].outcomes.items():
                    totals[name] += count
        out.x_ms.append(min(start + width, last + 1) * 1000.0)  # the count holds at the end of the point
        for name, values in out.cumulative.items():
            values.append(totals[name])
    return out
