"""What ``verify`` says of each record: one verdict line (SPEC §11).

::

    {"id":"https://x.com/a","verdict":"gone","ok":true,"checks":2,"evidence":"search: not found (viewAllContent)",
     "log":null,"error":null,"line":7,"ts":"2026-12-03T09:12:44.120Z"}
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NamedTuple

import orjson

from bulkdelete.records import Record


class VerdictKind(StrEnum):
    """A line's ``verdict``: is the document gone? Only ``gone`` is ok, and only a check that could have seen it
    says so."""

    GONE = "gone"  # a check that could have seen it did not
    PRESENT = "present"  # still there when --wait ran out
    FAILED = "failed"  # Coveo's Logs API reports its delete ERROR or REJECTED
    NOT_DELETED = "not_deleted"  # the delete run's own line says it was not ok: nothing queried
    UNKNOWN = "unknown"  # could not be checked (error says why)

    @property
    def ok(self) -> bool:
        return self is VerdictKind.GONE


class VerdictLine(NamedTuple):
    """One record's final verdict."""

    record: Record
    verdict: VerdictKind
    checks: int = 0
    evidence: str | None = None
    log: dict[str, Any] | None = None
    error: str | None = None
    ts: str | None = None
    children_left: int | None = None

    @property
    def ok(self) -> bool:
        return self.verdict.ok

    def to_dict(self) -> dict[str, object]:
        record = self.record
        doc: dict[str, object] = {
            "id": record.id,
            "verdict": self.verdict.value,
            "ok": self.verdict.ok,
            "checks": self.checks,
            "evidence": self.evidence,
            "log": self.log,
            "error": self.error,
            "line": record.line,
            "ts": self.ts,
        }
        if record.file is not None:
            doc["file"] = record.file
        if self.children_left is not None:
            doc["children_left"] = self.children_left
        return doc

    def to_json_line(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_APPEND_NEWLINE)
