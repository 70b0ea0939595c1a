"""``--rate auto``: find an undisclosed request quota by probing, and hold it.

The goal (SPEC §6): at least 85% of the quota sustained with at most 5% of requests throttled. Plain AIMD
does not get there against a strict sliding-window quota ``Q``/1 s: its sawtooth between ``0.7·Q`` and ``Q``
averages ~85% before the cost of the pause that every 429 imposes on all workers. So this follows CUBIC (as
botocore's adaptive retry mode does) in its *shape*, around ``W``, the rate at which the API last throttled:

1. **slow start** (``W`` unknown): the rate doubles per second of successes, from ``initial`` (10 req/s);
2. **cut** on a throttle: ``W`` := the rate the API actually *accepted* over the last second (the success
   count, scaled by the pacer's margin), no less than ``beta·rate`` and no more than ``rate``; the rate drops
   to ``beta·W`` (``beta`` = 0.7, CUBIC's) so that the quota window drains;
3. **recover** fast (doubling per second) to ``plateau·W`` (96% of it) ...
4. ... then **probe** on a cubic, ``rate = W·(plateau + c·t³)``: flat near ``W`` (reached after ``probe_s``,
   12 s) and convex beyond, so a raised quota is found while a steady one costs one throttle per cycle.
   The cycle stretches to 20× the pause that the last throttle cost (up to 60 s): with ``Retry-After: 2``
   probing every 12 s would spend 15% of the time paused.

A burst of 429s from the same moment counts once: a throttle for a request started before the last cut (when
the caller says so with ``started``), or within ``cooldown`` seconds of it, changes nothing. Growth never
outruns twice the measured success rate (botocore's cap), so a rate the workers cannot use is not hoarded.
Time is injected: every method takes ``now`` (the loop's monotonic seconds); nothing here reads a clock.
"""

from __future__ import annotations

import math
from collections import deque

from bulkdelete.rate.pacing import Pacer

__all__ = ["AdaptiveRate"]

_DOUBLING = math.log(2.0)  # growth exponent per second in slow start and recovery
_WINDOW_S = 1.0  # success-rate measurement window, seconds
_GAP_FACTOR = 20.0  # a probe cycle lasts at least this many times the silence that followed the last throttle
_MAX_PROBE_S = 60.0


class AdaptiveRate:
    """Drives a rate (requests per second) from success and throttle signals; applies it to ``pacer``.

    :param pacer: the pacer to drive (``set_rate`` on every change), or ``None`` to only compute ``rate``.
    :param initial: starting rate, req/s.
    :param min_rate: / ``max_rate``: bounds of the rate, req/s.
    :param beta: multiplicative decrease on a throttle.
    :param plateau: fraction of ``W`` to which the rate recovers quickly after a cut.
    :param probe_s: seconds spent probing from ``plateau·W`` back up to ``W``.
    :param cooldown: seconds after a cut during which further throttles count as the same event.
    """

    __slots__ = (
        "_accepted",
        "_beta",
        "_ceiling",
        "_cooldown",
        "_cut_at",
        "_last_success",
        "_max_rate",
        "_min_rate",
        "_pacer",
        "_plateau",
        "_plateau_at",
        "_probe_c",
        "_probe_s",
        "_rate",
        "_scale",
        "_throttles",
        "_updated_at",
        "_worst_gap",
    )

    def __init__(
        self,
        pacer: Pacer | None = None,
        *,
        initial: float = 10.0,
        min_rate: float = 1.0,
        max_rate: float = 100_000.0,
        beta: float = 0.7,
        plateau: float = 0.96,
        probe_s: float = 12.0,
        cooldown: float = 1.0,
    ) -> None:
        if not 0.0 < min_rate <= initial <= max_rate:
            raise ValueError(f"need 0 < min_rate <= initial <= max_rate (got {min_rate}, {initial}, {max_rate})")
        if not (0.0 < beta < plateau <= 1.0 and probe_s > 0.0 and cooldown >= 0.0):
            raise ValueError("need 0 < beta < plateau <= 1, probe_s > 0 and cooldown >= 0")
        self._pacer = pacer
        self._min_rate, self._max_rate = min_rate, max_rate
        self._beta, self._plateau, self._cooldown = beta, plateau, cooldown
        self._probe_s = probe_s
        self._probe_c = (1.0 - plateau) / probe_s**3  # the cubic reaches W after probe_s seconds
        self._last_success = -math.inf
        self._worst_gap = 0.0  # the longest silence between successes since the last cut
        # The pacer sends at rate·(1 - margin): a measured (server-side) rate converts back with this factor.
        self._scale = 1.0 / (1.0 - pacer.margin) if pacer is not None else 1.0
        self._rate = initial
        self._ceiling: float | None = None  # W, in pacer-rate units; None until the first throttle
        self._cut_at = -math.inf
        self._plateau_at: float | None = None  # when the recovery reached plateau·W
        self._updated_at: float | None = None
        self._accepted: deque[float] = deque()  # completion times of the successes in the last second
        self._throttles = 0  # throttle events that cut the rate
        self._apply()

    @property
    def rate(self) -> float:
        """The current rate, requests per second."""
        return self._rate

    @property
    def ceiling(self) -> float | None:
        """``W``: the rate at which the API last throttled (req/s), ``None`` before the first throttle."""
        return self._ceiling

    @property
    def cuts(self) -> int:
        """How many throttle events cut the rate (bursts counted once)."""
        return self._throttles

    def __repr__(self) -> str:
        ceiling = f"{self._ceiling:.1f}" if self._ceiling is not None else "-"
        phase = "slow-start" if self._ceiling is None else ("probe" if self._plateau_at is not None else "recover")
        return f"<AdaptiveRate rate={self._rate:.1f}/s W={ceiling} phase={phase} cuts={self._throttles}>"

    def on_success(self, now: float) -> None:
        """A request finished without being throttled at ``now`` (seconds): let the rate grow."""
        self._accepted.append(now)
        self._forget(now)
        if self._ceiling is not None and self._plateau_at is None:
            self._price_the_throttle(now - self._last_success)  # recovering: the pause shows up as a silence
        self._last_success = now
        self._grow(now)
        self._apply()

    def on_throttle(self, now: float, started: float | None = None) -> None:
        """A request was throttled (429) at ``now``; ``started`` is when it was sent, if known."""
        self._forget(now)
        same_burst = started < self._cut_at if started is not None else now - self._cut_at < self._cooldown
        if same_burst:
            return
        measured = len(self._accepted) / _WINDOW_S * self._scale
        ceiling = min(self._rate, max(measured, self._beta * self._rate))
        self._ceiling = ceiling
        self._rate = max(self._min_rate, self._beta * ceiling)
        self._cut_at = now
        self._plateau_at = None
        self._updated_at = now
        self._worst_gap = 0.0
        self._throttles += 1
        self._apply()

    def _price_the_throttle(self, gap: float) -> None:
        """Stretch the next probe when a throttle was expensive.

        ``gap`` is a silence between two successes during the recovery: the pause every worker took (a
        ``Retry-After`` of 2 s, a long backoff). Probing ``W`` costs about one such pause per cycle, so the
        cycle lasts at least ``_GAP_FACTOR`` pauses (up to ``_MAX_PROBE_S``): a throttle then costs no more
        than ~5% of the time.
        """
        if gap <= self._worst_gap:
            return
        self._worst_gap = gap
        probe_s = min(max(self._probe_s, _GAP_FACTOR * gap), _MAX_PROBE_S)
        self._probe_c = (1.0 - self._plateau) / probe_s**3

    def _grow(self, now: float) -> None:
        last, self._updated_at = self._updated_at, now
        if last is None or now <= last:
            return
        grown = self._target(now, now - last)
        # botocore's cap: never more than twice what is really being sent, so that idle capacity is not
        # hoarded (the cap limits growth only; it never cuts the rate).
        cap = max(self._rate, 2.0 * len(self._accepted) / _WINDOW_S * self._scale)
        self._rate = max(self._min_rate, min(grown, cap, self._max_rate))

    def _target(self, now: float, dt: float) -> float:
        """The rate after ``dt`` more seconds of success, by phase."""
        doubled = self._rate * math.exp(_DOUBLING * dt)
        if self._ceiling is None:
            return doubled  # slow start
        floor = self._plateau * self._ceiling
        if self._plateau_at is None:
            if doubled < floor:
                return doubled  # recovery
            self._plateau_at = now
        t = now - self._plateau_at
        return self._ceiling * (self._plateau + self._probe_c * t**3)  # probe

    def _forget(self, now: float) -> None:
        horizon = now - _WINDOW_S
        accepted = self._accepted
        while accepted and accepted[0] <= horizon:
            accepted.popleft()

    def _apply(self) -> None:
        if self._pacer is not None:
            self._pacer.set_rate(self._rate)
