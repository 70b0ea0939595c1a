"""The library entry point: delete ids from Python, get each ``Result`` as it is decided.

::

    from bulkdelete import CoveoItemTarget, CoveoSettings, FixedRate, RunOptions, Secret, delete_ids

    target = CoveoItemTarget(CoveoSettings(base_url, org, source, Secret(key)))
    async for result in delete_ids(target, ids, RunOptions(rate=FixedRate(50))):
        if not result.ok:
            print(result.record.id, result.error)

``delete_ids`` runs the very engine the CLI runs (``run_deletion``), with the same pacing, retries, aborts and
summary; results are yielded in completion order, one per id. Ids are validated as the reader validates lines.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterable, AsyncIterator, Iterable

from bulkdelete.input.formats import check_text
from bulkdelete.pipeline.run import RunHooks, RunOptions, RunReport, run_deletion
from bulkdelete.records import Record, Result
from bulkdelete.targets.base import Target


class _Discard:
    """Result lines are not written anywhere: the caller gets the ``Result`` objects instead."""

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        return None


_CHUNK = 256


async def _chunks(ids: Iterable[str] | AsyncIterable[str]) -> AsyncIterator[list[Record]]:
    line = 0
    if isinstance(ids, AsyncIterable):
        async for raw in ids:  # one at a time: the caller's source may trickle, and each id is sent as it comes
            line += 1
            yield [_record(raw, line)]
        return
    chunk: list[Record] = []
    for raw in ids:
        line += 1
        chunk.append(_record(raw, line))
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
            await asyncio.sleep(0)  # a long in-memory list must not starve the workers
    if chunk:
        yield chunk


def _record(raw: str, line: int) -> Record:
    text, problem = check_text(raw.strip())
    return Record(text, line, None, problem)


async def delete_ids(
    target: Target,
    ids: Iterable[str] | AsyncIterable[str],
    options: RunOptions | None = None,
    *,
    hooks: RunHooks | None = None,
    report: list[RunReport] | None = None,
) -> AsyncIterator[Result]:
    """Delete ``ids`` through ``target``; yield one ``Result`` per id as it is decided.

    ``options`` defaults to ``RunOptions(quiet=True)`` (no summary on stderr); its ``inputs`` are ignored. When
    ``report`` is given, the run's ``RunReport`` (summary and exit code) is appended to it at the end.
    """
    opts = dataclasses.replace(options or RunOptions(quiet=True), inputs=(), output=None, handle_signals=False)
    results: asyncio.Queue[Result | None] = asyncio.Queue()
    run = asyncio.ensure_future(
        run_deletion(target, opts, hooks=hooks, records=_chunks(ids), stdout=_Discard(), on_result=results.put_nowait)  # type: ignore[arg-type]
    )
    run.add_done_callback(lambda _: results.put_nowait(None))
    try:
        while (result := await results.get()) is not None:
            yield result
        finished = await run
        if report is not None:
            report.append(finished)
    finally:
        if not run.done():
            run.cancel()
