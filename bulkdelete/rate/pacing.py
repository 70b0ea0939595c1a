"""Request pacing: at most ``R`` request starts in any 1-second window, without a start-up burst.

The contract (SPEC §6), for a rate ``R`` > 0 in requests per second:

* never more than ``R`` grants in any 1-second window, and never more than ``R·T + 2`` in any window of
  ``T`` seconds, *whatever the lateness of the wake-ups* (event-loop stalls, oversleeping timers);
* at least 97% of ``R`` sustained while there is demand: the schedule runs at ``R' = R·(1 - margin)`` (2%
  under ``R``) so that the 2% absorbs the jitter between a grant here and the request's arrival at the
  server.

Design: GCRA (the "virtual scheduling" form of a leaky bucket). Slot ``k`` is due at ``slot[k-1] + 1/R'``; a
grant made at time ``now`` takes the slot ``max(next, now - tolerance, paused_until)``. Because the slot is
computed from the clock *at grant time*, a late wake-up cannot bunch grants: every grant lies within
``tolerance`` after its slot and slots are spaced by ``1/R'``, so any window ``T`` holds at most
``floor(R'·(T + tolerance)) + 1`` grants. With ``tolerance = min(1/R', margin-window / 2)`` that is
``<= R·T + 2`` for every ``T`` and ``<= R`` for ``T = 1``. When the schedule has fallen behind (idle
workers, a stall) it re-anchors at ``now - tolerance``: at most two grants can then happen back to back.

A request that needs a new connection (after a dropped one) leaves later than its grant by the connect time (a TCP
and TLS handshake: tens of milliseconds over a real network), while the requests granted after it leave on time:
seen by the server, it bunches with the next slots. (The 802 starts in one second that issue 20 met at ``--rate 800``
with 2% dropped connections were not this: captured on the wire, the client never sent more than 790 in any second;
the emulator's garbage collector paused its stamping for 17-40 ms, benchmarks/RESULTS.md §15.) The margin absorbs a
spread of departure delays up to ``slack = R/R' - 1 - tolerance - early - 1/(2R')`` (18.0 ms at R=800, 4.6 ms at
R=100, 0 at R=10); a request that left later than that after its grant (``left_late``, called by the transport
once its connection is open) gives its slot back and takes the next one: the schedule moves one slot on, so the
window that holds it holds one slot fewer. Every arrival then lies within ``slack`` of a slot, and no 1-second
window exceeds R.

Waiters are served FIFO. Only the head of the queue sleeps (until its slot or the end of a pause); the
others wait on a future that their predecessor resolves when it leaves the queue. A cancelled waiter simply
leaves the queue: slots are not reserved in advance, so nothing is wasted and nobody else's schedule moves.

Why not ``aiolimiter.AsyncLimiter``: it reads ``loop.time()`` directly (no injectable clock/sleep for
tests), has no global pause nor live rate change, and its only burst-free configurations are either
``AsyncLimiter(1, 1/R)`` (which loses every late wake-up, ~86% of R=100 over loopback) or a bucket of 2,
which lets ``floor(R') + 2`` through in a second: 11 at R=10. The bucket here is the same leaky bucket with
a fractional capacity of ``1 + tolerance·R'``, plus pause and ``set_rate``; ``benchmarks/pacer_fidelity.py``
compares them.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

__all__ = ["Pacer"]

#: The head of the queue naps at most this long at a time, so that a ``set_rate`` to a faster rate
#: (``--rate auto``) takes effect within this delay even when the head was sleeping towards a slot of the
#: old, slow rate.
_MAX_NAP = 0.25


class Pacer:
    """Hands out request start slots at ``rate`` per second, FIFO, with a global pause.

    :param rate: requests per second, ``0`` for unlimited (``acquire`` then only waits for a pause).
    :param clock: monotonic seconds; defaults to the running loop's ``time()``, looked up at call time so
        that a ``Pacer`` can be built outside an event loop.
    :param sleep: ``await sleep(seconds)``; defaults to ``asyncio.sleep``, looked up at call time.
    :param margin: fraction of ``rate`` kept in reserve for timing jitter (``0 <= margin < 1``).
    """

    __slots__ = (
        "_clock",
        "_early",
        "_granted",
        "_interval",
        "_last_slot",
        "_late",
        "_margin",
        "_pause_start",
        "_paused_done",
        "_paused_until",
        "_rate",
        "_slack",
        "_sleep",
        "_tolerance",
        "_waiters",
    )

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        margin: float = 0.02,
    ) -> None:
        if not 0.0 <= margin < 1.0:
            raise ValueError(f"margin must be >= 0 and < 1 (got {margin!r})")
        self._clock = clock
        self._sleep = sleep
        self._margin = margin
        self._rate = 0.0
        self._interval = 0.0  # seconds between slots, 0 when unlimited
        self._tolerance = 0.0  # how far in the past a slot may lie when granted
        self._early = 0.0  # how far ahead of its slot a grant may happen
        self._slack = math.inf  # how much later than its grant a request may leave and still fit the 1 s bound
        self._late = 0  # requests that left later than that: each took one more slot
        # The slot of the latest grant; -inf means "no schedule yet": the next grant anchors at ``now``,
        # credit-free.
        self._last_slot = -math.inf
        self._paused_until = -math.inf
        self._pause_start = -math.inf
        self._paused_done = 0.0  # length of the pause intervals that are over
        self._granted = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.set_rate(rate)

    # -- public state --

    @property
    def rate(self) -> float:
        """The configured rate in requests per second (``0`` = unlimited)."""
        return self._rate

    @property
    def current_rate(self) -> float:
        """``rate``, under the name observers read (``rate.control.RateReadings``)."""
        return self._rate

    @property
    def margin(self) -> float:
        """The fraction of ``rate`` kept in reserve: slots are spaced ``1 / (rate · (1 - margin))`` apart."""
        return self._margin

    @property
    def granted(self) -> int:
        """How many slots have been granted so far."""
        return self._granted

    @property
    def late(self) -> int:
        """How many requests left more than the slack after their grant (``left_late``): each took one more slot."""
        return self._late

    @property
    def waiters(self) -> int:
        """How many callers are waiting in ``acquire``."""
        return len(self._waiters)

    @property
    def paused_s(self) -> float:
        """Seconds during which a pause was in force so far: the union of the pause intervals."""
        if self._paused_until == -math.inf:
            return 0.0
        now = self._now_or(self._paused_until)
        return self._paused_done + max(0.0, min(now, self._paused_until) - self._pause_start)

    def __repr__(self) -> str:
        now = self._now_or(math.nan)
        nxt = self._last_slot + self._interval if self._interval else math.nan
        rate = f"{self._rate:g}/s" if self._rate else "unlimited"
        return (
            f"<Pacer rate={rate} margin={self._margin:g} granted={self._granted} "
            f"next_slot={_relative(nxt, now)} paused_until={_relative(self._paused_until, now)} "
            f"paused_s={self.paused_s:.3f} late={self._late} waiters={len(self._waiters)}>"
        )

    # -- control --

    def set_rate(self, rate: float) -> None:
        """Change the rate (requests per second, ``0`` = unlimited); it applies from the next slot on.

        The next slot becomes ``last slot + 1/R'_new``: a slower rate is never undercut by the old spacing.
        """
        if not (rate >= 0.0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a finite number >= 0, 0 for unlimited (got {rate!r})")
        self._rate = float(rate)
        if rate == 0.0:
            self._interval = self._tolerance = self._early = 0.0
            self._slack = math.inf
            self._last_slot = -math.inf  # coming back to a finite rate starts a fresh, credit-free schedule
            return
        self._interval = 1.0 / (rate * (1.0 - self._margin))
        # One slot of tolerance keeps any window T within R·T + 2; the cap keeps a 1-second window within R at
        # low rates, where one slot (e.g. 102 ms at R=10) would let R + 1 through: R'·(1 + tol) must stay < R.
        self._tolerance = min(self._interval, self._margin / (1.0 - self._margin) / 2.0)
        # epoll rounds timeouts up to whole milliseconds: a wake-up for a slot lands up to 1 ms late, and at high
        # rates each such loss is a lost slot (R=1000 held only 0.96 of R). Granting up to half a slot (<= 0.5 ms)
        # early recovers it; grants stay within [slot - early, slot + tolerance] and tolerance + early < 2/R', so
        # both window bounds still hold (R=1000 now holds 0.974-0.979, benchmarks/RESULTS.md).
        self._early = min(0.0005, 0.5 * self._interval)
        # What the margin leaves of a 1 s window once grants may be ``tolerance`` late and ``early`` early: a spread
        # of departure delays up to this keeps R'·(1 + tolerance + early + slack) < R.
        # (half a slot less: the window's count is ceil(R'·length), so the length must stay under R/R' = 1/(1-margin)).
        lead = self._tolerance + self._early + 0.5 * self._interval
        self._slack = max(0.0, 1.0 / (1.0 - self._margin) - 1.0 - lead)

    def pause(self, seconds: float) -> None:
        """Hold every acquirer until ``now + seconds``. Extends a running pause, never shortens it."""
        if not (seconds >= 0.0 and math.isfinite(seconds)):
            raise ValueError(f"pause must be a finite number of seconds >= 0 (got {seconds!r})")
        now = self._now()
        until = now + seconds
        if until <= self._paused_until:
            return
        if now >= self._paused_until:
            # The previous pause (if any) is over: bank it whole and open a new interval. Overlapping pauses
            # only move the end, so the union is never double-counted.
            if self._paused_until != -math.inf:
                self._paused_done += self._paused_until - self._pause_start
            self._pause_start = now
        self._paused_until = until

    def left_late(self, granted_at: float) -> bool:
        """The request granted at ``granted_at`` (this pacer's clock) leaves only now, e.g. once a new connection is
        open. Later than the slack after its grant, it gives its slot back and takes the next one (True): the schedule
        moves one slot on, so the server never sees it bunched with the slots granted meanwhile."""
        now = self._now()
        if now - granted_at <= self._slack:
            return False
        self._late += 1
        # Its own slot went by unused; it now stands for the next one. A schedule that fell behind re-anchors as a
        # grant does, so a late departure never hands out credit.
        self._last_slot = max(self._last_slot + self._interval, now - self._tolerance)
        return True

    # -- acquiring --

    def try_acquire(self) -> bool:
        """Take a start slot if one is due now and nobody is queued (True); else take nothing (False).

        The fast path of ``acquire`` as a plain call: at an unlimited or unsaturated rate it is the only path, and
        it saves creating and running a coroutine per request.
        """
        if self._waiters:
            return False
        now = self._now()
        if not self._interval:  # unlimited: only a pause holds a request (`_wait_for` and `_grant`, inlined)
            if now < self._paused_until:
                return False
            self._granted += 1
            return True
        if self._wait_for(now) > 0.0:
            return False
        self._grant(now)
        return True

    async def acquire(self) -> None:
        """Wait for this request's start slot (and for any pause), then return: the request may start now."""
        if self.try_acquire():
            return  # fast path: no queue, slot due; no future, no task switch
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(turn)
        try:
            if self._waiters[0] is not turn:
                await turn  # resolved by our predecessor when it leaves the queue
            await self._lead()
        finally:
            self._leave(turn)

    async def _lead(self) -> None:
        """As head of the queue: sleep until the slot (or the end of a pause) is due, then take it."""
        sleep = self._sleep or asyncio.sleep
        while True:
            now = self._now()
            wait = self._wait_for(now)
            if wait <= 0.0:
                self._grant(now)
                return
            # Re-check after every nap: a pause may have started, or the rate changed, meanwhile.
            await sleep(min(wait, _MAX_NAP))

    def _leave(self, turn: asyncio.Future[None]) -> None:
        leave_queue(self._waiters, turn)

    def _wait_for(self, now: float) -> float:
        """Seconds from ``now`` until the next grant may happen (<= 0: now)."""
        due = self._paused_until
        if self._interval:
            due = max(due, self._last_slot + self._interval - self._early)
        return due - now

    def _grant(self, now: float) -> None:
        if self._interval:
            if self._last_slot == -math.inf:
                slot = max(now, self._paused_until)  # a fresh schedule starts without credit: no burst
            else:
                # ``now - tolerance`` re-anchors a schedule that fell behind (a stall, idle workers), so that
                # late wake-ups can never bunch more than two grants together.
                slot = max(self._last_slot + self._interval, now - self._tolerance, self._paused_until)
            self._last_slot = slot
        self._granted += 1

    # -- time --

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def _now_or(self, default: float) -> float:
        """The time, or ``default`` outside a running loop (e.g. the run summary after the loop closed)."""
        try:
            return self._now()
        except RuntimeError:
            return default


def loop_clock(loop: asyncio.AbstractEventLoop) -> Callable[[], float]:
    """The run's clock: the loop's own ``time``, except on uvloop.

    uvloop's ``time()`` is libuv's cached loop time in whole milliseconds (every latency came out as 1.0, 7.0 ms; a
    1 ms step is a whole slot at R=1000): there the run reads ``time.monotonic`` (the same CLOCK_MONOTONIC,
    unrounded; the pacer hands the loop only relative sleeps, so the two clocks never meet). Any other loop keeps its
    own clock (a test's virtual-time loop included); nothing assumes what that clock is.
    """
    if type(loop).__module__.partition(".")[0] == "uvloop":
        return time.monotonic
    return loop.time


def _relative(when: float, now: float) -> str:
    if math.isinf(when) or math.isnan(when):
        return "-"
    return f"{when - now:+.4f}s" if math.isfinite(now) else f"{when:.4f}"


def leave_queue(waiters: deque[asyncio.Future[None]], turn: asyncio.Future[None]) -> None:
    """``turn`` leaves the FIFO of ``waiters`` (served, cancelled or failed); when it was the head, the next one is
    woken to lead. The queue discipline of ``Pacer`` and of ``rate.shared.SharedPacer``."""
    was_head = waiters[0] is turn
    waiters.remove(turn)
    if was_head and waiters and not waiters[0].done():
        waiters[0].set_result(None)
