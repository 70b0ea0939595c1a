"""``--rate auto`` finds and holds an undisclosed sliding-window quota (SPEC §6, issue 14), in simulated time.

The simulation drives the real controller (``build_rate_control(AutoRate())``: ``AdaptiveRate`` + ``Pacer`` + the
throttle pauses) on an injected clock stepped every 0.25 ms, as the engine does: a request starts whenever a worker is
free and ``try_acquire`` grants a slot; ``concurrency`` requests in flight with a random latency; a server with a
strict sliding-window quota ``Q``/1 s (a start over it gets a 429 and is not counted, as the emulator does); each
answer is reported with its latency (``on_success`` / ``on_throttle``), and a throttled id is sent again.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from bulkdelete.rate.adaptive import AdaptiveRate
from bulkdelete.rate.backoff import BackoffPolicy
from bulkdelete.rate.control import AutoPacedRate, AutoRate, build_rate_control
from bulkdelete.rate.pacing import Pacer

STEP_S = 0.00025


@dataclass
class Run:
    accepted: list[float] = field(default_factory=list)
    requests: int = 0
    throttled: int = 0
    ended: float = 0.0

    def share_of_quota(self, quota: float, start: float, end: float) -> float:
        return sum(1 for t in self.accepted if start <= t < end) / (end - start) / quota


@dataclass
class Server:
    """A strict sliding window: at most ``quota(now)`` accepted starts in any ``(now - 1, now]``."""

    quota: Callable[[float], int]
    window: deque[float] = field(default_factory=deque)

    def admit(self, now: float) -> bool:
        while self.window and self.window[0] <= now - 1.0:
            self.window.popleft()
        if len(self.window) >= self.quota(now):
            return False
        self.window.append(now)
        return True


def simulate(
    quota: int | Callable[[float], int],
    seconds: float = 60.0,
    *,
    ids: int | None = None,
    retry_after: float | None = None,
    concurrency: int = 64,
    latency: tuple[float, float] = (0.005, 0.03),
    seed: int = 0,
    initial: float = 10.0,
) -> tuple[Run, AutoPacedRate]:
    """Run for ``seconds``, or until ``ids`` ids were accepted (each throttled one sent again)."""
    rng = random.Random(seed)
    clock = [0.0]
    spec = AutoRate(initial=initial)
    control = build_rate_control(spec, clock=lambda: clock[0], backoff=BackoffPolicy(), rng=random.Random(seed))
    assert isinstance(control, AutoPacedRate)
    server = Server(quota if callable(quota) else (lambda _now: quota))
    run = Run()
    inflight: list[tuple[float, int, bool, float]] = []  # (answer time, seq, accepted, start time)
    todo = ids if ids is not None else math.inf
    while (now := clock[0]) < seconds and (ids is None or len(run.accepted) < ids):
        while inflight and inflight[0][0] <= now:
            _, _, ok, started = heapq.heappop(inflight)
            latency_ms = (now - started) * 1000.0
            if ok:
                control.on_success(latency_ms)
            else:
                todo += 1
                control.on_throttle(latency_ms, retry_after)
        while todo > 0 and len(inflight) < concurrency and control.try_acquire():
            todo -= 1
            run.requests += 1
            ok = server.admit(now)
            if ok:
                run.accepted.append(now)
            else:
                run.throttled += 1
            heapq.heappush(inflight, (now + rng.uniform(*latency), run.requests, ok, now))
        clock[0] = now + STEP_S
    run.ended = clock[0]
    return run, control


@pytest.mark.parametrize("quota", [50, 150, 1000])
@pytest.mark.parametrize("retry_after", [None, 1.0])
def test_an_undisclosed_quota_is_found_and_held(quota: int, retry_after: float | None) -> None:
    run, control = simulate(quota, retry_after=retry_after, seed=quota)
    assert run.share_of_quota(quota, 20.0, 60.0) >= 0.9
    assert run.throttled <= 0.05 * run.requests
    assert control.adaptive.ceiling == pytest.approx(quota, rel=0.05)


@pytest.mark.parametrize(("quota", "goal"), [(60, 0.95), (150, 0.95), (1000, 0.9)])
def test_a_whole_run_of_3000_ids_holds_the_quota_from_its_start(quota: int, goal: float) -> None:
    """Issue 14: 3,000 ids against 150/s in >= 0.9 of the ideal time (slow start included), >= 0.85 at 60 and 1000;
    starting from 50/s as ``bulkdelete coveo delete --rate auto`` does (its default rate): 0.973, 0.976, 0.925."""
    run, control = simulate(quota, 120.0, ids=3000, latency=(0.002, 0.01), seed=7, initial=50.0)
    assert len(run.accepted) == 3000
    assert 3000 / quota / run.ended >= goal
    assert run.throttled <= 0.05 * run.requests
    assert control.adaptive.cuts <= 1 + run.ended / 12.0  # the exit from slow start, then at most one probe per cycle


def test_a_lowered_quota_is_followed_down() -> None:
    run, _ = simulate(lambda now: 400 if now < 30 else 200, 70.0, retry_after=1.0)
    assert run.share_of_quota(200, 45.0, 70.0) >= 0.85
    assert run.throttled <= 0.05 * run.requests


def test_slow_start_doubles_per_round_trip_and_is_capped_by_what_is_really_sent() -> None:
    adaptive = AdaptiveRate(initial=10.0)
    t = 0.0
    while t < 0.5:  # answers 2 ms after their start, as fast as the rate allows
        t += 1.0 / adaptive.rate
        adaptive.on_success(t + 0.002, t)
    assert adaptive.phase == "slow-start"
    assert 10.0 * 2**5 <= adaptive.rate <= 10.0 * 2**11  # doubling at most every 50 ms: 10 times in 0.5 s
    fast = adaptive.rate
    adaptive.on_success(5.0, 4.998)  # a long quiet stretch: the rate may not outgrow 2x what is sent
    assert adaptive.rate == fast


def test_slow_start_ends_at_what_the_api_accepted_in_the_second_before_the_refusal() -> None:
    pacer = Pacer(10)
    adaptive = AdaptiveRate(pacer, initial=1000.0, plateau=0.96)
    starts = [0.5 + (k + 0.5) / 120 for k in range(120)]  # 120 accepted starts in the second before 1.5
    for start in starts[:118]:  # 118 answered by the throttle, 2 still in flight
        adaptive.on_success(start + 0.002, start)
    pause = adaptive.on_throttle(1.51, 1.5)
    assert adaptive.ceiling == pytest.approx(118)
    assert adaptive.rate == pytest.approx(0.96 * 118)
    assert pacer.rate == adaptive.rate  # applied to the pacer
    assert pause >= 0.0
    adaptive.on_success(1.52, starts[118])  # in flight at the cut, accepted after all: W grows to match
    adaptive.on_success(1.53, starts[119])
    assert adaptive.ceiling == pytest.approx(120)
    assert adaptive.rate == pytest.approx(0.96 * 120, rel=0.001)  # and the rate with it (the cubic has begun)


def test_the_drain_pause_keeps_every_window_within_the_quota() -> None:
    adaptive = AdaptiveRate(initial=10.0)
    starts = [1.0 - 0.3 * 0.5**k for k in range(60)]  # a steep ramp: most of the 60 starts in the last 50 ms
    for start in sorted(starts):
        adaptive.on_success(start + 0.001, start)
    pause = adaptive.on_throttle(1.002, 1.001)
    quota, rate = adaptive.ceiling, adaptive.rate * 0.98  # the pacer sends 2% under its rate
    assert quota is not None and 0.0 < pause < 1.0
    resumed = [1.002 + pause + k / rate for k in range(int(2 * rate))]
    everything = sorted(starts + resumed)
    for end in everything:
        assert sum(1 for t in everything if end - 1.0 < t <= end) <= quota + 1e-9


def leave_slow_start(adaptive: AdaptiveRate, per_second: int = 100) -> float:
    """A steady ``per_second`` for 2 s, then a throttle; returns the time."""
    for k in range(2 * per_second):
        adaptive.on_success(k / per_second + 0.002, k / per_second)
    adaptive.on_throttle(2.0, 1.999)
    assert adaptive.phase == "probe"
    return 2.0


def test_a_burst_of_throttles_cuts_once_and_a_steady_probe_needs_no_drain() -> None:
    adaptive = AdaptiveRate(initial=1000.0)
    leave_slow_start(adaptive)
    for k in range(200):  # a steady 100/s
        adaptive.on_success(3.0 + k / 100 + 0.002, 3.0 + k / 100)
    cuts, rate = adaptive.cuts, adaptive.rate
    pause = adaptive.on_throttle(5.0, 4.995)
    assert adaptive.cuts == cuts + 1
    assert adaptive.ceiling == pytest.approx(min(rate, 100))
    assert adaptive.rate == pytest.approx(0.7 * min(rate, 100))
    assert pause < 0.02  # a uniform window has room for a slower rate at once (after one slot)
    for k in range(10):
        assert adaptive.on_throttle(5.0 + k * 0.001, 4.99) == 0.0  # sent before the cut: old news
    assert adaptive.cuts == cuts + 1
    adaptive.on_throttle(5.2, 5.1)  # sent after the cut: a new event
    assert adaptive.cuts == cuts + 2


def test_recovery_is_fast_to_the_plateau_then_concave_to_the_ceiling_and_convex_beyond() -> None:
    adaptive = AdaptiveRate(initial=1000.0, probe_s=12.0)
    t = leave_slow_start(adaptive)
    for _ in range(150):  # past the second after the end of slow start, when a throttle only drains again
        t += 0.01
        adaptive.on_success(t, t - 0.002)
    cuts = adaptive.cuts
    adaptive.on_throttle(t, t - 0.002)
    assert adaptive.cuts == cuts + 1
    ceiling = adaptive.ceiling
    assert ceiling is not None
    rates = {}
    while t < 32.0:
        t += 0.01
        adaptive.on_success(t, t - 0.002)
        rates[round(t, 2)] = adaptive.rate
    cut = 3.5
    assert rates[cut + 0.5] == pytest.approx(0.96 * ceiling, rel=0.01)  # back near W within half a second
    assert 0.99 * ceiling < rates[cut + 8.0] < ceiling  # concave: most of the cycle within 1% of W
    assert rates[cut + 12.5] == pytest.approx(ceiling, rel=0.001)  # flat at W
    assert rates[cut + 26.0] > 1.02 * ceiling  # then probing convexly beyond it


def test_the_rate_stays_within_its_bounds() -> None:
    adaptive = AdaptiveRate(initial=2.0, min_rate=1.0, max_rate=3.0)
    for k in range(1, 2000):
        adaptive.on_success(k * 0.01)
    assert adaptive.rate == 3.0
    for k in range(10):
        adaptive.on_throttle(100.0 + 2 * k)
    assert adaptive.rate == 1.0
    assert "rate=1.0/s" in repr(adaptive)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="min_rate"):
        AdaptiveRate(initial=0.5, min_rate=1.0)
    with pytest.raises(ValueError, match="beta"):
        AdaptiveRate(beta=0.99, plateau=0.9)
