"""Bridges the synchronous reader into the event loop without blocking it, a chunk of records at a time.

A daemon thread runs the reader and hands *lists* of records to the loop through a small bounded queue, so reading
never runs more than a few chunks ahead of the engine, and a blocked ``stdin`` read can never keep the process alive
after the run ends (which ``asyncio.to_thread`` would: the default executor is joined at shutdown).

A chunk is handed over when it holds ``chunk`` records, and also whenever the reader is about to make a read that may
block: ids trickling down a pipe (``tail -f | bulkdelete ...``) are sent as they come, not once 512 have gathered,
while a file or a fast pipe still crosses the thread boundary once per few hundred records (one hand-over costs
about as much as sending a request; once per record it would halve the throughput).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator

from bulkdelete.records import Record

CHUNK = 1024
_END = object()

ReaderFactory = Callable[[Callable[[], None]], Iterator[Record]]


async def chunks_in_thread(
    make_records: ReaderFactory, *, chunk: int = CHUNK, depth: int = 4
) -> AsyncIterator[list[Record]]:
    """Yield non-empty lists of the records ``make_records(before_read)`` produces, read in a daemon thread.

    ``make_records`` gets a callback to call before each read that may block (``read_records(before_read=...)``).
    An exception raised by the reader (e.g. ``ConfigError`` for a CSV without the id column) is re-raised here.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=depth)
    batch: list[Record] = []
    gone = False

    def hand_over(item: object) -> bool:
        try:
            asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()
        except (RuntimeError, asyncio.CancelledError):
            return False  # the loop is gone or the run ended: stop reading
        return True

    def before_read() -> None:
        nonlocal batch, gone
        if batch and not gone:
            gone = not hand_over(batch)
            batch = []

    def produce() -> None:
        nonlocal batch, gone
        try:
            for record in make_records(before_read):
                if gone:
                    return
                batch.append(record)
                if len(batch) >= chunk:
                    if not hand_over(batch):
                        return
                    batch = []
            before_read()
            hand_over(_END)
        except BaseException as exc:  # handed to the loop, which re-raises it where the run can report it
            before_read()  # the records read before the failure are valid: they are decided first
            hand_over(exc)

    threading.Thread(target=produce, name="bulkdelete-reader", daemon=True).start()
    while True:
        item = await queue.get()
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, list)
        yield item
