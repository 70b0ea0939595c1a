"""Rate control: the one object the engine and the transport talk to about how fast requests may start.

What the user asks for is a ``RateSpec``: ``FixedRate(50)`` (``--rate 50``), ``Unlimited()`` (``--rate 0``) or
``AutoRate()`` (``--rate auto``). ``build_rate_control`` turns it into a ``RateControl``:

* the transport takes a start slot per request (``try_acquire``, else ``await acquire``);
* the engine reports each answer: ``on_success``, or ``on_throttle`` for a 429 (or Velt ``RESOURCE_EXHAUSTED``);
  a throttle pauses every worker (``Retry-After`` when given, else a backoff that grows with the throttle streak);
* observers (progress, summary, timeline) read ``current_rate`` and ``paused_s``.

Fixed and unlimited rates differ only in the pacer's rate; ``--rate auto`` adds ``AdaptiveRate``, which moves the
pacer's rate from the same signals. A fixed rate shared with other processes (``--rate-store``, SPEC §12) swaps the
``Pacer`` for a ``SharedPacer`` (``rate/shared.py``), whose slots come from a store that every process asks.
Time is injected (``clock``), so a controller runs on a fake clock in tests.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bulkdelete.rate.adaptive import AdaptiveRate
from bulkdelete.rate.backoff import BackoffPolicy
from bulkdelete.rate.pacing import Pacer
from bulkdelete.rate.shared import GrantStore, SharedPacer

__all__ = [
    "AutoRate",
    "FixedRate",
    "PacedRate",
    "RateControl",
    "RateReadings",
    "RateSpec",
    "SlotSource",
    "StartSlots",
    "Unlimited",
    "build_rate_control",
    "parse_rate_spec",
    "per_second",
]


@dataclass(frozen=True, slots=True)
class FixedRate:
    """At most ``per_second`` request starts in any 1-second window, ~98% of it sustained (SPEC §6)."""

    per_second: float

    def __post_init__(self) -> None:
        if not (self.per_second > 0.0 and math.isfinite(self.per_second)):
            raise ValueError(f"a fixed rate must be a finite number > 0 (got {self.per_second!r}); Unlimited() for 0")

    def __str__(self) -> str:
        return f"{self.per_second:g}/s"


@dataclass(frozen=True, slots=True)
class Unlimited:
    """No pacing: only ``concurrency`` bounds the requests (a throttle still pauses every worker)."""

    def __str__(self) -> str:
        return "unlimited"


@dataclass(frozen=True, slots=True)
class AutoRate:
    """Find an undisclosed quota by probing and hold it (``AdaptiveRate``); ``initial`` req/s to start from."""

    initial: float = 10.0
    max_rate: float = 100_000.0

    def __post_init__(self) -> None:
        if not (0.0 < self.initial <= self.max_rate and math.isfinite(self.max_rate)):
            raise ValueError(f"need 0 < initial <= max_rate (got {self.initial!r}, {self.max_rate!r})")

    def __str__(self) -> str:
        return "auto"


RateSpec = FixedRate | Unlimited | AutoRate


def per_second(rate: float) -> FixedRate | Unlimited:
    """``FixedRate(rate)``, or ``Unlimited()`` for ``0`` (the CLI's convention)."""
    return Unlimited() if rate == 0.0 else FixedRate(rate)


def parse_rate_spec(text: str, *, auto_start: float | None = None) -> RateSpec:
    """``auto``, ``0`` (unlimited) or a number of requests per second; ``ValueError`` otherwise.

    ``auto_start``: the rate ``auto`` starts from (req/s), e.g. the API's documented default; None: ``AutoRate``'s.
    """
    if text.strip().lower() == "auto":
        return AutoRate() if auto_start is None else AutoRate(initial=auto_start)
    return per_second(float(text))


class StartSlots(Protocol):
    """What the transport needs: one start slot per request (a ``Pacer`` is one)."""

    def try_acquire(self) -> bool:
        """Take a start slot if one is due now and nobody waits (True); else take nothing (False)."""
        ...

    def acquire(self) -> Awaitable[None]:
        """Wait for this request's start slot (and the end of any pause)."""
        ...


class RateReadings(Protocol):
    """What observers (progress, summary, timeline) read of the pacing in force."""

    @property
    def current_rate(self) -> float:
        """The rate requests are paced to now, requests per second; ``0`` = unlimited."""
        ...

    @property
    def paused_s(self) -> float:
        """Seconds a pause held every request so far."""
        ...


class SlotSource(StartSlots, Protocol):
    """What ``PacedRate`` drives: start slots, a rate, a pause (a ``Pacer``, or a ``SharedPacer`` for a fleet)."""

    @property
    def rate(self) -> float:
        """Requests per second (``0`` = unlimited)."""
        ...

    @property
    def paused_s(self) -> float:
        """Seconds a pause held every request so far."""
        ...

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds`` from now (extends a running pause, never shortens it)."""
        ...

    def left_late(self, granted_at: float) -> bool:
        """The request granted at ``granted_at`` leaves only now (a new connection): True when it took a slot more."""
        ...


class RateControl(StartSlots, RateReadings, Protocol):
    """How fast requests may start, and how the answers move that. One per run.

    Answers are reported with their latency (start of the request, after its slot, to the end of its answer): the
    controller dates the request from it on its own clock, so that the caller reads no clock per request.
    """

    def on_success(self, latency_ms: float | None) -> None:
        """A request was answered without a throttle, ``latency_ms`` after it started (``None``: unknown)."""
        ...

    def on_throttle(self, latency_ms: float | None, retry_after: float | None) -> None:
        """A request was throttled ``latency_ms`` after it started; ``retry_after``: the server's, in seconds."""
        ...

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds`` from now (extends a running pause, never shortens it)."""
        ...


class PacedRate:
    """A ``RateControl`` over a ``Pacer`` (or a ``SharedPacer``): a fixed or unlimited rate, and the pause that
    answers a throttle.

    Throttles of requests that were already in flight when the last throttle arrived are the same burst: they
    neither lengthen the streak (and so the backoff) nor pause again, else one overshoot would grow the pause to its
    cap. A success ends the streak.
    """

    __slots__ = (
        "_backoff",
        "_last_throttle_at",
        "_pacer",
        "_rng",
        "_streak",
        "acquire",
        "clock",
        "left_late",
        "try_acquire",
    )

    def __init__(
        self, pacer: SlotSource, clock: Callable[[], float], backoff: BackoffPolicy, rng: random.Random | None = None
    ) -> None:
        self._pacer: SlotSource = pacer
        self.clock = clock
        self._backoff = backoff
        self._rng = rng if rng is not None else random.Random()
        self._streak = 0
        self._last_throttle_at = -math.inf
        # The pacer's own bound methods, not wrappers: the transport calls one of them per request, and a wrapper
        # would be one more Python frame each time.
        self.try_acquire: Callable[[], bool] = pacer.try_acquire
        self.acquire: Callable[[], Awaitable[None]] = pacer.acquire
        # Called by the transport when a request leaves only after opening a new connection (issue 20): the local
        # ``Pacer`` moves its schedule on, a ``SharedPacer`` leaves its next slot unused.
        self.left_late: Callable[[float], bool] = pacer.left_late

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._pacer!r} streak={self._streak}>"

    @property
    def current_rate(self) -> float:
        return self._pacer.rate

    @property
    def paused_s(self) -> float:
        return self._pacer.paused_s

    def on_success(self, latency_ms: float | None) -> None:
        self._streak = 0

    def on_throttle(self, latency_ms: float | None, retry_after: float | None) -> None:
        now = self.clock()
        started = now - latency_ms / 1000.0 if latency_ms is not None else now
        drain = self._adapt(now, started)
        if started < self._last_throttle_at:
            return  # in flight when the last throttle came: the same burst
        self._last_throttle_at = now
        self._streak += 1
        self._pacer.pause(max(drain, self._pause_for(retry_after)))

    def pause(self, seconds: float) -> None:
        self._pacer.pause(seconds)

    def _adapt(self, now: float, started: float) -> float:
        """What a throttle does to the rate itself (nothing, at a fixed rate); returns the pause it calls for."""
        return 0.0

    def _pause_for(self, retry_after: float | None) -> float:
        return self._backoff.pause_for(retry_after, self._streak, self._rng)


class AutoPacedRate(PacedRate):
    """``--rate auto``: ``AdaptiveRate`` moves the pacer's rate from the successes and throttles it is told of."""

    __slots__ = ("adaptive",)

    def __init__(
        self,
        pacer: Pacer,
        clock: Callable[[], float],
        backoff: BackoffPolicy,
        rng: random.Random | None = None,
        *,
        spec: AutoRate | None = None,
    ) -> None:
        super().__init__(pacer, clock, backoff, rng)
        spec = spec or AutoRate()
        self.adaptive = AdaptiveRate(pacer, initial=spec.initial, max_rate=spec.max_rate)

    def on_success(self, latency_ms: float | None) -> None:
        self._streak = 0
        now = self.clock()
        self.adaptive.on_success(now, now - latency_ms / 1000.0 if latency_ms is not None else None)

    def _adapt(self, now: float, started: float) -> float:
        return self.adaptive.on_throttle(now, started)

    def _pause_for(self, retry_after: float | None) -> float:
        if retry_after is None:
            # The rate cut (and the drain pause it computes) is the answer to a throttle; a backoff only once
            # throttles repeat with no success between them: a long pause would waste the quota being held.
            return self._backoff.delay(self._streak - 1, self._rng) if self._streak > 1 else 0.0
        return super()._pause_for(retry_after)


def build_rate_control(
    spec: RateSpec,
    *,
    clock: Callable[[], float],
    backoff: BackoffPolicy | None = None,
    rng: random.Random | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    store: GrantStore | None = None,
) -> PacedRate:
    """The controller for ``spec``. ``clock`` is monotonic seconds (the loop's); ``sleep`` defaults to asyncio's.

    ``store``: share the rate with every process on it (a ``FixedRate`` only: ``ValueError`` otherwise).
    """
    policy = backoff if backoff is not None else BackoffPolicy()
    if store is not None:
        if not isinstance(spec, FixedRate):
            raise ValueError(f"a shared rate must be a fixed rate, FixedRate(r) (got {spec!r})")
        return PacedRate(SharedPacer(spec.per_second, store, clock=clock, sleep=sleep), clock, policy, rng)
    match spec:
        case FixedRate(per_second):
            return PacedRate(Pacer(per_second, clock=clock, sleep=sleep), clock, policy, rng)
        case Unlimited():
            return PacedRate(Pacer(0, clock=clock, sleep=sleep), clock, policy, rng)
        case AutoRate():
            pacer = Pacer(spec.initial, clock=clock, sleep=sleep)
            return AutoPacedRate(pacer, clock, policy, rng, spec=spec)
    raise TypeError(f"rate must be FixedRate(r), Unlimited() or AutoRate() (got {spec!r})")
