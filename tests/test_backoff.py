"""Capped exponential backoff with full jitter, and ``Retry-After`` parsing."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import pytest

from bulkdelete.rate.backoff import BackoffPolicy, parse_retry_after

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def test_defaults_and_frozen() -> None:
    policy = BackoffPolicy()
    assert (policy.base, policy.cap, policy.retry_after_cap) == (0.5, 30.0, 120.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.base = 1.0  # type: ignore[misc]
    assert not hasattr(policy, "__dict__")  # slotted


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(1, 0.5), (2, 1.0), (3, 2.0), (6, 16.0), (7, 30.0), (50, 30.0), (10**6, 30.0)]
)
def test_the_ceiling_doubles_per_attempt_up_to_the_cap(attempt: int, ceiling: float) -> None:
    assert BackoffPolicy().ceiling(attempt) == ceiling


def test_delays_are_full_jitter_within_zero_and_the_ceiling() -> None:
    policy, rng = BackoffPolicy(), random.Random(1)
    for attempt in (1, 3, 8):
        delays = [policy.delay(attempt, rng) for _ in range(2000)]
        ceiling = policy.ceiling(attempt)
        assert all(0.0 <= d <= ceiling for d in delays)
        # full jitter: spread over the whole interval, not bunched at its top or bottom
        assert min(delays) < 0.05 * ceiling
        assert max(delays) > 0.95 * ceiling
        assert sum(delays) / len(delays) == pytest.approx(ceiling / 2, rel=0.1)


def test_the_same_seed_gives_the_same_delays() -> None:
    policy = BackoffPolicy()
    first = [policy.delay(3, random.Random(9)) for _ in range(3)]
    assert first == [policy.delay(3, random.Random(9)) for _ in range(3)]


def test_attempts_are_one_based() -> None:
    with pytest.raises(ValueError, match="1-based"):
        BackoffPolicy().delay(0, random.Random())


def test_pause_for_honours_retry_after_capped_else_backs_off() -> None:
    policy, rng = BackoffPolicy(retry_after_cap=60.0), random.Random(2)
    assert policy.pause_for(5.0, 1, rng) == 5.0
    assert policy.pause_for(3600.0, 1, rng) == 60.0
    assert policy.pause_for(-3.0, 1, rng) == 0.0
    # Without Retry-After: equal jitter on throttle_base · 2**(n-1): never a near-zero pause into a closed window.
    assert 1.0 <= policy.pause_for(None, 2, rng) <= 2.0
    assert all(0.5 <= policy.pause_for(None, 1, rng) <= 1.0 for _ in range(100))
    assert policy.pause_for(None, 50, rng) <= policy.cap


def test_instant_mode_never_waits() -> None:
    policy = BackoffPolicy.instant()
    assert policy.delay(30) == 0.0
    assert policy.pause_for(None, 5) == 0.0
    assert policy.pause_for(120.0, 1) == 0.0


def test_negative_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="cap"):
        BackoffPolicy(cap=-1.0)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("120", 120.0), (" 7 ", 7.0), ("0", 0.0), ("1.5", 1.5), ("-5", 0.0)],
)
def test_retry_after_delta_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", NOW) == 30.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", NOW) == 0.0  # in the past
    assert parse_retry_after("Wed, 01 May 2024 12:01:00 -0000", NOW) == 60.0  # zone unknown: UTC
    assert parse_retry_after("Wed, 01 May 2024 14:00:10 +0200", NOW) == 10.0


def test_retry_after_http_date_defaults_to_the_wall_clock() -> None:
    soon = datetime.now(UTC) + timedelta(seconds=100)
    seconds = parse_retry_after(soon.strftime("%a, %d %b %Y %H:%M:%S GMT"))
    assert seconds is not None
    assert 95.0 <= seconds <= 100.0


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "nan", "inf", "12 seconds", "Wed, 99 Foo 2024"])
def test_retry_after_garbage_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None
