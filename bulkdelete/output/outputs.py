"""Where each decided result goes: the results sinks (``-o``, the ``--resume`` journal, stdout), the progress bar and
the library caller's callback; a sink that cannot be written stops the run."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import BinaryIO, NamedTuple

from orjson import OPT_APPEND_NEWLINE, dumps

from bulkdelete.output.console import Console
from bulkdelete.output.journal import prepare_for_append
from bulkdelete.output.progress import Progress
from bulkdelete.output.sink import JsonLinesSink, open_results_file
from bulkdelete.pipeline.ending import RunEnd, Stoppable, StopReason
from bulkdelete.records import Outcome, Result

_SKIPPED = Outcome.SKIPPED  # read per result: a global is ~10x cheaper than the enum member (CPython 3.11)


class ResultPaths(NamedTuple):
    """``-o`` (``-``: stdout; None: stdout unless ``resume``), ``--resume`` and ``--overwrite``."""

    output: str | None
    resume: str | None
    overwrite: bool


class ResultOutputs:
    """Where each decided ``Result`` goes: the sinks, the progress bar and the caller's callback.

    With ``--resume FILE`` every new result is appended to that journal, never a ``skipped`` line (the journal
    would hold two ok lines for one id). ``-o FILE`` (``-``: stdout) gets every line; without ``-o`` results go
    to stdout unless they already go to the journal. Lines that cannot be written must not be decided: a sink that
    fails (a full disk) stops the run, as does stdout's reader going away (``| head``), which stops it quietly.
    """

    def __init__(
        self,
        paths: ResultPaths,
        stdout: BinaryIO,
        progress: Progress | None,
        on_result: Callable[[Result], None] | None,
        console: Console,
    ) -> None:
        self.sinks: list[tuple[JsonLinesSink, bool]] = []
        self.console = console
        self.engine: Stoppable | None = None
        self.stopped: tuple[StopReason, str] | None = None  # why the outputs stopped the run
        output, resume = paths.output, paths.resume
        if resume is not None:
            prepare_for_append(resume)
            self._add(open(resume, "ab"), repr(resume), close=True, takes_skipped=False)  # noqa: SIM115
        same_file = output is not None and resume is not None and _same_path(output, resume)
        if output == "-" or (output is None and resume is None):
            self._add(stdout, "stdout", close=False, takes_skipped=True)
        elif output is not None and not same_file:  # -o FILE naming the journal must never truncate it
            self._add(
                open_results_file(output, overwrite=paths.overwrite), repr(output), close=True, takes_skipped=True
            )
        self.progress = progress
        self.on_result = on_result

    def _add(self, stream: BinaryIO, name: str, *, close: bool, takes_skipped: bool) -> None:
        self.sinks.append((JsonLinesSink(stream, name=name, close=close, on_failure=self._sink_failed), takes_skipped))

    def _sink_failed(self, sink: JsonLinesSink) -> None:
        """The first line that cannot be written stops the run: nothing more is sent."""
        if self.stopped is not None:
            return
        if sink.failure is not None:
            self.stopped = (StopReason.OUTPUT_FAILED, sink.failure)
            self.console.error(f"{sink.failure}: stopping the run, nothing more is sent")
        else:  # the reader went away (`| head -1`): a normal way to end a pipeline, said in the summary only
            self.stopped = (StopReason.OUTPUT_CLOSED, f"the output ({sink.name}) was closed by its reader")
        if self.engine is not None:
            self.engine.stop(*self.stopped)

    def emit(self, result: Result) -> None:
        line = dumps(result.to_dict(), option=OPT_APPEND_NEWLINE)  # `to_json_line`: encoded once, for every sink
        for sink, takes_skipped in self.sinks:
            if takes_skipped or result.outcome is not _SKIPPED:
                sink.write_line(line)
        if self.progress is not None:
            self.progress.update(result)
        if self.on_result is not None:
            self.on_result(result)

    def flush(self) -> None:
        for sink, _ in self.sinks:
            sink.flush()

    def close(self) -> None:
        for sink, _ in self.sinks:
            sink.close()
        if self.progress is not None:
            self.progress.close()

    def ended(self, end: RunEnd) -> RunEnd:
        """``end``, unless lines were lost after the run stopped sending (the last flush failed): then that."""
        if self.stopped is None or end.reason not in (
            StopReason.COMPLETED,
            StopReason.STOP_AFTER,
            StopReason.MAX_REQUESTS,
        ):
            return end
        return RunEnd(self.stopped[0], self.stopped[1], end.abandoned)


def _same_path(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)
