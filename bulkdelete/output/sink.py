"""Where result lines go: one JSON line per decided record, in completion order.

Lines are written as soon as the outcome is final and flushed at the end of the same event-loop turn, so a kill
loses no line of a record whose request has completed, while a burst of results costs one flush, not one each.
"""

from __future__ import annotations

import asyncio
from typing import BinaryIO

from bulkdelete.records import Result


class JsonLinesSink:
    """Writes ``Result`` lines to a binary stream. ``broken`` turns true when the reader of a pipe went away."""

    def __init__(self, stream: BinaryIO, *, close: bool = False) -> None:
        self._stream = stream
        self._close = close
        self._flush_pending = False
        self.broken = False
        self.written = 0

    def __repr__(self) -> str:
        return f"<JsonLinesSink written={self.written} broken={self.broken}>"

    def write(self, result: Result) -> None:
        self.write_line(result.to_json_line())

    def write_line(self, line: bytes) -> None:
        """Write one encoded result line (newline included)."""
        if self.broken:
            return
        try:
            self._stream.write(line)
        except BrokenPipeError:
            self.broken = True
            return
        self.written += 1
        if not self._flush_pending:
            self._flush_pending = True
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no loop (synchronous use): flush now
                self.flush()

    def flush(self) -> None:
        self._flush_pending = False
        if self.broken:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self.broken = True

    def close(self) -> None:
        self.flush()
        if self._close:
            try:
                self._stream.close()
            except BrokenPipeError:
                self.broken = True
