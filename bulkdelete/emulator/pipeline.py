"""Coveo's indexing pipeline, as the emulator models it: a 202 means *enqueued*, the delete lands later or fails.

Every Coveo delete (a per-item ``DELETE``, or a ``delete`` entry of a pushed batch) becomes one ``PendingDelete``,
due ``processing_delay_s`` after its 202. The delay is the same for all, so the queue is in due order: settling is
popping the left end while it is due, with no timer per document. The state settles lazily (before every API
request and every stats read) and, with a delay, from a periodic task (``app.settler``).

At its due time a delete either takes effect (log ``COMPLETED``) or, drawn at submit time with
``delete_fail_rate``, never does (log ``ERROR`` with a reason in ``meta``). Both are ``LogEntry``s of task
``INDEXING`` that the Logs API serves; the log keeps the newest ``LOG_MAX_ENTRIES``.

The log holds its entries as plain tuples of strings and floats, which CPython's cycle collector stops tracking
after a pass or two (a tuple once the tuples it holds are): a log of 200,000 ``LogEntry`` objects (tracked like any
instance) added 37 ms to every full collection, a pause during which the emulator stamps no request and then stamps
the backlog at once, so its 1 s quota window counts more starts than the client sent (benchmarks/RESULTS.md §15).
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, NamedTuple

LOG_MAX_ENTRIES = 200_000
"""Log entries kept (the oldest go first): about 40 MB at most."""

INDEXING_ERRORS = (
    "The item could not be deleted: the indexer timed out while committing the transaction.",
    "The delete operation was rejected by the index: the document is locked by a pending update.",
    "Internal indexing error: the security provider could not be reached to update the item permissions.",
    "The index shard holding the item was unavailable; the operation was dropped after 3 attempts.",
)


Apply = Callable[[str, bool], int]
"""``apply(doc_id, children)``: remove the documents, return how many."""

Meta = tuple[tuple[str, str], ...]
"""A log entry's ``meta`` as (key, value) pairs: strings only, so the cycle collector stops tracking it."""

RawEntry = tuple[float, str, str, str, str, Meta, str, str, str]
"""A ``LogEntry`` as the log stores it: a plain tuple, in ``LogEntry``'s field order."""


@dataclass(frozen=True, slots=True)
class PendingDelete:
    """One accepted Coveo delete. ``due`` is on the emulator's monotonic clock (seconds)."""

    due: float
    doc_id: str
    children: bool
    fails: bool
    request_id: str
    org: str
    source: str


class LogEntry(NamedTuple):
    """One Logs API entry. ``at`` is wall-clock seconds since the epoch."""

    at: float
    doc_id: str
    operation: str
    result: str
    task: str
    meta: Meta
    request_id: str
    org: str
    source: str


_ERROR_META: tuple[Meta, ...] = tuple((("error", reason),) for reason in INDEXING_ERRORS)

FIELD = {name: index for index, name in enumerate(LogEntry._fields)}
"""A ``LogEntry`` field's index in a ``RawEntry``."""
AT: Final = 0  # typed indices (Literal) of the fields the Logs API compares
ORG: Final = 7
assert (LogEntry._fields[AT], LogEntry._fields[ORG]) == ("at", "org")


class IndexingPipeline:
    """Accepted deletes waiting for their due time, and the log of those that came due.

    Not thread-safe: one event loop.
    """

    __slots__ = ("_queue", "delay_s", "failed", "log")

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self._queue: deque[PendingDelete] = deque()
        self.log: deque[RawEntry] = deque(maxlen=LOG_MAX_ENTRIES)
        self.failed = 0

    def __repr__(self) -> str:
        pending, failed, log = self.pending, self.failed, len(self.log)
        return f"<IndexingPipeline delay={self.delay_s:g}s pending={pending} failed={failed} log={log}>"

    def entries(self) -> list[LogEntry]:
        """The log, oldest first, as ``LogEntry``s (tests read it)."""
        return [LogEntry._make(raw) for raw in self.log]

    @property
    def pending(self) -> int:
        """Deletes accepted and not yet due."""
        return len(self._queue)

    def submit(self, item: PendingDelete, now: float, wall: float, apply: Apply) -> int:
        """Enqueue ``item``, or settle it at once when it is already due; return the documents removed now."""
        if self._queue or item.due > now:
            self._queue.append(item)
            return 0
        return self._settle_one(item, wall, apply)

    def settle(self, now: float, wall: float, apply: Apply) -> None:
        """Settle every delete due at ``now`` (monotonic); ``wall`` is the same instant on the wall clock."""
        queue = self._queue
        while queue and queue[0].due <= now:
            item = queue.popleft()
            # Logged at the instant it came due, not when somebody happened to look.
            self._settle_one(item, wall - (now - item.due), apply)

    def _settle_one(self, item: PendingDelete, at: float, apply: Apply) -> int:
        operation = "DELETE_AND_CHILDREN" if item.children else "DELETE"
        if item.fails:
            self.failed += 1
            meta = _ERROR_META[zlib.crc32(item.doc_id.encode("utf-8", "surrogatepass")) % len(_ERROR_META)]
            self._log(item, at, operation, "ERROR", meta)
            return 0
        removed = apply(item.doc_id, item.children)
        self._log(item, at, operation, "COMPLETED", ())
        return removed

    def _log(self, item: PendingDelete, at: float, operation: str, result: str, meta: Meta) -> None:
        self.log.append((at, item.doc_id, operation, result, "INDEXING", meta, item.request_id, item.org, item.source))
