"""``--rate auto`` finds and holds an undisclosed sliding-window quota (SPEC §6), in simulated time.

The simulation is a discrete-event model of the engine: an ideal pacer (slots ``1/(rate·0.98)`` apart, a
global pause), ``concurrency`` requests in flight with a random latency, a server with a strict sliding-window
quota ``Q``/1 s (a start over it gets a 429 and is not counted, as the emulator does), and the engine's
reaction to a 429: ``on_throttle`` then a pause of ``Retry-After`` or the backoff of the throttle streak.
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
from bulkdelete.rate.pacing import Pacer


@dataclass
class Run:
    accepted: list[float] = field(default_factory=list)
    requests: int = 0
    throttled: int = 0

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
    retry_after: float | None = None,
    concurrency: int = 64,
    seed: int = 0,
) -> tuple[Run, AdaptiveRate]:
    rng = random.Random(seed)
    pacer = Pacer(10)
    adaptive = AdaptiveRate(pacer)
    server = Server(quota if callable(quota) else (lambda _now: quota))
    policy, run = BackoffPolicy(), Run()
    inflight: list[tuple[float, int, bool]] = []  # (completion time, seq, accepted)
    now = last_slot = -math.inf
    paused_until, streak = 0.0, 0
    while True:
        send_at = max(last_slot + 1.0 / (pacer.rate * (1.0 - pacer.margin)), paused_until, now)
        if inflight and (inflight[0][0] <= send_at or len(inflight) >= concurrency):
            now, _, ok = heapq.heappop(inflight)
            if ok:
                streak = 0
                adaptive.on_success(now)
            else:
                streak += 1
                adaptive.on_throttle(now)
                # As the engine does with --rate auto: Retry-After when given, else a short full-jitter pause.
                pause = policy.delay(streak, rng) if retry_after is None else policy.pause_for(retry_after, streak, rng)
                paused_until = max(paused_until, now + pause)
            continue
        if send_at >= seconds:
            return run, adaptive
        now = last_slot = send_at
        ok = server.admit(now)
        run.requests += 1
        if ok:
            run.accepted.append(now)
        else:
            run.throttled += 1
        heapq.heappush(inflight, (now + rng.uniform(0.005, 0.03), run.requests, ok))


@pytest.mark.parametrize("quota", [50, 150, 1000])
@pytest.mark.parametrize("retry_after", [None, 1.0])
def test_an_undisclosed_quota_is_found_and_held(quota: int, retry_after: float | None) -> None:
    run, adaptive = simulate(quota, retry_after=retry_after, seed=quota)
    assert run.share_of_quota(quota, 20.0, 60.0) >= 0.85
    assert run.throttled <= 0.05 * run.requests
    assert adaptive.ceiling == pytest.approx(quota / 0.98, rel=0.1)


def test_a_lowered_quota_is_followed_down() -> None:
    run, _ = simulate(lambda now: 400 if now < 30 else 200, 70.0, retry_after=1.0)
    assert run.share_of_quota(200, 45.0, 70.0) >= 0.85
    assert run.throttled <= 0.05 * run.requests


def test_slow_start_doubles_per_second_and_is_capped_by_what_is_really_sent() -> None:
    adaptive = AdaptiveRate(initial=10.0)
    for k in range(1, 101):  # 10 req/s worth of successes over 1 s
        adaptive.on_success(k / 100)
    assert adaptive.rate == pytest.approx(20.0, rel=0.05)
    adaptive.on_success(5.0)  # a long quiet stretch: the rate may not outgrow 2x what is sent
    assert adaptive.rate == pytest.approx(20.0, rel=0.05)


def test_a_burst_of_throttles_cuts_once() -> None:
    pacer = Pacer(10)
    adaptive = AdaptiveRate(pacer, initial=100.0, cooldown=1.0)
    for k in range(98):
        adaptive.on_success(1.0 + k / 98)  # 98 accepted in the last second: W = 98 / 0.98 = 100
    for k in range(10):
        adaptive.on_throttle(2.0 + k * 0.01)
    assert adaptive.cuts == 1
    assert adaptive.ceiling == pytest.approx(100.0, rel=0.02)
    assert adaptive.rate == pytest.approx(70.0, rel=0.02)
    assert pacer.rate == adaptive.rate  # applied to the pacer
    adaptive.on_throttle(2.5, started=1.9)  # sent before the cut: old news
    assert adaptive.cuts == 1
    adaptive.on_throttle(2.6, started=2.1)  # sent after the cut: a new event
    assert adaptive.cuts == 2


def test_recovery_is_fast_to_the_plateau_then_slow_around_the_ceiling() -> None:
    adaptive = AdaptiveRate(initial=100.0, probe_s=12.0)
    t = 0.0
    for _ in range(100):
        t += 0.01
        adaptive.on_success(t)
    adaptive.on_throttle(t)
    ceiling = adaptive.ceiling
    assert ceiling is not None
    rates = {}
    while t < 20.0:
        t += 0.01
        adaptive.on_success(t)
        rates[round(t, 2)] = adaptive.rate
    assert rates[1.5] == pytest.approx(0.96 * ceiling, rel=0.01)  # back near W within half a second
    assert rates[10.0] < ceiling  # plateau: still under the last throttle point
    assert rates[20.0] > 1.1 * ceiling  # then probing convexly beyond it


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
