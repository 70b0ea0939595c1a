"""Live progress on stderr (tqdm), only when stderr is a terminal unless forced.

Shows records decided (of the total when the inputs are plain files: counted in a background thread, so a huge file
starts at once), the rate, ok / not ok, throttled, the current ``--rate auto`` rate, and the ETA. tqdm redraws at
most every ``mininterval`` seconds, so the per-record cost is a counter increment.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any

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
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                total += chunk.count(b"\n")
    return total


class Progress:
    """A tqdm bar fed by results. ``current_rate`` is polled at redraw time (``--rate auto``)."""

    def __init__(
        self,
        stream: IO[str],
        stats: RunStats,
        inputs: Sequence[str],
        *,
        current_rate: Callable[[], float] | None = None,
        mininterval: float = 0.2,
    ) -> None:
        self._stats = stats
        self._current_rate = current_rate
        from tqdm import tqdm  # only when drawn: most runs (pipes, batch jobs) never pay for the import

        self._bar: Any = tqdm(
            total=None,
            file=stream,
            unit=" rec",
            dynamic_ncols=True,
            mininterval=mininterval,
            leave=True,
            smoothing=0.1,
        )
        self._closed = False
        threading.Thread(target=self._count, args=(list(inputs),), daemon=True).start()

    def _count(self, inputs: list[str]) -> None:
        try:
            total = count_lines(inputs)
        except OSError:
            return
        if total is not None and not self._closed:
            self._bar.total = total  # records ≤ lines: an upper bound, good enough for an ETA

    def update(self, result: Result) -> None:
        bar = self._bar
        bar.update(1)  # tqdm redraws only when mininterval has passed
        if bar.n % 64 == 0:
            bar.set_postfix_str(self._postfix(), refresh=False)

    def _postfix(self) -> str:
        stats = self._stats
        text = f"ok {stats.ok:,} · not ok {stats.not_ok:,} · throttled {stats.throttled:,}"
        if self._current_rate is not None:
            text += f" · rate {self._current_rate():.0f}/s"
        return text

    def close(self) -> None:
        self._closed = True
        self._bar.set_postfix_str(self._postfix(), refresh=False)
        self._bar.refresh()
        self._bar.close()
