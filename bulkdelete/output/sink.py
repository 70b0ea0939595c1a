"""Where result lines go: one JSON line per decided record, in completion order.

Lines are written as soon as the outcome is final and flushed at the end of the same event-loop turn, so a kill
loses no line of a record whose request has completed, while a burst of results costs one flush, not one each.

A line that cannot be written must stop the run (SPEC §4: the results are the audit trail of what was deleted): the
first failed write or flush calls ``on_failure`` once, and the sink writes nothing more. A reader that went away
(``| head -1``: EPIPE) is *closed*; anything else (a full disk: ENOSPC, an I/O error) is *failed*, with its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import Callable
from typing import BinaryIO

from bulkdelete.errors import ConfigError
from bulkdelete.records import Result


class JsonLinesSink:
    """Writes ``Result`` lines to a binary stream named ``name`` (for messages).

    ``closed_by_reader`` turns true when the reader of a pipe went away; ``failure`` holds the reason (naming the
    file and the OS error) when a write failed otherwise. Either calls ``on_failure(sink)`` once.
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        name: str = "stdout",
        close: bool = False,
        on_failure: Callable[[JsonLinesSink], None] | None = None,
    ) -> None:
        self._stream = stream
        self._close = close
        self._flush_pending = False
        self.name = name
        self.on_failure = on_failure
        self.closed_by_reader = False
        self.failure: str | None = None
        self.broken = False  # either of the two: nothing more is written (a plain attribute: read per line)
        self.written = 0

    def __repr__(self) -> str:
        return f"<JsonLinesSink {self.name} written={self.written} broken={self.broken}>"

    def write(self, result: Result) -> None:
        self.write_line(result.to_json_line())

    def write_line(self, line: bytes) -> None:
        """Write one encoded result line (newline included)."""
        if self.broken:
            return
        try:
            self._stream.write(line)
        except OSError as exc:
            self._failed(exc)
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
        except OSError as exc:
            self._failed(exc)

    def close(self) -> None:
        self.flush()
        if self._close:
            with contextlib.suppress(OSError):  # a failure was reported by the flush above; the lines are lost
                self._stream.close()

    def _failed(self, exc: OSError) -> None:
        self.broken = True
        if isinstance(exc, BrokenPipeError):
            self.closed_by_reader = True
            _discard_into_null(self._stream)
        else:
            self.failure = f"cannot write results to {self.name}: {exc.strerror or exc}"
        if self.on_failure is not None:
            self.on_failure(self)


def _discard_into_null(stream: BinaryIO) -> None:
    """Point a pipe whose reader went away at /dev/null: what its buffer still holds goes nowhere, quietly, and the
    interpreter's own flush of stdout at exit does not fail again ("Exception ignored ... BrokenPipeError")."""
    try:
        fd = stream.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError):
        return
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def check_results_path(path: str, *, overwrite: bool, option: str = "-o/--output") -> None:
    """``ConfigError`` when ``path`` is an existing non-empty regular file (an earlier run's audit trail) and not
    ``overwrite``: checked before anything is sent, also for files opened later (``delete --verify FILE``)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"cannot open {option} {path!r}: {exc.strerror}") from None
    if stat.S_ISREG(info.st_mode) and info.st_size > 0 and not overwrite:
        raise ConfigError(
            f"{option} {path!r} already holds results ({info.st_size:,} bytes, perhaps an earlier run's record of "
            "what it deleted): give --overwrite to replace it, another file name, or --resume FILE to append to it"
        )


def open_results_file(path: str, *, overwrite: bool) -> BinaryIO:
    """Open ``-o FILE`` for writing. An existing non-empty regular file is an earlier run's audit trail: replaced
    only with ``overwrite``, else ``ConfigError`` (before anything is sent). Devices and pipes are written as given
    (``/dev/stdout``, a FIFO)."""
    check_results_path(path, overwrite=overwrite)
    try:
        return open(path, "wb")
    except OSError as exc:
        raise ConfigError(f"cannot open -o/--output {path!r}: {exc.strerror}") from None
