"""The run's timeline (SPEC §8): one row per second of what was sent and decided, and of the pacing in force.

It costs nothing per request: a timer on the event loop wakes once per second and reads the cumulative counters
that the run keeps anyway (``RunStats``, the pacer's rate and pause time); a row holds the differences from the
previous reading. A row::

    {"t": 12, "sent": 98, "ok": 97, "not_ok": 0, "throttled": 1, "retries": 1, "in_flight": 16,
     "rate_target": 100.0, "paused_s": 0.25}

``t`` is the row's first second since the start of the run; ``sent`` .. ``retries`` and ``paused_s`` are counts
(seconds) *within* the row; ``in_flight`` (requests sent and not yet answered) and ``rate_target`` (the pacer's
rate, req/s; ``0`` when unlimited, as for ``--rate``) are readings at the row's end. A row covers the seconds up
to the next row's ``t`` (the last one: up to ``elapsed_s``, so it may be shorter than a second).

At most ``max_rows`` (3,600) rows are kept: once full, neighbouring rows are merged in pairs and rows cover twice
as many seconds from then on (counts add up; ``in_flight`` keeps the larger reading, ``rate_target`` their mean).
Memory is therefore bounded whatever the length of the run.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass

from bulkdelete.output.stats import RunStats
from bulkdelete.rate.control import RateReadings

MAX_ROWS = 3600
_COUNTS = 6  # sent, ok, not_ok, throttled, retries, paused_s


@dataclass(slots=True)
class _Row:
    """``counts`` follow ``_COUNTS``; ``rate_sum`` is ``rate_target`` summed over the row's seconds (a mean later)."""

    t: int
    width: int
    counts: list[float]
    in_flight: int
    rate_sum: float

    def add(self, other: _Row) -> None:
        self.width += other.width
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.in_flight = max(self.in_flight, other.in_flight)
        self.rate_sum += other.rate_sum

    def to_dict(self) -> dict[str, object]:
        sent, ok, not_ok, throttled, retries, paused_s = self.counts
        return {
            "t": self.t,
            "sent": int(sent),
            "ok": int(ok),
            "not_ok": int(not_ok),
            "throttled": int(throttled),
            "retries": int(retries),
            "in_flight": self.in_flight,
            "rate_target": round(self.rate_sum / self.width, 1),
            "paused_s": round(paused_s, 3),
        }


class Timeline:
    """Samples ``stats`` and ``pacer`` once per ``interval`` of ``clock`` (the loop's time) between start and stop.

    ``sample(now)`` is the whole job; ``start()`` only schedules it on the running loop. Tests call ``sample``
    with their own clock values.
    """

    def __init__(
        self, stats: RunStats, pacer: RateReadings, clock: Callable[[], float], *, max_rows: int = MAX_ROWS
    ) -> None:
        if max_rows < 2 or max_rows % 2:
            raise ValueError(f"max_rows must be an even number >= 2 (got {max_rows})")
        self._stats = stats
        self._pacer = pacer
        self._clock = clock
        self._max_rows = max_rows
        self._rows: list[_Row] = []
        self._open: _Row | None = None  # the row being filled, once rows cover more than one second
        self._width = 1  # seconds per row
        self._t0 = clock()
        self._second = 0  # the next second to sample
        self._last = self._reading()
        self._handle: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        return f"<Timeline rows={len(self._rows)} width={self._width}s next_second={self._second}>"

    def start(self) -> None:
        """Sample once per second on the running loop until ``stop()``."""
        self._schedule(asyncio.get_running_loop())

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        # Absolute times (t0 + k seconds): a late wake-up does not shift every later one.
        delay = self._t0 + self._second + 1 - self._clock()
        self._handle = loop.call_later(max(delay, 0.0), self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self.sample(self._clock())
        self._schedule(loop)

    def sample(self, now: float) -> None:
        """Close every whole second up to ``now``: the counts since the last reading go to the latest of them (a
        stalled loop leaves the seconds it missed at zero rather than dropping them)."""
        upto = math.floor(now - self._t0)
        if upto <= self._second:
            return
        reading = self._reading()
        while self._second < upto - 1:
            self._append(self._row(self._second, 1, self._last, self._last))
            self._second += 1
        self._append(self._row(self._second, 1, self._last, reading))
        self._second = upto
        self._last = reading

    def stop(self, now: float | None = None) -> None:
        """End sampling; the time since the last whole second becomes the last (shorter) row."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        now = self._clock() if now is None else now
        self.sample(now)
        reading = self._reading()
        if now - self._t0 > self._second or reading != self._last:
            self._append(self._row(self._second, 1, self._last, reading))
            self._second += 1
            self._last = reading
        if self._open is not None:
            if len(self._rows) == self._max_rows:
                self._halve()
            self._rows.append(self._open)
            self._open = None

    def rows(self) -> list[dict[str, object]]:
        """The rows so far (``stop()`` first for the whole run), oldest first."""
        rows = [*self._rows, self._open] if self._open is not None else self._rows
        return [row.to_dict() for row in rows]

    def recent_rate(self, seconds: int = 60) -> float | None:
        """The mean ``rate_target`` over the last ``seconds`` covered (None before the first row)."""
        rows = [*self._rows, self._open] if self._open is not None else list(self._rows)
        covered, total = 0, 0.0
        for row in reversed(rows):
            covered += row.width
            total += row.rate_sum
            if covered >= seconds:
                break
        return round(total / covered, 1) if covered else None

    def _reading(self) -> tuple[float, ...]:
        stats, pacer = self._stats, self._pacer
        return (
            stats.requests,
            stats.ok,
            stats.not_ok,
            stats.throttled,
            stats.retries,
            pacer.paused_s,
            stats.in_flight,
            pacer.current_rate,
        )

    @staticmethod
    def _row(t: int, width: int, before: tuple[float, ...], after: tuple[float, ...]) -> _Row:
        counts = [b - a for a, b in zip(before[:_COUNTS], after[:_COUNTS], strict=True)]
        rate = after[7]
        return _Row(t, width, counts, int(after[6]), rate * width)

    def _append(self, row: _Row) -> None:
        """Add one second's row to the open row; a full open row is closed (halving the rows when they are full)."""
        if self._open is None:
            self._open = row
        else:
            self._open.add(row)
        if self._open.width < self._width:
            return
        if len(self._rows) == self._max_rows:
            self._halve()  # the open row, one old width wide, now fills half a row: it stays open
            return
        self._rows.append(self._open)
        self._open = None

    def _halve(self) -> None:
        merged = []
        for first, second in zip(self._rows[0::2], self._rows[1::2], strict=True):
            first.add(second)
            merged.append(first)
        self._rows = merged
        self._width *= 2
