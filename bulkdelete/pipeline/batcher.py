"""Groups records into batches for targets that take many ids per request (Velt, Coveo ``--mode batch``).

A batch is sent when full (``target.batch_size`` records or ``target.batch_bytes`` of payload), when input pauses
for ``linger_s`` (a slow trickle on stdin still gets flushed), when it is ``max_age_s`` old, or at the end of input.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from bulkdelete.records import Record
from bulkdelete.targets.base import Target

_TICK_S = 0.005


class Pending:
    """A record on its way: the only mutable per-record state, owned by the engine."""

    __slots__ = ("attempts", "record")

    def __init__(self, record: Record) -> None:
        self.record = record
        self.attempts = 0


Job = tuple[Pending, ...]


class JobSink(Protocol):
    """Where the batcher sends what it forms (the engine)."""

    def push_job(self, job: Job) -> None:
        """Take a formed batch for sending."""
        ...

    @property
    def more_may_come(self) -> bool:
        """False once input ended and no retry is waiting: a batch being formed then goes out at once."""
        ...


class Batcher:
    """Forms batches from the records ``put`` into it and pushes them to ``sink``."""

    def __init__(self, target: Target, sink: JobSink, *, linger_s: float, max_age_s: float) -> None:
        self._target = target
        self._sink = sink
        self._linger_s = linger_s
        self._max_age_s = max_age_s
        self._queue: asyncio.Queue[Pending] = asyncio.Queue()
        self._forming: list[Pending] = []

    def __repr__(self) -> str:
        return f"<Batcher queued={self._queue.qsize()} forming={len(self._forming)}>"

    def put(self, pending: Pending) -> None:
        self._queue.put_nowait(pending)

    def drain(self) -> list[Pending]:
        """Every record queued or forming a batch (the run is stopping: none of them will be sent)."""
        drained, self._forming = self._forming, []
        while not self._queue.empty():
            drained.append(self._queue.get_nowait())
        return drained

    async def run(self) -> None:
        """Form batches until cancelled. While the queue is empty it naps in small ticks rather than waiting per
        record: a fast reader then fills batches at no per-record cost."""
        loop = asyncio.get_running_loop()
        target = self._target
        while True:
            first = await self._queue.get()
            self._forming = [first]
            size = target.record_bytes(first.record.id)
            last_arrival = started = loop.time()
            while len(self._forming) < target.batch_size:
                try:
                    pending = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    if not self._sink.more_may_come:
                        break  # end of input: nothing more is coming, flush now
                    now = loop.time()
                    if now - last_arrival >= self._linger_s or now - started >= self._max_age_s:
                        break
                    await asyncio.sleep(_TICK_S)
                    continue
                last_arrival = loop.time()
                record_bytes = target.record_bytes(pending.record.id)
                if target.batch_bytes is not None and size + record_bytes > target.batch_bytes:
                    self._queue.put_nowait(pending)  # starts the next batch
                    break
                self._forming.append(pending)
                size += record_bytes
            job, self._forming = tuple(self._forming), []
            self._sink.push_job(job)
