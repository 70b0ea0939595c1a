"""One rate shared by many processes: start slots granted by a store that every process of the fleet asks (SPEC §12).

``SharedPacer`` is the ``Pacer`` of a process that shares its ``--rate`` with others: the same interface (``PacedRate``
wraps either), but its slots come from a ``GrantStore`` (``rate/redis_store.py``), which keeps **one** GCRA schedule
for the whole fleet, on the store's own clock:

* slots are spaced ``1/R'`` apart (``R' = R·(1 - margin)``, as the local pacer) across every process together;
* a process takes them in blocks of at most 50 ms worth of ``R`` (and never more than it has requests waiting for), so
  that a round trip to the store serves several requests; each slot comes back as a time on the store's clock, turned
  into a time on this process's clock by an offset measured on every round trip;
* each request starts at its own slot (granted up to ``early`` before it), never later than ``late`` after it: a
  slot missed by more is dropped, never spent late, so late wake-ups do not bunch up. Slots left when the process
  stops are lost, never over-spent;
* a pause (a 429) is shared: ``pause`` holds this process at once and tells the store, whose later grants all start
  after it; other processes learn of it at their next block (within 50 ms).

A request that leaves later than its slot by more than the margin's slack (it had to open a new connection: the
transport calls ``left_late``) owes the fleet a slot: this process leaves its next due slot unused, so the late start
stands for it, as ``Pacer.left_late`` moves the local schedule on.

Bounds: every start lies in ``[slot - early, slot + late]`` and the fleet's slots are ``1/R'`` apart, so any window
``T`` holds at most ``R'·(T + late + early) + 1`` starts, plus one block per process whose offset was off. With a
margin of 3% and ``late = margin/(1 - margin)/4`` (7.7 ms) that is ``0.978·R + 1`` in any 1-second window: the rest is
left for the arrival jitter of many processes sharing the CPUs (at 2% and 10 ms, 4 processes at R = 100 on a loaded
2-core machine met a 1 s window of 101, benchmarks/RESULTS.md).

The store may go away: a grant that fails is tried again (no request starts without a grant) for up to
``GrantStore.outage_s`` seconds; past that every acquirer raises ``RateStoreLost`` (an ``AbortRun``: the run stops,
exit 3, every decided record keeping its line).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bulkdelete.errors import AbortRun, BulkDeleteError
from bulkdelete.rate.pacing import leave_queue

__all__ = ["BLOCK_S", "Grant", "GrantStore", "RateStoreLost", "SharedPacer", "StoreUnavailable"]

#: A block of grants covers at most this much of the rate (SPEC §12): 5 slots at R=100, 50 at R=1000.
BLOCK_S = 0.05
_MAX_NAP = 0.25
_RETRY_FIRST_S, _RETRY_MAX_S = 0.05, 1.0  # waits between grant attempts while the store is away
_DRIFT = 1e-4  # how fast a clock offset measured once loses its worth (100 ppm: clocks drift, NTP slews)


class StoreUnavailable(BulkDeleteError):
    """The store did not answer a grant (down, unreachable, timed out): tried again until ``outage_s``."""


class RateStoreLost(AbortRun):
    """The store stayed unreachable for ``outage_s``: nothing more may start (exit 3)."""


@dataclass(frozen=True, slots=True)
class Grant:
    """A store's answer, in seconds on the store's clock: ``count`` slots from ``first``, ``1/R'`` apart.

    ``now``: the store's time when it answered; ``pause_until``: the end of the shared pause (in the past: none).
    """

    now: float
    first: float
    count: int
    pause_until: float


class GrantStore(Protocol):
    """Where the fleet's schedule lives (``RedisGrants``)."""

    @property
    def where(self) -> str:
        """The store as people may read it (``redis://host:port/db``, never a password)."""
        ...

    @property
    def outage_s(self) -> float:
        """How long a store that does not answer is waited for before the run stops, seconds."""
        ...

    async def grant(self, count: int, interval_s: float, tolerance_s: float, pause_s: float) -> Grant:
        """Extend the shared pause to ``pause_s`` from now (``0``: no pause), then take ``count`` slots (``0``: none).

        Raises ``StoreUnavailable`` when the store does not answer.
        """
        ...


class SharedPacer:
    """Start slots at ``rate`` per second for the whole fleet, FIFO within the process, from ``store``.

    :param rate: the fleet's requests per second (> 0).
    :param clock: monotonic seconds (the loop's); :param sleep: ``asyncio.sleep`` by default.
    :param margin: fraction of ``rate`` kept in reserve for timing jitter: 3%, one more than ``Pacer``'s, because a
        fleet adds jitter of its own (each process's clock offset, requests of many processes arriving together).
    """

    def __init__(
        self,
        rate: float,
        store: GrantStore,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] | None = None,
        margin: float = 0.03,
    ) -> None:
        if not (rate > 0.0 and math.isfinite(rate)):
            raise ValueError(f"a shared rate must be a finite number > 0 (got {rate!r})")
        if not 0.0 <= margin < 1.0:
            raise ValueError(f"margin must be >= 0 and < 1 (got {margin!r})")
        self._store = store
        self._clock = clock
        self._sleep = sleep
        self.rate = self.current_rate = float(rate)
        self.margin = margin
        self._interval = 1.0 / (rate * (1.0 - margin))
        self._tolerance = min(self._interval, margin / (1.0 - margin) / 2.0)  # the store's re-anchoring, as Pacer's
        self._late = margin / (1.0 - margin) / 4.0
        self._early = min(0.0005, 0.5 * self._interval)
        # As ``Pacer``'s: the spread of departure delays the margin absorbs in a 1 s window once a start may be
        # ``late`` after its slot or ``early`` before it (17.5 ms at R = 100, 22.2 ms at R = 1000).
        self._slack = max(0.0, 1.0 / (1.0 - margin) - 1.0 - (self._late + self._early + 0.5 * self._interval))
        self._owed = 0  # slots to leave unused: one per request that left later than the slack (``left_late``)
        self._block = max(1, math.floor(rate * BLOCK_S))
        self._slots: deque[float] = deque()  # granted slots, on this process's clock, in order
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._offset = 0.0  # this clock minus the store's
        self._offset_error = math.inf  # how far off ``_offset`` may be (half the round trip it was measured on)
        self._offset_at = -math.inf
        self._paused_until = -math.inf
        self._pause_start = -math.inf
        self._paused_done = 0.0
        self._lost: RateStoreLost | None = None
        self._sharing: set[asyncio.Task[None]] = set()
        self.granted = 0  # slots used
        self.dropped = 0  # slots granted but missed (too late, inside a pause, or owed): lost, never spent
        self.late = 0  # requests that left later than the slack after their slot (``left_late``)
        self.round_trips = 0  # grant calls answered

    def __repr__(self) -> str:
        return (
            f"<SharedPacer rate={self.rate:g}/s store={self._store.where} granted={self.granted} "
            f"dropped={self.dropped} late={self.late} held={len(self._slots)} round_trips={self.round_trips} "
            f"waiters={len(self._waiters)} lost={self._lost is not None}>"
        )

    @property
    def paused_s(self) -> float:
        """Seconds during which a pause (this process's or the fleet's) held this process."""
        if self._paused_until == -math.inf:
            return 0.0
        now = self._clock()
        return self._paused_done + max(0.0, min(now, self._paused_until) - self._pause_start)

    # -- pausing --

    def pause(self, seconds: float) -> None:
        """Hold every process of the fleet until ``seconds`` from now (extends a pause, never shortens it)."""
        if not (seconds >= 0.0 and math.isfinite(seconds)):
            raise ValueError(f"pause must be a finite number of seconds >= 0 (got {seconds!r})")
        self._hold_until(self._clock() + seconds)
        if seconds > 0.0:
            task = asyncio.ensure_future(self._share_pause(seconds))
            self._sharing.add(task)
            task.add_done_callback(self._sharing.discard)

    async def _share_pause(self, seconds: float) -> None:
        # This process holds the pause anyway; the others meet the same quota and will pause themselves.
        with contextlib.suppress(StoreUnavailable):
            await self._store.grant(0, self._interval, self._tolerance, seconds)

    def _hold_until(self, until: float) -> None:
        """The local record of a pause (for ``paused_s``: the union of the pause intervals)."""
        if until <= self._paused_until:
            return
        now = self._clock()
        if now >= self._paused_until:
            if self._paused_until != -math.inf:
                self._paused_done += self._paused_until - self._pause_start
            self._pause_start = now
        self._paused_until = until

    def left_late(self, granted_at: float) -> bool:
        """The request started at ``granted_at`` leaves only now (it had to open a new connection). Later than the
        slack, it owes the fleet a slot (True): this process leaves its next due slot unused, so that the late request
        stands for it instead of bunching with the starts granted meanwhile (``Pacer.left_late``'s rule)."""
        if self._clock() - granted_at <= self._slack:
            return False
        self.late += 1
        self._owed += 1
        return True

    # -- acquiring --

    def try_acquire(self) -> bool:
        """Take a held slot that is due now, when nobody waits (True); else take nothing (False)."""
        if self._waiters or self._lost is not None:
            return False
        return self._take(self._clock()) == 0.0

    async def acquire(self) -> None:
        """Wait for this request's slot; raises ``RateStoreLost`` once the store has been away for ``outage_s``."""
        if self.try_acquire():
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(turn)
        try:
            if self._waiters[0] is not turn:
                await turn  # resolved by the predecessor when it leaves the queue
            await self._lead()
        finally:
            leave_queue(self._waiters, turn)

    async def _lead(self) -> None:
        """As head of the queue: take a held slot when it is due, or fetch a block when none is held."""
        sleep = self._sleep or asyncio.sleep
        while True:
            if self._lost is not None:
                raise self._lost
            now = self._clock()
            wait = self._take(now)
            if wait == 0.0:
                return
            if wait < math.inf:
                await sleep(min(wait, _MAX_NAP))
            elif now < self._paused_until:
                await sleep(min(self._paused_until - now, _MAX_NAP))  # slots taken now would start after it anyway
            else:
                await self._fetch(min(self._block, len(self._waiters)))

    def _take(self, now: float) -> float:
        """Take the first held slot if due (returns 0.0); else seconds until it is (``inf``: none held).

        Slots missed by more than ``late``, or inside a pause, are dropped: spent late they would bunch up."""
        slots = self._slots
        while slots:
            slot = slots[0]
            if slot + self._late < now or slot < self._paused_until:
                slots.popleft()
                self.dropped += 1
                continue
            if now >= slot - self._early:
                slots.popleft()
                if self._owed:  # a late request already stands for this slot
                    self._owed -= 1
                    self.dropped += 1
                    continue
                self.granted += 1
                return 0.0
            return slot - self._early - now
        return math.inf

    async def _fetch(self, count: int) -> None:
        """Ask the store for ``count`` slots; while it does not answer, wait and ask again, up to ``outage_s``."""
        sleep = self._sleep or asyncio.sleep
        away_since: float | None = None
        backoff = _RETRY_FIRST_S
        while True:
            sent = self._clock()
            try:
                grant = await self._store.grant(count, self._interval, self._tolerance, 0.0)
            except StoreUnavailable as exc:
                now = self._clock()
                away_since = sent if away_since is None else away_since
                outage = self._store.outage_s
                if now - away_since >= outage:
                    self._lost = RateStoreLost(
                        f"rate store unreachable: {self._store.where} did not answer for {outage:g} s ({exc}); "
                        "nothing more was sent: run again with --resume to finish"
                    )
                    raise self._lost from None
                await sleep(min(backoff, max(0.0, away_since + outage - now)))
                backoff = min(2.0 * backoff, _RETRY_MAX_S)
                continue
            self._learn(grant, sent, self._clock())
            return

    def _learn(self, grant: Grant, sent: float, received: float) -> None:
        """Keep the granted slots (on this clock) and the shared pause, measuring the clock offset on the way.

        The offset is that of the round trip with the smallest uncertainty (half its duration), an old measurement
        losing ``_DRIFT`` of its worth per second, so that a slow answer (a busy loop) does not shift the slots."""
        self.round_trips += 1
        error = (received - sent) / 2.0
        if error <= self._offset_error + _DRIFT * (received - self._offset_at):
            self._offset = (sent + received) / 2.0 - grant.now
            self._offset_error, self._offset_at = error, received
        offset = self._offset
        if grant.pause_until > grant.now:
            self._hold_until(grant.pause_until + offset)
        first = grant.first + offset
        self._slots.extend(first + k * self._interval for k in range(grant.count))
