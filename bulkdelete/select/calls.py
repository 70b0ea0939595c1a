"""Listing calls through the delete engine: a page request is a record, as a verification check is.

A ``Call`` is one request to make (a page, a count, a look-up), possibly re-sent: the engine paces it (the run's
``RateControl``), retries it with backoff (408, 429 with a pause of every worker, 5xx, no answer), aborts the run on
401/403, stops on a run-wide refusal or an unreachable API, spends ``--max-requests`` and counts it in the
``RunStats``, exactly as it does a delete. ``CallRunner.run`` hands each call the engine decided to ``decided``,
with the engine's ``Result`` (ok, or why not); the caller keeps what the call read on the call itself.

Each call becomes a ``Record`` whose ``id`` is its number in the runner and whose ``line`` is that number too: the
engine sees no difference, and nothing of a call is ever written as a result line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from typing import Protocol

from bulkdelete.net.transport import HttpTransport
from bulkdelete.output.stats import RunStats
from bulkdelete.pipeline.ending import RunEnd, StopReason
from bulkdelete.pipeline.engine import Engine
from bulkdelete.pipeline.settings import EngineSettings
from bulkdelete.rate.control import RateControl
from bulkdelete.records import Record, Result
from bulkdelete.targets.base import Transport, Verdict


class Call(Protocol):
    """One request of a listing. ``send`` makes one attempt and says how it fared (``Action.RETRY`` sends it
    again later, through the engine); it keeps whatever it read on itself."""

    async def send(self, transport: Transport) -> Verdict: ...


Decided = Callable[[Call, Result], None]


class _CallTarget:
    """The engine's target: a record stands for the call of the same number."""

    batch_size = 1
    batch_bytes: int | None = None

    def __init__(self, name: str, calls: dict[str, Call]) -> None:
        self.name = name
        self._calls = calls

    def validate(self, record_id: str) -> str | None:
        return None

    def record_bytes(self, record_id: str) -> int:
        return len(record_id)

    async def send(self, transport: Transport, records: Sequence[Record]) -> Sequence[Verdict]:
        return [await self._calls[records[0].id].send(transport)]


class CallRunner:
    """Runs a listing's calls through one ``Engine`` at a time, with the run's transport, rate, settings and stats.

    ``stop()`` at any time: nothing new is sent, the calls in flight complete; the first reason given wins, also
    for the runs that follow (they send nothing).
    """

    def __init__(
        self, name: str, transport: HttpTransport, rate: RateControl, settings: EngineSettings, stats: RunStats
    ) -> None:
        self._calls: dict[str, Call] = {}
        self._target = _CallTarget(name, self._calls)
        self._transport = transport
        self._rate = rate
        # A call decides nothing on its own for the error budget, and calls are never the same record twice.
        self._settings = dataclasses.replace(
            settings, dedupe=False, dry_run=False, max_errors=None, max_error_percent=None
        )
        self._stats = stats
        self._engine: Engine | None = None
        self._next = 0
        self.stopping: tuple[StopReason, str | None] | None = None

    def __repr__(self) -> str:
        return f"<CallRunner pending={len(self._calls)} engine={self._engine!r} stopping={self.stopping}>"

    def stop(self, reason: StopReason, message: str | None = None) -> None:
        if self.stopping is None:
            self.stopping = (reason, message)
        if self._engine is not None:
            self._engine.stop(reason, message)

    async def run(self, calls: AsyncIterable[Sequence[Call]], decided: Decided) -> RunEnd:
        """Send every call of ``calls`` (chunks, as they come) until it is decided, or the run stops."""

        def emit(result: Result) -> None:
            decided(self._calls.pop(result.record.id), result)

        engine = self._engine = Engine(self._target, self._transport, self._rate, self._settings, self._stats, emit)
        if self.stopping is not None:
            engine.stop(*self.stopping)
        try:
            end = await engine.run(self._records(calls))
        finally:
            self._engine = None
            self._calls.clear()
        if self.stopping is not None and end.reason is StopReason.COMPLETED:
            return RunEnd(self.stopping[0], self.stopping[1], end.abandoned)
        return end

    async def run_all(self, calls: Sequence[Call]) -> tuple[RunEnd, list[Result | None]]:
        """Send ``calls`` together; their results in order (None: not decided, the run stopped first)."""
        results: list[Result | None] = [None] * len(calls)
        index = {id(call): n for n, call in enumerate(calls)}

        def keep(call: Call, result: Result) -> None:
            results[index[id(call)]] = result

        end = await self.run(_once(calls), keep)
        return end, results

    async def _records(self, calls: AsyncIterable[Sequence[Call]]) -> AsyncIterator[list[Record]]:
        async for chunk in calls:
            records = []
            for call in chunk:
                self._next += 1
                key = str(self._next)
                self._calls[key] = call
                records.append(Record(key, self._next))
            yield records


async def _once(calls: Sequence[Call]) -> AsyncIterator[Sequence[Call]]:
    yield calls
