"""Progress on stderr: a live bar (tqdm) on a terminal, else one plain line every ``--log-every`` (SPEC §3).

The bar shows records decided (of the total when the inputs are plain files: counted in a background thread, so a
huge file starts at once), the rate, ok / not ok, throttled, the current ``--rate auto`` rate, and the ETA. tqdm
redraws at most every ``mininterval`` seconds, so the per-record cost is a counter increment.

Where nothing is drawn live (stderr not a terminal, ``--no-progress``, or ``--log-format json``), ``ProgressLog``
writes a line through the console every ``--log-every`` seconds: logfmt or a JSON ``progress`` event.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any

from bulkdelete.output.console import Console, ProgressLine
from bulkdelete.output.stats import RunStats
from bulkdelete.records import Result


def wants_progress(flag: bool | None, stream: IO[str]) -> bool:
    """``--progress/--no-progress`` when given, else on exactly when ``stream`` is a terminal."""
    if flag is not None:
        return flag
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def count_lines(paths: Sequence[str]) -> int | None:
    """Lines in plain (uncompressed) files, or None when an input is stdin or compressed: no total then."""
    if not paths or any(p == "-" or p.endswith(".gz") or not os.path.isfile(p) for p in paths):
        return None
    total = 0
    for path in paths:
        last = b"\n"
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                total += chunk.count(b"\n")
                last = chunk[-1:]
        total += last != b"\n"  # a last line without its newline is a line too
    return total


def count_in_background(inputs: Sequence[str], on_total: Callable[[int], None]) -> None:
    """Count the lines of ``inputs`` in a daemon thread; call ``on_total`` there when the count is known."""

    def count() -> None:
        try:
            total = count_lines(inputs)
        except OSError:
            return
        if total is not None:
            on_total(total)

    threading.Thread(target=count, daemon=True).start()


class Progress:
    """A tqdm bar fed by results. ``current_rate`` is polled at redraw time (``--rate auto``).

    With a ``console``, the console's text lines (warnings, a signal's notice) go through ``tqdm.write`` while the
    bar is shown, so they print above the bar instead of through it. ``total``: the records expected when the caller
    knows them (``delete --where``: the count), else the inputs' lines once counted. A listing counts items, not
    records (``unit=" items"``, ``outcomes=False``: no ok / not ok) and moves the bar a page at a time.
    """

    def __init__(
        self,
        stream: IO[str],
        stats: RunStats,
        inputs: Sequence[str],
        *,
        current_rate: Callable[[], float] | None = None,
        mininterval: float = 0.2,
        console: Console | None = None,
        total: int | None = None,
        unit: str = " rec",
        outcomes: bool = True,
    ) -> None:
        self._stats = stats
        self._outcomes = outcomes
        self._current_rate = current_rate
        from tqdm import tqdm  # only when drawn: most runs (pipes, batch jobs) never pay for the import

        self._bar: Any = tqdm(
            total=total,
            file=stream,
            unit=unit,
            dynamic_ncols=True,
            mininterval=mininterval,
            leave=True,
            smoothing=0.1,
        )
        self._closed = False
        self._console = console
        if console is not None:
            console.live_write = lambda text: tqdm.write(text, file=stream)
        if total is None:
            count_in_background(inputs, self.set_total)

    def set_total(self, total: int) -> None:
        """What the bar counts up to (an input's lines: records ≤ lines, an upper bound, good enough for an ETA)."""
        if not self._closed:
            self._bar.total = total

    def advance_to(self, done: int) -> None:
        """A listing's page is in: the bar shows ``done`` items (tqdm redraws only when mininterval has passed)."""
        bar = self._bar
        bar.update(done - bar.n)
        bar.set_postfix_str(self._postfix(), refresh=False)

    def update(self, result: Result) -> None:
        bar = self._bar
        bar.update(1)  # tqdm redraws only when mininterval has passed
        if bar.n % 64 == 0:
            bar.set_postfix_str(self._postfix(), refresh=False)

    def _postfix(self) -> str:
        stats = self._stats
        text = f"ok {stats.ok:,} · not ok {stats.not_ok:,} · " if self._outcomes else ""
        text += f"throttled {stats.throttled:,}"
        if self._current_rate is not None:
            text += f" · rate {self._current_rate():.0f}/s"
        return text

    def close(self) -> None:
        self._closed = True
        if self._console is not None:
            self._console.live_write = None
        self._bar.set_postfix_str(self._postfix(), refresh=False)
        self._bar.refresh()
        self._bar.close()


class ProgressLog:
    """One progress line through ``console`` every ``every`` seconds, between ``start()`` and ``stop()``.

    ``rate`` is records decided per second since the previous line (since the start for the first), ``eta`` the
    records left at that rate (only when the inputs are plain files, whose lines are counted in the background).
    ``target`` is polled (``--rate auto`` moves it); ``0`` means unlimited. ``clock`` is monotonic seconds.
    """

    def __init__(
        self,
        console: Console,
        stats: RunStats,
        inputs: Sequence[str],
        *,
        every: float,
        target: Callable[[], float],
        paused_s: Callable[[], float],
        clock: Callable[[], float],
    ) -> None:
        self._console = console
        self._stats = stats
        self._inputs = list(inputs)
        self._every = every
        self._target = target
        self._paused_s = paused_s
        self._clock = clock
        self._total: int | None = None
        self._last = (clock(), 0)
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<ProgressLog every={self._every:g}s total={self._total} running={self._task is not None}>"

    def set_total(self, total: int) -> None:
        self._total = total

    def line(self) -> ProgressLine:
        """The progress now; moves the window the next line's rate is measured over."""
        now, done = self._clock(), self._stats.records
        then, done_then = self._last
        rate = (done - done_then) / (now - then) if now > then else 0.0
        self._last = (now, done)
        total = self._total
        eta = (total - done) / rate if total is not None and rate > 0 and total >= done else None
        target = self._target()
        return ProgressLine(
            done=done,
            total=total,
            ok=self._stats.ok,
            not_ok=self._stats.not_ok,
            rate=rate,
            target=target if target > 0 else None,
            throttled=self._stats.throttled,
            paused_s=self._paused_s(),
            eta_s=eta,
        )

    def start(self) -> None:
        count_in_background(self._inputs, self.set_total)
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            self._console.progress(self.line())
