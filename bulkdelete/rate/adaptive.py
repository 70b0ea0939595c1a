"""``--rate auto``: find an undisclosed request quota by probing, and hold it.

The goal (SPEC §6, issue 14): at least 85% of the quota sustained with at most 5% of requests throttled, and at least
90% over a whole run of 3,000 ids at 150/s, the start included. It follows TCP and CUBIC (as botocore's adaptive retry
mode does) in *shape*, around ``W``, the rate at which the API last throttled:

1. **slow start** (``W`` unknown): the rate doubles every round trip (at most every 50 ms), from ``initial``
   (10 req/s; the CLI starts from the command's default rate, 50/s for Coveo), never beyond twice the success rate
   just measured over the last round trip or 50 ms (so a rate the workers cannot use is not hoarded);
2. **cut** on a throttle: ``W`` := what the API accepted in the second before the throttle (the accepted *starts* in
   that window, revised upwards as requests that were in flight at the cut come back accepted); the pacer keeps its
   margin under ``W`` for timing jitter, as under a fixed ``--rate W``. Out of slow start that measurement is the
   quota: the rate goes straight to ``plateau·W``. A later throttle is a probe that went too far: ``W`` stays within
   ``[beta·rate, rate]`` and the rate drops to ``beta·W`` (``beta`` = 0.7, CUBIC's) so that the quota window drains;
3. **drain**: a window filled by a steep ramp stays full until the ramp slides out of it. ``on_throttle`` returns the
   pause that lets the new rate start without overfilling any 1-second window that still holds accepted starts
   (~0.6 s after slow start, none after a probe at a steady rate). Throttles of requests sent within a second of
   the end of slow start (the window is still the ramp's) only drain again;
4. **recover** fast (doubling per second) to ``plateau·W`` (96% of it) ...
5. ... then **probe** on CUBIC's curve, ``rate = W·(1 + c·(t - K)³)``: concave from ``plateau·W`` up to ``W``
   (reached after ``K`` = ``probe_s``, 12 s), flat there and convex beyond, so that the rate spends most of a cycle
   within 1% of ``W``, a raised quota is still found, and a steady one costs one throttle per cycle.
   The cycle stretches to 20× the pause that the last throttle cost (up to 60 s): with ``Retry-After: 2``
   probing every 12 s would spend 15% of the time paused.

A burst of 429s from the same moment counts once: a throttle for a request started before the last cut (when
the caller says so with ``started``), or within ``cooldown`` seconds of it, changes nothing.
Time is injected: every method takes ``now`` (the loop's monotonic seconds); nothing here reads a clock.
"""

from __future__ import annotations

import math
from collections import deque

from bulkdelete.rate.pacing import Pacer

__all__ = ["AdaptiveRate"]

_LN2 = math.log(2.0)
_WINDOW_S = 1.0  # the quota window assumed for measurements and the drain, seconds
_HISTORY_S = 3.0  # accepted starts are kept this long: long enough for a request in flight at a cut to come back
_MIN_DOUBLING_S = 0.05  # slow start doubles at most this often (a loopback round trip is ~1 ms)
_RATE_SPAN_S = 0.05  # in slow start the success rate is measured over this span (or the round trip if longer)
_GAP_FACTOR = 20.0  # a probe cycle lasts at least this many times the silence that followed the last throttle
_MAX_PROBE_S = 60.0


class AdaptiveRate:
    """Drives a rate (requests per second) from success and throttle signals; applies it to ``pacer``.

    :param pacer: the pacer to drive (``set_rate`` on every change), or ``None`` to only compute ``rate``.
    :param initial: starting rate, req/s.
    :param min_rate: / ``max_rate``: bounds of the rate, req/s.
    :param beta: multiplicative decrease on a throttle after slow start.
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
        "_cut_rate",
        "_exit_at",
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
        "_srtt",
        "_started",
        "_throttles",
        "_updated_at",
        "_window_count",
        "_window_end",
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
        self._probe_c = (1.0 - plateau) / probe_s**3  # the cubic rises from plateau·W to W in probe_s seconds
        self._last_success = -math.inf
        self._worst_gap = 0.0  # the longest silence between successes since the last cut
        # The pacer sends at rate·(1 - margin): a measured (server-side) rate converts back with this factor. ``W``
        # itself is not scaled: the quota held as ``--rate W`` would hold it, with the pacer's margin for jitter.
        self._scale = 1.0 / (1.0 - pacer.margin) if pacer is not None else 1.0
        self._rate = initial
        self._ceiling: float | None = None  # W, in pacer-rate units; None until the first throttle
        self._cut_at = -math.inf
        self._cut_rate = math.inf  # the rate when the last cut came: W is never revised beyond it
        self._exit_at = -math.inf  # when slow start ended
        self._window_count = 0  # accepted starts in the second before the last refusal, as they come back
        self._window_end = -math.inf  # when the API refused: the start of the throttled request
        self._plateau_at: float | None = None  # when the recovery reached plateau·W
        self._updated_at: float | None = None
        self._accepted: deque[float] = deque()  # completion times of the successes in the last second
        self._started: deque[float] = deque()  # start times of the successes, over the last _HISTORY_S
        self._srtt: float | None = None  # smoothed round trip (start to answer) of successes, seconds
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

    @property
    def phase(self) -> str:
        """``slow-start``, ``recover`` or ``probe``."""
        if self._ceiling is None:
            return "slow-start"
        return "probe" if self._plateau_at is not None else "recover"

    def __repr__(self) -> str:
        ceiling = f"{self._ceiling:.1f}" if self._ceiling is not None else "-"
        return f"<AdaptiveRate rate={self._rate:.1f}/s W={ceiling} phase={self.phase} cuts={self._throttles}>"

    def on_success(self, now: float, started: float | None = None) -> None:
        """A request finished without being throttled at ``now`` (seconds); ``started``: when it was sent."""
        self._accepted.append(now)
        self._forget(now)
        if started is not None:
            self._learn_from_start(now, started)
        if self._ceiling is not None and self._plateau_at is None:
            self._price_the_throttle(now - self._last_success)  # recovering: the pause shows up as a silence
        self._last_success = now
        self._grow(now)
        self._apply()

    def on_throttle(self, now: float, started: float | None = None) -> float:
        """A request was throttled (429) at ``now``; ``started`` is when it was sent, if known.

        Returns the pause (seconds, ``0`` for none) that lets the quota window drain before the new rate starts.
        """
        self._forget(now)
        same_burst = started < self._cut_at if started is not None else now - self._cut_at < self._cooldown
        if same_burst:
            return 0.0
        if started is not None and self._exit_at < started < self._exit_at + _WINDOW_S:
            # The window filled by the slow-start ramp, with requests that were in flight at the exit counted in it
            # since: not a new event, only a longer drain.
            return self._drain_s(now)
        slow_start = self._ceiling is None
        # The API refused the request when it arrived: the quota window then held what was accepted in the second
        # before its start.
        end = self._window_end = started if started is not None else now
        self._window_count = sum(1 for t in self._started if end - _WINDOW_S < t <= end)
        measured = float(max(self._window_count, len(self._accepted)))
        # Out of slow start the measurement stands; a probe's throttle cuts W by beta at most (one odd second
        # must not undo what was found).
        floor = 0.0 if slow_start else self._beta * self._rate
        self._ceiling = max(min(self._rate, max(measured, floor)), self._min_rate)
        self._cut_rate = self._rate
        self._cut_at = now
        self._updated_at = now
        self._worst_gap = 0.0
        self._throttles += 1
        if slow_start:  # the measurement is the quota: hold it, probe from there
            self._rate = max(self._min_rate, self._plateau * self._ceiling)
            self._plateau_at = self._exit_at = now
        else:
            self._rate = max(self._min_rate, self._beta * self._ceiling)
            self._plateau_at = None
        self._apply()
        return self._drain_s(now)

    def _learn_from_start(self, now: float, started: float) -> None:
        """Keep the start times (what a quota window counts), the round trip, and revise ``W`` upwards with the
        requests that were in flight when the last cut came and were accepted after all."""
        rtt = now - started
        self._srtt = rtt if self._srtt is None else 0.875 * self._srtt + 0.125 * rtt
        history = self._started
        history.append(started)
        horizon = now - _HISTORY_S
        while history and history[0] <= horizon:
            history.popleft()
        ceiling = self._ceiling
        if ceiling is None or not (self._window_end - _WINDOW_S < started <= self._window_end):
            return
        self._window_count += 1
        revised = min(float(self._window_count), self._cut_rate)
        if revised > ceiling:
            if self._plateau_at is not None and self._rate < self._plateau * revised:
                self._rate = self._plateau * revised
            self._ceiling = revised

    def _drain_s(self, now: float) -> float:
        """The earliest start for the new rate such that no 1-second window overfills with the accepted starts
        still in it (a strict sliding window of ``W``). Resuming at ``r'`` from ``now + p``, the window that ends
        just before the start ``s_i`` (the i-th oldest of ``n``) slides out holds ``n - i`` old starts plus
        ``r'·(s_i + 1 - now - p)`` new ones: ``p`` is the least that keeps every such count within ``W``."""
        assert self._ceiling is not None
        starts = sorted(t for t in self._started if now - _WINDOW_S < t <= now)
        n = len(starts)
        # The window was full when the API said no: what it held is the quota (W is kept lower when the rate was).
        quota = max(n, self._ceiling)
        sending = self._rate / self._scale
        resume = now
        for i, start in enumerate(starts):
            resume = max(resume, start + _WINDOW_S - (quota - (n - i)) / sending)
        return resume - now

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
        # hoarded (the cap limits growth only; it never cuts the rate). In slow start the success rate is
        # measured over the last round trip (at least 50 ms, one doubling: over 0.1 s the cap held the ramp to one
        # doubling per 0.1 s, measured in the simulation): over a whole second it lags a doubling rate.
        cap = max(self._rate, 2.0 * self._success_rate(now) * self._scale)
        self._rate = max(self._min_rate, min(grown, cap, self._max_rate))

    def _success_rate(self, now: float) -> float:
        if self._ceiling is not None:
            return len(self._accepted) / _WINDOW_S
        span = max(_RATE_SPAN_S, self._srtt or 0.0)
        count = 0
        for t in reversed(self._accepted):
            if t <= now - span:
                break
            count += 1
        return count / span

    def _target(self, now: float, dt: float) -> float:
        """The rate after ``dt`` more seconds of success, by phase."""
        if self._ceiling is None:  # slow start: doubling per round trip
            return self._rate * math.exp(_LN2 * dt / max(_MIN_DOUBLING_S, self._srtt or 0.0))
        if self._plateau_at is None:
            doubled = self._rate * math.exp(_LN2 * dt)
            if doubled < self._plateau * self._ceiling:
                return doubled  # recovery
            self._plateau_at = now
        # CUBIC's curve: concave from plateau·W up to W (reached after probe_s), flat there, convex beyond.
        t = now - self._plateau_at - self._probe_s
        return self._ceiling * (1.0 + self._probe_c * t**3)

    def _forget(self, now: float) -> None:
        horizon = now - _WINDOW_S
        accepted = self._accepted
        while accepted and accepted[0] <= horizon:
            accepted.popleft()

    def _apply(self) -> None:
        if self._pacer is not None:
            self._pacer.set_rate(self._rate)
