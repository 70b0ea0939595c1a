"""Pages read as they come, each range's next page asked once its previous page's items were taken.

::

    first calls ─► todo ─► engine (CallRunner) ─► decided ─► pager.turn ─► outbox ─► consumer (``async for``)
                    ▲                                                                   │
                    └──────────── the next calls, once the consumer has taken the items ◄┘

The engine's feed is ``todo``; it ends once the pager is finished (every range read to its end), so the engine
closes as a deletion does when its input ends. A range's next page is queued only after the consumer has taken the
items of its previous one: memory stays within a page per range, however slow the consumer (``delete --where``
deleting what it lists). An engine that stops (abort, interrupt, budget) ends the iteration; so does the consumer
leaving it early (``aclose``), which stops the engine as an interrupt does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from bulkdelete.pipeline.ending import RunEnd, StopReason
from bulkdelete.records import Result
from bulkdelete.select.calls import Call, CallRunner
from bulkdelete.select.items import Listed

Turn = tuple[list["Listed"], Sequence[Call]]


class Pager(Protocol):
    """What a listing decides after each page: its items to hand out, the calls to make next."""

    @property
    def finished(self) -> bool:
        """Every range has been read to its end: nothing more to ask."""
        ...

    def turn(self, call: Call, result: Result) -> Turn:
        """``call`` was decided (``result.ok``: it read its page): the items to hand out, the calls to make next."""
        ...


class Paging:
    """``async for items in Paging(runner, pager, first)``; ``end`` once the iteration is over."""

    def __init__(self, runner: CallRunner, pager: Pager, first: Sequence[Call]) -> None:
        self._runner = runner
        self._pager = pager
        self._todo: asyncio.Queue[Call | None] = asyncio.Queue()
        self._outbox: asyncio.Queue[Turn | None] = asyncio.Queue()
        for call in first:
            self._todo.put_nowait(call)
        if pager.finished or not first:
            self._todo.put_nowait(None)
        self.end: RunEnd | None = None

    def __repr__(self) -> str:
        return f"<Paging todo={self._todo.qsize()} outbox={self._outbox.qsize()} end={self.end}>"

    async def __aiter__(self) -> AsyncIterator[list[Listed]]:
        task = asyncio.ensure_future(self._runner.run(self._feed(), self._decided))
        task.add_done_callback(lambda _: self._outbox.put_nowait(None))
        try:
            while (turn := await self._outbox.get()) is not None:
                items, follow = turn
                if items:
                    yield items
                for call in follow:
                    self._todo.put_nowait(call)
        finally:
            if not task.done():
                self._runner.stop(StopReason.INTERRUPTED, "the listing was closed by its caller")
                await asyncio.wait([task])  # the calls in flight complete: nothing is left sending
            self.end = task.result() if task.done() and not task.cancelled() else None

    async def _feed(self) -> AsyncIterator[list[Call]]:
        while (call := await self._todo.get()) is not None:
            yield [call]

    def _decided(self, call: Call, result: Result) -> None:
        self._outbox.put_nowait(self._pager.turn(call, result))
        if self._pager.finished:
            self._todo.put_nowait(None)
