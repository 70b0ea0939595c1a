"""The library entry points: delete ids from Python, get each ``Result`` as it is decided.

::

    from bulkdelete import CoveoItemTarget, CoveoSettings, Deletion, FixedRate, RunOptions, Secret, delete_ids

    target = CoveoItemTarget(CoveoSettings(base_url, org, source, Secret(key)))
    async with Deletion(target, ids, RunOptions(rate=FixedRate(50))) as run:
        async for result in run:
            if not result.ok:
                print(result.record.id, result.error)
    print(run.report.exit_code, run.report.summary["ok"])

    async for result in delete_ids(target, ids):  # the same, without the report
        ...

Both run the very engine the CLI runs (``run_deletion``), with the same pacing, retries, aborts and summary; results
come in completion order, one per id. Ids are validated as the reader validates lines.

**Backpressure.** The ids are pulled from the caller's iterable only while fewer than ``ahead`` (default 4,096) of
them wait for their result to be taken: a slow consumer slows the run down instead of letting it read the whole input
into memory. **Early close.** Leaving the ``async with`` block before the end (``break``, an exception, or
``aclose()`` on ``delete_ids`` / on the ``Deletion``) stops the run as SIGINT does: nothing new is sent, requests in
flight complete (for up to ``options.grace_s``), the ``after`` hook resets the source status; only then does it
return. **A failing ids iterable.** When ``ids`` raises (``ValueError`` from a generator, say), nothing more is
pulled: the ids it gave before are deleted and their results yielded, the ``after`` hook runs, then iterating (and
``report``) raises that very exception, as itself (not wrapped in an ``ExceptionGroup``), its traceback intact.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Coroutine, Iterable
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from bulkdelete.input.formats import check_text
from bulkdelete.pipeline.run import RunHooks, RunOptions, RunReport, run_deletion
from bulkdelete.records import Record, Result
from bulkdelete.targets.base import Target
from bulkdelete.verify.lines import VerdictLine
from bulkdelete.verify.rounds import Check, VerifyOptions
from bulkdelete.verify.run import LogsFactory, VerifyReport, run_verification

__all__ = ["DEFAULT_AHEAD", "Deletion", "Verification", "delete_ids", "verify_ids"]

DEFAULT_AHEAD = 4096
_CHUNK = 256


class _Discard:
    """Result lines are not written anywhere: the caller gets the ``Result`` objects instead."""

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        return None


ItemT = TypeVar("ItemT")
ReportT = TypeVar("ReportT")


class _StreamedRun(Generic[ItemT, ReportT]):
    """A run of the engine over a caller's ids, as an async context manager that yields one item per id as it is
    decided and then holds the run's report (the shared half of ``Deletion`` and ``Verification``)."""

    def __init__(self, ids: Iterable[str] | AsyncIterable[str], options: RunOptions | None, ahead: int) -> None:
        if ahead < 1:
            raise ValueError(f"ahead must be >= 1 (got {ahead})")
        self._ids, self._ahead = ids, ahead
        self._options = dataclasses.replace(
            options or RunOptions(quiet=True), inputs=(), output=None, handle_signals=False
        )
        self._results: asyncio.Queue[ItemT | None] = asyncio.Queue()  # None: the run has ended
        self._pulled = 0  # ids taken from the caller's iterable
        self._taken = 0  # results handed to the caller (or, for a verification, parked on disk)
        self._room = asyncio.Event()  # set when pulled - taken falls under ahead again
        self._interrupt = asyncio.Event()
        self._task: asyncio.Task[ReportT] | None = None
        self._ended = False

    def __repr__(self) -> str:
        state = "not started" if self._task is None else ("done" if self._task.done() else "running")
        return f"<{type(self).__name__} {state} pulled={self._pulled} taken={self._taken} ahead={self._ahead}>"

    def _start(self, records: AsyncIterator[list[Record]]) -> Coroutine[Any, Any, ReportT]:
        raise NotImplementedError

    def _released(self, count: int) -> None:
        """``count`` ids left memory without a result for the caller (negative: came back)."""
        self._taken += count
        if self._pulled - self._taken < self._ahead:
            self._room.set()

    @property
    def report(self) -> ReportT:
        """The finished run's summary and exit status (SPEC §5, §8); ``RuntimeError`` before the run has ended."""
        if self._task is None or not self._task.done() or self._task.cancelled():
            raise RuntimeError("the run has not finished: read the report after the async with block")
        return self._task.result()

    async def __aenter__(self) -> Self:
        if self._task is not None:
            raise RuntimeError(f"a {type(self).__name__} runs once")
        self._task = asyncio.create_task(self._start(self._records()), name="bulkdelete-run")
        self._task.add_done_callback(lambda _: self._results.put_nowait(None))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
        if exc_type is None and self._task is not None:
            self._task.result()  # a run that raised (a bug, a failing ids iterable) does not end quietly

    def __aiter__(self) -> AsyncIterator[ItemT]:
        return self

    async def __anext__(self) -> ItemT:
        if self._task is None:
            raise RuntimeError(f"use the {type(self).__name__} inside `async with`")
        result = None if self._ended else await self._results.get()
        if result is None:
            self._ended = True
            self._task.result()  # the run's own exception, if it raised one
            raise StopAsyncIteration
        self._taken += 1
        if self._pulled - self._taken < self._ahead:
            self._room.set()
        return result

    async def aclose(self) -> None:
        """Stop the run if it is still going (as SIGINT does) and return once it has ended, ``after`` hook included.

        The run's own exception, if any, is not raised here: ``report`` (or iterating) raises it.
        """
        task = self._task
        if task is None:
            return
        if not task.done():
            self._interrupt.set()
        try:
            await asyncio.wait([task])  # every request has ended and the after hook has run
        except asyncio.CancelledError:  # our caller is cancelled: so is the run (its after hook still runs)
            task.cancel()
            raise

    async def _records(self) -> AsyncIterator[list[Record]]:
        """The caller's ids as chunks of records, pulled no further than ``ahead`` beyond the results taken."""
        line = 0
        if isinstance(self._ids, AsyncIterable):
            async for raw in self._ids:  # one at a time: the source may trickle, and each id is sent as it comes
                line += 1
                self._pulled += 1
                yield [_record(raw, line)]
                await self._wait_for_room()
            return
        chunk: list[Record] = []
        try:
            for raw in self._ids:
                line += 1
                self._pulled += 1
                chunk.append(_record(raw, line))
                if len(chunk) == _CHUNK or self._pulled - self._taken >= self._ahead:
                    yield chunk
                    chunk = []
                    await self._wait_for_room()
                    await asyncio.sleep(0)  # a long in-memory list must not starve the workers
        except Exception:  # the caller's iterable raised: the ids it gave before are deleted first, then it is raised
            if chunk:
                yield chunk
            raise
        if chunk:
            yield chunk

    async def _wait_for_room(self) -> None:
        while self._pulled - self._taken >= self._ahead:
            self._room.clear()
            await self._room.wait()


class Deletion(_StreamedRun[Result, RunReport]):
    """One deletion run as an async context manager that yields its results and then holds its report.

    :param target: the API to delete from.
    :param ids: the ids, a plain or an async iterable of strings (pulled lazily, see ``ahead``).
    :param options: run options (default: ``RunOptions(quiet=True)``); their ``inputs`` and ``output`` are ignored.
    :param hooks: work bracketing the run (e.g. Coveo's source status: ``after`` runs whatever happens).
    :param ahead: at most this many ids are pulled beyond the results the caller has taken.
    """

    def __init__(
        self,
        target: Target,
        ids: Iterable[str] | AsyncIterable[str],
        options: RunOptions | None = None,
        *,
        hooks: RunHooks | None = None,
        ahead: int = DEFAULT_AHEAD,
    ) -> None:
        super().__init__(ids, options, ahead)
        self._target, self._hooks = target, hooks

    def _start(self, records: AsyncIterator[list[Record]]) -> Coroutine[Any, Any, RunReport]:
        return run_deletion(
            self._target,
            self._options,
            hooks=self._hooks,
            records=records,
            stdout=_Discard(),  # type: ignore[arg-type]
            on_result=self._results.put_nowait,
            interrupt=self._interrupt,
        )


class Verification(_StreamedRun[VerdictLine, VerifyReport]):
    """One verification (SPEC §11) as an async context manager that yields a ``VerdictLine`` per id as its verdict
    is final (gone ids first, the others as later rounds or ``--wait`` decide), then holds its report.

    :param check: how to look (``bulkdelete.targets``: ``CoveoSearchCheck``, ``VeltGetCheck``, ``HttpCheck``).
    :param ids: the ids, plain or async (pulled lazily: ids waiting for their next check are parked on disk and do
        not count against ``ahead``).
    :param options: run options (``rate`` paces the queries); ``verify``: how long and how often to look.
    :param logs: builds Coveo's Logs API reader (given a warning callback), or None.
    """

    def __init__(
        self,
        check: Check,
        ids: Iterable[str] | AsyncIterable[str],
        options: RunOptions | None = None,
        verify: VerifyOptions | None = None,
        *,
        logs: LogsFactory | None = None,
        ahead: int = DEFAULT_AHEAD,
    ) -> None:
        super().__init__(ids, options, ahead)
        self._check, self._verify, self._logs = check, verify or VerifyOptions(), logs

    def _start(self, records: AsyncIterator[list[Record]]) -> Coroutine[Any, Any, VerifyReport]:
        return run_verification(
            self._check,
            self._options,
            self._verify,
            logs=self._logs,
            records=records,
            stdout=_Discard(),  # type: ignore[arg-type]
            on_line=self._results.put_nowait,
            interrupt=self._interrupt,
            parked=self._released,
        )


async def verify_ids(
    check: Check,
    ids: Iterable[str] | AsyncIterable[str],
    options: RunOptions | None = None,
    verify: VerifyOptions | None = None,
    *,
    logs: LogsFactory | None = None,
    ahead: int = DEFAULT_AHEAD,
) -> AsyncGenerator[VerdictLine, None]:
    """Verify ``ids`` with ``check``; yield one ``VerdictLine`` per id as its verdict is final (see
    ``Verification``). ``aclose()`` returns once every request has ended."""
    async with Verification(check, ids, options, verify, logs=logs, ahead=ahead) as run:
        async for line in run:
            yield line


def _record(raw: str, line: int) -> Record:
    text, problem = check_text(raw.strip())
    return Record(text, line, None, problem)


async def delete_ids(
    target: Target,
    ids: Iterable[str] | AsyncIterable[str],
    options: RunOptions | None = None,
    *,
    hooks: RunHooks | None = None,
    ahead: int = DEFAULT_AHEAD,
) -> AsyncGenerator[Result, None]:
    """Delete ``ids`` through ``target``; yield one ``Result`` per id as it is decided (see ``Deletion``).

    Close it early with ``aclose()`` (or ``break`` inside ``contextlib.aclosing``): it returns once the run has
    stopped. For the run's report (summary, exit status), use ``Deletion``.
    """
    async with Deletion(target, ids, options, hooks=hooks, ahead=ahead) as run:
        async for result in run:
            yield result
