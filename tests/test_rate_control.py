"""The rate-control protocol (``bulkdelete.rate.control``) on an injected clock: specs, pauses, streaks, auto."""

from __future__ import annotations

import random

import pytest

from bulkdelete import RunOptions
from bulkdelete.rate.backoff import BackoffPolicy
from bulkdelete.rate.control import (
    AutoPacedRate,
    AutoRate,
    FixedRate,
    RateControl,
    Unlimited,
    build_rate_control,
    parse_rate_spec,
    per_second,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(spec: FixedRate | Unlimited | AutoRate, clock: Clock, policy: BackoffPolicy | None = None) -> RateControl:
    return build_rate_control(spec, clock=clock, backoff=policy or BackoffPolicy(), rng=random.Random(3))


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("auto", AutoRate()),
        (" AUTO ", AutoRate()),
        ("0", Unlimited()),
        ("50", FixedRate(50.0)),
        ("0.5", FixedRate(0.5)),
    ],
)
def test_rate_specs_parse_from_the_command_line_form(text: str, spec: object) -> None:
    assert parse_rate_spec(text) == spec


def test_auto_starts_where_it_is_told() -> None:
    assert parse_rate_spec("auto", auto_start=50.0) == AutoRate(initial=50.0)
    assert parse_rate_spec("20", auto_start=50.0) == FixedRate(20.0)


def test_specs_refuse_nonsense_and_options_refuse_a_bare_number() -> None:
    with pytest.raises(ValueError, match="Unlimited"):
        FixedRate(0.0)
    with pytest.raises(ValueError, match="initial"):
        AutoRate(initial=0.0)
    with pytest.raises(TypeError, match="FixedRate"):
        RunOptions(rate=50)  # type: ignore[arg-type]
    assert per_second(0) == Unlimited() and per_second(7) == FixedRate(7.0)
    assert RunOptions().rate == FixedRate(50.0)
    assert [str(s) for s in (FixedRate(2.5), Unlimited(), AutoRate())] == ["2.5/s", "unlimited", "auto"]


def test_fixed_and_unlimited_report_their_rate_and_grant_at_once() -> None:
    clock = Clock()
    fixed, unlimited = make(FixedRate(20.0), clock), make(Unlimited(), clock)
    assert fixed.current_rate == 20.0 and unlimited.current_rate == 0.0
    assert fixed.try_acquire() and not fixed.try_acquire()  # the next slot is 1/(20·0.98) s away
    assert all(unlimited.try_acquire() for _ in range(1000))
    clock.now += 1.0
    assert fixed.try_acquire()
    assert fixed.paused_s == 0.0


def test_a_throttle_pauses_for_retry_after_and_a_burst_pauses_once() -> None:
    clock = Clock()
    rate = make(FixedRate(100.0), clock)
    rate.on_throttle(10.0, 2.0)
    assert not rate.try_acquire()
    clock.now += 0.5
    rate.on_throttle(600.0, 2.0)  # sent before the first throttle arrived: the same burst
    clock.now += 1.49
    assert not rate.try_acquire()
    clock.now += 0.02
    assert rate.try_acquire()
    assert rate.paused_s == pytest.approx(2.0)
    assert rate.current_rate == 100.0  # a fixed rate never moves


def test_the_throttle_streak_grows_the_pause_and_a_success_ends_it() -> None:
    clock = Clock()
    policy = BackoffPolicy(throttle_base=1.0, cap=30.0)
    rate = make(Unlimited(), clock, policy)
    pauses = []
    for _ in range(4):
        before = rate.paused_s
        rate.on_throttle(1.0, None)  # each one sent after the previous throttle: a new event
        clock.now += 100.0
        pauses.append(rate.paused_s - before)
    # equal jitter on 1, 2, 4, 8 s: each pause in [c/2, c]
    for pause, ceiling in zip(pauses, (1.0, 2.0, 4.0, 8.0), strict=True):
        assert ceiling / 2 <= pause <= ceiling
    rate.on_success(1.0)
    before = rate.paused_s
    rate.on_throttle(1.0, None)
    clock.now += 100.0
    assert 0.5 <= rate.paused_s - before <= 1.0  # the streak starts again


def test_pause_on_demand_holds_every_request() -> None:
    clock = Clock()
    rate = make(Unlimited(), clock)
    rate.pause(3.0)
    assert not rate.try_acquire()
    clock.now += 3.0
    assert rate.try_acquire()
    assert rate.paused_s == pytest.approx(3.0)


def test_auto_grows_on_success_and_cuts_on_a_throttle_with_a_short_pause() -> None:
    clock = Clock()
    rate = make(AutoRate(initial=10.0), clock, BackoffPolicy(base=0.5))
    assert isinstance(rate, AutoPacedRate)
    assert rate.current_rate == 10.0
    for _ in range(100):
        clock.now += 0.01
        rate.on_success(2.0)
    grown = rate.current_rate
    assert grown > 10.0
    rate.on_throttle(5.0, None)
    assert rate.current_rate < grown
    assert rate.adaptive.cuts == 1
    clock.now += 1.0
    first = rate.paused_s
    assert first <= 0.5  # without Retry-After: the backoff's full jitter, not the throttle pause
    rate.on_throttle(1.0, 4.0)  # with Retry-After: honoured
    clock.now += 10.0
    assert rate.paused_s - first == pytest.approx(4.0)
