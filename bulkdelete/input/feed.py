"""Bridges the synchronous reader into the event loop without blocking it, a chunk of records at a time.

A daemon thread runs the reader and hands *lists* of records to the loop, at most ``depth`` lists in transit, so
reading never runs more than a few chunks ahead of the engine.

The thread can always be abandoned: a run that stops early (abort, budget, interrupt) must end the process even
while a slow producer keeps stdin open. So nothing the thread waits on is something the interpreter's shutdown
needs: it reads with raw ``read(2)`` calls (no ``BufferedReader`` lock held while blocked: see ``chunks.stdin_stream``),
it waits for room on a ``threading.Semaphore``, and it hands over with ``loop.call_soon_threadsafe`` (no coroutine
is created in the thread, so none is left un-awaited when the loop goes away). Not ``asyncio.to_thread``: the
default executor is joined at shutdown, which a blocked read would never let finish.

A chunk is handed over when it holds ``chunk`` records, and also whenever the reader is about to make a read that may
block: ids trickling down a pipe (``tail -f | bulkdelete ...``) are sent as they come, not once 1,024 have gathered,
while a file or a fast pipe still crosses the thread boundary once per thousand records (one hand-over costs
about as much as sending a request; once per record it would halve the throughput).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from bulkdelete.input.formats import ResultLines
from bulkdelete.input.reader import count_records, is_stream, read_records
from bulkdelete.input.shard import Shard, ShardFilter
from bulkdelete.records import Record

CHUNK = 1024
_END = object()

ReaderFactory = Callable[[Callable[[], None], Callable[[int], None]], Iterator[Record]]


class _Handover:
    """Items from one thread to the event loop, at most ``depth`` in transit. ``close()`` releases the thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, depth: int) -> None:
        self._loop = loop
        self._room = threading.Semaphore(depth)
        self._items: deque[object] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False  # set on the loop's side: nobody takes items any more

    def put(self, item: object) -> bool:
        """In the thread: hand ``item`` over once there is room; False when the consumer or the loop is gone."""
        self._room.acquire()
        if self.closed:
            self._room.release()  # let any other waiter see it too
            return False
        try:
            self._loop.call_soon_threadsafe(self._arrive, item)
        except RuntimeError:  # the loop is closed
            return False
        return True

    def _arrive(self, item: object) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> object:
        """On the loop: the next item, in order."""
        while not self._items:
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        self._room.release()
        return self._items.popleft()

    def close(self) -> None:
        """On the loop: take nothing more; a thread waiting for room wakes and stops."""
        self.closed = True
        self._items.clear()
        self._room.release()


@dataclass(frozen=True, slots=True)
class Tally:
    """How many records the input holds, as far as can be known once a run has ended (SPEC §5 ``unsent``).

    ``records``: every record read, plus the rest of each regular file counted to its end. ``exact`` is False when a
    stream (stdin, a pipe) was not read to its end: more records may have followed those read.
    """

    records: int
    exact: bool


class ReaderFeed:
    """The records of ``inputs`` in chunks (``async for chunk in feed``), read in a daemon thread; then its ``tally``.

    Arguments are those of ``read_records``, checked now (``ConfigError``). Iterate once; ``aclose()`` stops the
    thread at its next hand-over (a thread blocked in a read is left behind: a daemon, it never delays the end of
    the process). An exception raised by the reader (e.g. ``ConfigError`` for a CSV without the id column) is
    re-raised by the iteration, after the records read before it.

    With ``shard``, only that shard's records are handed over (filtered in the thread, so the others never reach
    the loop); ``other_shards`` counts those passed over, and the tally counts this shard's records only.
    """

    def __init__(
        self,
        inputs: Sequence[str],
        *,
        fmt: str = "auto",
        field: str | None = None,
        stdin: BinaryIO | None = None,
        chunk: int = CHUNK,
        depth: int = 4,
        results: ResultLines | None = None,
        shard: Shard | None = None,
    ) -> None:
        self._names = list(inputs) or ["-"]
        self._fmt, self._field, self._chunk, self._depth = fmt, field, chunk, depth
        read_records(inputs, fmt=fmt, field=field, stdin=stdin)  # checks the arguments and inputs, reads nothing
        self._make: ReaderFactory = lambda before_read, on_input: read_records(
            inputs, fmt=fmt, field=field, stdin=stdin, before_read=before_read, on_input=on_input, results=results
        )
        # Without --shard nothing is added to the per-record path: the reader's generator is iterated as it is.
        self._shard = ShardFilter(shard) if shard is not None else None
        self._handover: _Handover | None = None
        self._starts: list[int] = []  # records read before inputs[i] began, for each input begun
        self._read = 0  # records the thread has read so far (handed over or in its current chunk)
        self._finished = False  # every input was read to its end

    def __repr__(self) -> str:
        return f"<ReaderFeed read={self._read} inputs_begun={len(self._starts)} finished={self._finished}>"

    @property
    def other_shards(self) -> int:
        """Records of other shards passed over so far (``--shard``; 0 without it). After an early stop, the unread
        rest of the input is not counted."""
        return self._shard.others if self._shard is not None else 0

    async def __aiter__(self) -> AsyncIterator[list[Record]]:
        assert self._handover is None, "a ReaderFeed is iterated once"
        handover = self._handover = _Handover(asyncio.get_running_loop(), self._depth)
        thread = threading.Thread(target=self._produce, args=(handover,), name="bulkdelete-reader", daemon=True)
        thread.start()
        try:
            while True:
                item = await handover.get()
                if item is _END:
                    self._finished = True
                    return
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, list)
                yield item
        finally:
            handover.close()

    async def aclose(self) -> None:
        """Stop reading (idempotent)."""
        if self._handover is not None:
            self._handover.close()

    async def tally(self) -> Tally:
        """Call after ``aclose()``: the records read, plus the rest of every regular file counted to its end (in a
        worker thread: counting a large file takes a while); streams not read to their end make it inexact."""
        if self._finished:
            return Tally(self._read, True)
        starts = list(self._starts)
        current = len(starts) - 1
        total, exact = (starts[-1] if starts else 0), True
        for index in range(max(current, 0), len(self._names)):
            name = self._names[index]
            if not is_stream(name):
                owns = self._shard.shard.owns if self._shard is not None else None
                count, complete = await asyncio.to_thread(
                    count_records, name, fmt=self._fmt, field=self._field, owns=owns
                )
                total, exact = total + count, exact and complete
            else:
                total += self._read - starts[index] if index == current else 0
                exact = False
        return Tally(total, exact)

    def _records(self, before_read: Callable[[], None], on_input: Callable[[int], None]) -> Iterator[Record]:
        records = self._make(before_read, on_input)
        return self._shard.select(records) if self._shard is not None else records

    def _produce(self, handover: _Handover) -> None:
        """The thread: read, hand over chunks, then the end marker (or the reader's exception)."""
        batch: list[Record] = []
        chunk = self._chunk

        def hand_over() -> bool:
            nonlocal batch
            full, batch = batch, []
            self._read += len(full)  # counted a chunk at a time: this loop runs once per input record
            return handover.put(full)

        def before_read() -> None:
            if batch and not hand_over():
                raise _Gone

        def on_input(index: int) -> None:
            self._starts.append(self._read + len(batch))

        try:
            for record in self._records(before_read, on_input):
                batch.append(record)
                if len(batch) >= chunk and not hand_over():
                    return
            before_read()
            handover.put(_END)
        except _Gone:
            return
        except BaseException as exc:  # handed to the loop, which re-raises it where the run can report it
            try:
                before_read()  # the records read before the failure are valid: they are decided first
            except _Gone:
                return
            handover.put(exc)


class CountedChunks:
    """Chunks of records from a caller (the library API) with the same ``aclose``/``tally`` as ``ReaderFeed``:
    the tally is the records taken, exact once the caller's iterable ended."""

    other_shards = 0  # the caller picks its own records: no --shard here

    def __init__(self, chunks: AsyncIterable[Sequence[Record]]) -> None:
        self._chunks = chunks
        self._read = 0
        self._finished = False

    async def __aiter__(self) -> AsyncIterator[Sequence[Record]]:
        async for chunk in self._chunks:
            self._read += len(chunk)
            yield chunk
        self._finished = True

    async def aclose(self) -> None:
        return None

    async def tally(self) -> Tally:
        return Tally(self._read, self._finished)


class _Gone(Exception):
    """Raised through the reader from ``before_read``: the consumer is gone, stop reading."""
