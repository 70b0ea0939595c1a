"""Live state of one emulator: documents, counters, source statuses, file containers, quota windows."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bulkdelete.emulator.config import EmulatorConfig
from bulkdelete.emulator.store import DocumentStore


class Stats:
    """Request counters. ``max_per_second`` is exact: the most requests started in any 1 s sliding window.

    Times are the event loop's monotonic clock, in seconds.
    """

    __slots__ = (
        "_starts",
        "by_status",
        "deleted",
        "faults",
        "inflight",
        "max_per_second",
        "peak_inflight",
        "requests",
        "resets",
        "throttled",
        "upload_faults",
        "uploads",
    )

    def __init__(self) -> None:
        self.inflight = 0
        self.reset()

    def reset(self) -> None:
        """Zero every counter (requests in flight stay in flight)."""
        self.requests = 0
        self.by_status: dict[int, int] = {}
        self.throttled = 0
        self.peak_inflight = self.inflight
        self.max_per_second = 0
        self._starts: deque[float] = deque()
        self.resets = 0
        self.faults = 0
        self.uploads = 0
        self.upload_faults = 0
        self.deleted = 0

    def __repr__(self) -> str:
        return f"<Stats requests={self.requests} inflight={self.inflight} throttled={self.throttled}>"

    def started(self, now: float) -> None:
        """Count one API request starting at ``now``."""
        self.requests += 1
        self.inflight += 1
        if self.inflight > self.peak_inflight:
            self.peak_inflight = self.inflight
        starts = self._starts
        starts.append(now)
        cutoff = now - 1.0
        while starts[0] <= cutoff:
            starts.popleft()
        if len(starts) > self.max_per_second:
            self.max_per_second = len(starts)

    def finished(self, status: int | None) -> None:
        """Count one API request ending with ``status`` (``None``: the connection was dropped)."""
        self.inflight -= 1
        if status is None:
            self.resets += 1
            return
        self.by_status[status] = self.by_status.get(status, 0) + 1
        if status == 429:
            self.throttled += 1


@dataclass(slots=True)
class FileContainer:
    """A Coveo file container: made by ``POST /files``, filled by ``PUT uploadUri``, pushed by ``batch``."""

    file_id: str
    signature: str
    required_headers: dict[str, str]
    expires_at: float
    body: bytes | None = None
    pushes: int = 0


@dataclass(slots=True, repr=False)
class EmulatorState:
    """Everything the handlers read and write. One per running emulator; tests read it directly."""

    config: EmulatorConfig
    documents: DocumentStore
    stats: Stats = field(default_factory=Stats)
    status_history: dict[str, list[str]] = field(default_factory=dict)
    olderthan: list[dict[str, Any]] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, FileContainer] = field(default_factory=dict)
    daily_items: dict[str, int] = field(default_factory=dict)
    quota_windows: dict[str, deque[float]] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)
    request_seq: int = 0

    @classmethod
    def create(cls, config: EmulatorConfig, docs: Iterable[str] = ()) -> EmulatorState:
        return cls(config=config, documents=DocumentStore(docs), rng=random.Random(config.seed))

    def __repr__(self) -> str:
        return f"<EmulatorState documents={len(self.documents)} {self.stats!r} files={len(self.files)}>"

    def next_request_id(self) -> str:
        self.request_seq += 1
        return f"emu-{self.request_seq:010d}"

    def take_quota(self, org: str, now: float) -> bool:
        """Admit one request for ``org`` at ``now`` in the sliding window; refused ones don't count."""
        quota = self.config.quota
        if quota is None:
            return True
        window = self.quota_windows.get(org)
        if window is None:
            window = self.quota_windows[org] = deque()
        cutoff = now - quota.window_s
        while window and window[0] <= cutoff:
            window.popleft()
        if len(window) >= quota.limit:
            return False
        window.append(now)
        return True

    def daily_exhausted(self, org: str) -> bool:
        limit = self.config.daily_items
        return limit is not None and self.daily_items.get(org, 0) >= limit

    def count_items(self, org: str, count: int) -> None:
        self.daily_items[org] = self.daily_items.get(org, 0) + count

    def chance(self, rate: float) -> bool:
        """One seeded draw: True with probability ``rate`` (no draw at all when the rate is 0)."""
        return rate > 0.0 and self.rng.random() < rate

    def delete(self, doc_id: str, children: bool = False) -> int:
        removed = self.documents.delete(doc_id, children)
        self.stats.deleted += removed
        return removed

    def snapshot(self) -> dict[str, Any]:
        """The ``/_emulator/stats`` document."""
        stats = self.stats
        return {
            "requests": stats.requests,
            "by_status": {str(code): count for code, count in sorted(stats.by_status.items())},
            "throttled": stats.throttled,
            "inflight": stats.inflight,
            "peak_inflight": stats.peak_inflight,
            "max_per_second": stats.max_per_second,
            "documents_left": len(self.documents),
            "deleted": stats.deleted,
            "resets": stats.resets,
            "faults": stats.faults,
            "uploads": stats.uploads,
            "upload_faults": stats.upload_faults,
            "files": len(self.files),
            "status_history": {src: list(seq) for src, seq in self.status_history.items()},
            "olderthan": list(self.olderthan),
            "batches": list(self.batches),
            "daily_items": dict(self.daily_items),
        }
