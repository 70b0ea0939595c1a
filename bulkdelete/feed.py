"""Bridges the synchronous reader into the event loop without blocking it.

A daemon thread runs the reader and hands chunks of records to the loop through a small bounded queue, so reading
never runs more than a few chunks ahead of the engine, and a blocked ``stdin`` read can never keep the process alive
after the run ends (which ``asyncio.to_thread`` would: the default executor is joined at shutdown).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator

from bulkdelete.records import Record

CHUNK = 512
_END = object()


async def records_in_thread(
    make_records: Callable[[], Iterator[Record]], *, chunk: int = CHUNK, depth: int = 4
) -> AsyncIterator[Record]:
    """Yield the records ``make_records()`` produces, read in a daemon thread ``chunk`` at a time.

    An exception raised by the reader (e.g. ``ConfigError`` for a CSV without the id column) is re-raised here.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=depth)

    def hand_over(item: object) -> bool:
        try:
            asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()
        except (RuntimeError, asyncio.CancelledError):
            return False  # the loop is gone or the run ended: stop reading
        return True

    def produce() -> None:
        batch: list[Record] = []
        try:
            for record in make_records():
                batch.append(record)
                if len(batch) >= chunk:
                    if not hand_over(batch):
                        return
                    batch = []
            if batch and not hand_over(batch):
                return
            hand_over(_END)
        except BaseException as exc:  # handed to the loop, which re-raises it where the run can report it
            hand_over(exc)

    threading.Thread(target=produce, name="bulkdelete-reader", daemon=True).start()
    while True:
        item = await queue.get()
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, list)
        for record in item:
            yield record
