"""Listing a Coveo selection (SPEC §13): keyset paging on ``@rowid``, ranges paged at once, every query paced.

Order: the bounds (one ascending and one descending 1-result query; the ascending one's ``totalCount`` is the
count, unless ``count()`` asked first), then the ranges of ``ranges.RangePlan``, each paged ``@rowid>LAST
@rowid<=B`` (``coveo_query``). Every query is a call through the engine (``calls.CallRunner``); a range's next page
is asked once its items were taken (``paging.Paging``). A page whose answer is final and not ok ends the listing:
a 400 (the API refused the expression: ``input-error``, exit 2, with the API's message), anything else
``aborted``; a page no answer settled after every attempt too. An incomplete listing is never ``complete``.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence

from bulkdelete.net.transport import HttpTransport
from bulkdelete.output.stats import RunStats
from bulkdelete.pipeline.ending import RunEnd, StopLatch, StopReason
from bulkdelete.pipeline.settings import EngineSettings
from bulkdelete.rate.control import RateControl
from bulkdelete.records import Outcome, Result
from bulkdelete.secrets import Secret
from bulkdelete.select.calls import Call, CallRunner
from bulkdelete.select.coveo_query import ASCENDING, DESCENDING, PAGE_SIZE, CoveoQuery, Page, selection
from bulkdelete.select.excepted import ExceptIds
from bulkdelete.select.items import Listed
from bulkdelete.select.paging import Paging, Turn
from bulkdelete.select.ranges import Range, RangePlan
from bulkdelete.targets.base import Action, Transport, Verdict

DEFAULT_RANGES = 16
_NOT_STARTED = RunEnd(StopReason.COMPLETED, "not started", 0)


class _Query:
    """A bounds or count query: ``page`` once read."""

    def __init__(self, query: CoveoQuery, count: int, sort: str) -> None:
        self._query, self._count, self._sort = query, count, sort
        self.page: Page | None = None

    async def send(self, transport: Transport) -> Verdict:
        answer, _ = await self._query.page(transport, self._query.aq(), self._count, self._sort)
        if isinstance(answer, Verdict):
            return answer
        self.page = answer
        return Verdict(Action.DONE, Outcome.ACCEPTED, 200)


class _PageCall:
    """One page of one range: from ``after`` (the range's keyset when asked), ``size`` items."""

    def __init__(self, query: CoveoQuery, part: Range, size: int) -> None:
        self.part = part
        self.after = part.after
        self.size = size
        self.query = query
        self.items: list[Listed] = []

    async def send(self, transport: Transport) -> Verdict:
        aq = self.query.aq(self.after, self.part.upper)
        answer, self.size = await self.query.page(transport, aq, self.size)
        if isinstance(answer, Verdict):
            return answer
        self.items = answer.items
        return Verdict(Action.DONE, Outcome.ACCEPTED, 200)


class CoveoListing:
    """Lists ``(aq) @source=="source"`` (either may be None; not both in practice) of organization ``org``.

    ``ranges``: at least this many rowid ranges paged at once (more with a higher concurrency), fewer for a
    small selection. ``excepted``: ids to leave out (``--except``). ``key_name`` names the key in the message of a
    refused one.
    """

    def __init__(
        self,
        search_url: str,
        org: str,
        key: Secret,
        *,
        source: str | None,
        aq: str | None,
        ranges: int = DEFAULT_RANGES,
        key_name: str = "COVEO_SEARCH_API_KEY",
        excepted: ExceptIds | None = None,
    ) -> None:
        if ranges < 1:
            raise ValueError(f"ranges must be >= 1 (got {ranges})")
        self.org, self.source, self.aq = org, source, aq
        self.search_url = search_url.rstrip("/")
        self._query = CoveoQuery(search_url, org, key, selection(aq, source), key_name=key_name)
        self._ranges = ranges
        self._excepted = excepted
        self._latch: StopLatch[CallRunner] = StopLatch()
        self._plan: RangePlan | None = None
        self.total_count: int | None = None
        self.listed = 0
        self.excepted = 0
        self.complete = False
        self.end = _NOT_STARTED

    def __repr__(self) -> str:
        return (
            f"<CoveoListing where={self._query.where!r} total={self.total_count} listed={self.listed} "
            f"queries={self.queries} plan={self._plan!r} complete={self.complete}>"
        )

    @property
    def queries(self) -> int:
        return self._query.queries

    def describe(self) -> dict[str, object]:
        return {
            "api": "coveo",
            "org": self.org,
            "source": self.source,
            "aq": self.aq,
            "search_url": self.search_url,
            "mode": "list",
        }

    def stop(self, reason: StopReason, message: str | None = None) -> None:
        self._latch.stop(reason, message)

    async def count(
        self, transport: HttpTransport, rate: RateControl, settings: EngineSettings, stats: RunStats
    ) -> int | None:
        query = _Query(self._query, 0, ASCENDING)
        end, results = await self._start(transport, rate, settings, stats).run_all([query])
        self._judge(end, results)
        if query.page is not None:
            self.total_count = query.page.total
        return None if query.page is None else query.page.total

    async def pages(
        self, transport: HttpTransport, rate: RateControl, settings: EngineSettings, stats: RunStats
    ) -> AsyncIterator[list[Listed]]:
        runner = self._start(transport, rate, settings, stats)
        first, last = _Query(self._query, 1, ASCENDING), _Query(self._query, 1, DESCENDING)
        end, results = await runner.run_all([first, last])
        self._judge(end, results)
        if first.page is None or last.page is None or self._latch.reason is not None:
            return
        if self.total_count is None:
            self.total_count = first.page.total
        if not first.page.items or not last.page.items:
            self.complete = self.end.reason is StopReason.COMPLETED
            return
        low, high = first.page.items[0].rowid, last.page.items[0].rowid
        assert low is not None and high is not None  # read_page keeps only items with a rowid
        self._plan = plan = self._plan_for(low, high, settings.concurrency)
        paging = Paging(runner, _Pager(self, plan), [_PageCall(self._query, r, PAGE_SIZE) for r in plan.ranges])
        async for items in paging:
            yield items
        assert paging.end is not None
        self.end = paging.end
        self.complete = self.end.reason is StopReason.COMPLETED and plan.finished

    def _plan_for(self, low: int, high: int, concurrency: int) -> RangePlan:
        total = self.total_count or 0
        pages = max(1, math.ceil(total / PAGE_SIZE))
        n = min(max(self._ranges, concurrency), pages)
        return RangePlan(min(low, high), max(low, high), total, n, min_items=2 * PAGE_SIZE)

    def _start(
        self, transport: HttpTransport, rate: RateControl, settings: EngineSettings, stats: RunStats
    ) -> CallRunner:
        return self._latch.hold(CallRunner("coveo", transport, rate, settings, stats))

    def _judge(self, end: RunEnd, results: Sequence[Result | None]) -> None:
        """How a run of queries ended: a query that failed for good stops the listing with its reason."""
        for result in results:
            if result is not None and not result.ok:
                self.failed(result)
        stopping = self._latch.reason
        if end.reason is StopReason.COMPLETED and stopping is not None:
            end = RunEnd(stopping[0], stopping[1], end.abandoned)
        self.end = end

    def failed(self, result: Result) -> None:
        """A query no answer settled: the listing cannot be whole, it stops (a 400: the expression, exit 2)."""
        error = result.error or "failed"
        if result.status == 400:
            self.stop(StopReason.INPUT_ERROR, f"the Search API refused the query: {error}")
        else:
            self.stop(StopReason.ABORTED, f"a listing query failed, the listing cannot be complete: {error}")

    def keep(self, items: list[Listed]) -> list[Listed]:
        """``items`` without the ``--except`` ids; counts both."""
        excepted = self._excepted
        if excepted is not None:
            kept = [item for item in items if item.id not in excepted]
            self.excepted += len(items) - len(kept)
            items = kept
        self.listed += len(items)
        return items


class _Pager:
    """After each page: the items its range keeps, that range's next page, a new range cut from the biggest."""

    def __init__(self, listing: CoveoListing, plan: RangePlan) -> None:
        self._listing = listing
        self._plan = plan

    @property
    def finished(self) -> bool:
        return self._plan.finished

    def turn(self, call: Call, result: Result) -> Turn:
        assert isinstance(call, _PageCall)
        part = call.part
        if not result.ok:
            self._listing.failed(result)
            return [], []
        rowids = [item.rowid or 0 for item in call.items]
        start, stop = part.take(call.after, rowids, call.size)
        items = self._listing.keep(call.items[start:stop])
        follow: list[Call] = [] if part.done else [_PageCall(call.query, part, call.size)]
        if part.done and (new := self._plan.cut()) is not None:
            follow.append(_PageCall(call.query, new, call.size))  # the page size that held
        return items, follow
