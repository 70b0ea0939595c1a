"""Live state of one emulator: documents, counters, source statuses, file containers, quota windows."""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bulkdelete.emulator.config import EmulatorConfig
from bulkdelete.emulator.pipeline import IndexingPipeline, PendingDelete
from bulkdelete.emulator.selection import SelectionCache
from bulkdelete.emulator.store import Doc, DocumentStore

SearchCache = dict[tuple[Any, ...], tuple[float, tuple[int, tuple[int, ...]]]]
"""Search answers by request: ``(monotonic time stored, (totalCount, the page's rows))``."""


def max_in_window(times: list[float], window_s: float = 1.0) -> int:
    """The most of the sorted ``times`` in any window ``(t - window_s, t]``: ``Stats.max_per_second``'s count, for
    times recorded elsewhere (a benchmark's packet capture, a test's own start times)."""
    best = first = 0
    for last, at in enumerate(times):
        while times[first] <= at - window_s:
            first += 1
        best = max(best, last - first + 1)
    return best


class Stats:
    """Request counters. ``max_per_second`` is exact: the most requests started in any 1 s sliding window.

    Times are the event loop's monotonic clock, in seconds.
    """

    __slots__ = (
        "_starts",
        "by_status",
        "deleted",
        "faults",
        "gets",
        "inflight",
        "log_queries",
        "max_per_second",
        "peak_inflight",
        "requests",
        "resets",
        "search_cache_hits",
        "search_inflight",
        "search_max_page",
        "search_peak_inflight",
        "search_results",
        "searches",
        "searches_cached",
        "searches_without_view_all",
        "source_lookups",
        "throttled",
        "upload_faults",
        "uploads",
        "velt_list_pages",
        "velt_listed",
    )

    def __init__(self) -> None:
        self.inflight = 0
        self.search_inflight = 0
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
        self.searches = 0
        self.log_queries = 0
        self.gets = 0
        # What a client's correctness can be asserted on (SPEC §11, §13): searches that could be answered from the
        # cache (no "maximumAge": 0), searches without viewAllContent, the largest page asked, results returned.
        self.searches_cached = 0
        self.search_cache_hits = 0
        self.searches_without_view_all = 0
        self.search_max_page = 0
        self.search_results = 0
        self.search_peak_inflight = self.search_inflight
        self.source_lookups = 0
        self.velt_list_pages = 0
        self.velt_listed = 0

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

    def search_started(self) -> None:
        self.search_inflight += 1
        self.search_peak_inflight = max(self.search_peak_inflight, self.search_inflight)

    def search_finished(self) -> None:
        self.search_inflight -= 1

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
    """Everything the handlers read and write. One per running emulator; tests read it directly.

    Time: ``now()`` (the loop's monotonic clock) and ``wall()`` (epoch seconds), both shifted by ``clock_offset``,
    which ``advance()`` moves forward: tests age pending deletes and cached searches without sleeping.
    ``secured``: the documents only a ``viewAllContent`` search sees. ``pushed_sources``: the source names a Push
    API request addressed (the Sources API knows them, with or without documents). ``pipeline``: Coveo deletes not
    yet applied, and the Logs API's entries.
    """

    config: EmulatorConfig
    documents: DocumentStore
    pipeline: IndexingPipeline
    secured: set[str] = field(default_factory=set)
    pushed_sources: set[str] = field(default_factory=set)
    search_cache: SearchCache = field(default_factory=dict)
    selections: SelectionCache = field(default_factory=SelectionCache)
    clock_offset: float = 0.0
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
    def create(cls, config: EmulatorConfig, docs: Iterable[Doc] = ()) -> EmulatorState:
        documents = DocumentStore(docs)
        state = cls(
            config=config,
            documents=documents,
            pipeline=IndexingPipeline(config.processing_delay_s),
            rng=random.Random(config.seed),
        )
        documents.clock_ms = lambda: int(state.wall() * 1000)  # documents added later are dated by advance() too
        if config.secured_rate:
            # Its own generator, so securing documents leaves the fault draws of a seeded run as they were.
            draw = random.Random(f"secured:{config.seed}" if config.seed is not None else None).random
            state.secured = {doc_id for doc_id in documents.ids() if draw() < config.secured_rate}
        return state

    def __repr__(self) -> str:
        return (
            f"<EmulatorState documents={len(self.documents)} {self.stats!r} files={len(self.files)} {self.pipeline!r}>"
        )

    def now(self) -> float:
        """The emulator's monotonic clock, in seconds: the loop's, plus ``clock_offset``."""
        return asyncio.get_running_loop().time() + self.clock_offset

    def wall(self) -> float:
        """The emulator's wall clock, in epoch seconds (Logs API ``datetime``), plus ``clock_offset``."""
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds`` and settle what came due (tests: no sleeping)."""
        if seconds < 0:
            raise ValueError(f"the clock only moves forward (got {seconds})")
        self.clock_offset += seconds
        self.settle()

    def settle(self) -> None:
        """Apply (or fail) every Coveo delete that is due."""
        if self.pipeline.pending:  # the common case is cheap: every API request settles
            self.pipeline.settle(self.now(), self.wall(), self.delete)

    def submit_delete(self, doc_id: str, children: bool, org: str, source: str, request_id: str) -> int:
        """A Coveo delete accepted with a 202: it takes effect after ``processing_delay_s``, or never when it
        draws a failure. Returns the documents removed at once (0 while it is pending)."""
        now = self.now()
        fails = self.chance(self.config.delete_fail_rate)
        item = PendingDelete(now + self.config.processing_delay_s, doc_id, children, fails, request_id, org, source)
        return self.pipeline.submit(item, now, self.wall(), self.delete)

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
        """Remove at once (Velt, the plain REST API, ``olderthan``); Coveo deletes go through ``submit_delete``."""
        removed = self.documents.delete(doc_id, children)
        self.stats.deleted += removed
        return removed

    def snapshot(self) -> dict[str, Any]:
        """The ``/_emulator/stats`` document (deletes due by now are settled first)."""
        self.settle()
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
            "searches": stats.searches,
            "log_queries": stats.log_queries,
            "gets": stats.gets,
            "searches_cached": stats.searches_cached,
            "search_cache_hits": stats.search_cache_hits,
            "searches_without_view_all": stats.searches_without_view_all,
            "search_max_page": stats.search_max_page,
            "search_results": stats.search_results,
            "search_peak_inflight": stats.search_peak_inflight,
            "source_lookups": stats.source_lookups,
            "velt_list_pages": stats.velt_list_pages,
            "velt_listed": stats.velt_listed,
            "documents_by_source": self.documents.sources(),
            "pending_deletes": self.pipeline.pending,
            "failed_deletes": self.pipeline.failed,
            "files": len(self.files),
            "status_history": {src: list(seq) for src, seq in self.status_history.items()},
            "olderthan": list(self.olderthan),
            "batches": list(self.batches),
            "daily_items": dict(self.daily_items),
        }
