"""Records waiting for their next check, on disk: memory stays flat however many ids are pending.

Each verification round streams the records still pending from a spool file and writes the ones a check still saw
to the next round's spool. A spool is an anonymous temporary file (gone when closed, or when the process dies).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator

import orjson

from bulkdelete.records import Record

CHUNK = 256


class Spool:
    """An append-then-read file of records: ``add`` them, then ``async for chunk in spool.chunks()`` once."""

    __slots__ = ("_file", "count")

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="bulkdelete-verify-")  # noqa: SIM115 - closed by close()
        self.count = 0

    def __repr__(self) -> str:
        return f"<Spool {self.count:,} records>"

    def __len__(self) -> int:
        return self.count

    def add(self, record: Record) -> None:
        row = (record.id, record.line, record.file, record.problem)
        self._file.write(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))
        self.count += 1

    async def chunks(self, size: int = CHUNK) -> AsyncIterator[list[Record]]:
        """The records added, in order, in lists of up to ``size``; the loop gets a turn between chunks."""
        handle = self._file
        handle.flush()
        handle.seek(0)
        chunk: list[Record] = []
        for line in handle:
            chunk.append(Record(*orjson.loads(line)))
            if len(chunk) >= size:
                yield chunk
                chunk = []
                await asyncio.sleep(0)
        if chunk:
            yield chunk

    def close(self) -> None:
        self._file.close()
