"""Retry timing: capped exponential backoff with full jitter, and the ``Retry-After`` header.

``delay(attempt) = uniform(0, min(cap, base · 2**(attempt - 1)))`` seconds, where ``attempt`` is the 1-based
number of the attempt that just failed. Full jitter (rather than "equal" or no jitter) spreads the retries
of many workers that failed at the same moment over the whole interval, so they do not come back as a new
burst.

A throttle answer's ``Retry-After`` wins over the backoff when present, capped at ``retry_after_cap`` so
that a confused server cannot park the run for a day.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["BackoffPolicy", "parse_retry_after"]

# 2**64 · base is far beyond any cap; bounding the exponent avoids an OverflowError for absurd attempts.
_MAX_EXPONENT = 64
_default_rng = random.Random()


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """How long to wait before a retry, in seconds.

    :param base: ceiling of the first delay (after attempt 1).
    :param cap: ceiling of any backoff delay.
    :param retry_after_cap: ceiling of a server-given ``Retry-After``.
    :param throttle_base: ceiling of the first pause after a throttle without ``Retry-After``.
    """

    base: float = 0.5
    cap: float = 30.0
    retry_after_cap: float = 120.0
    throttle_base: float = 1.0

    def __post_init__(self) -> None:
        for name in ("base", "cap", "retry_after_cap", "throttle_base"):
            value = getattr(self, name)
            if not (value >= 0.0 and math.isfinite(value)):
                raise ValueError(f"backoff {name} must be a finite number of seconds >= 0 (got {value!r})")

    @classmethod
    def instant(cls) -> BackoffPolicy:
        """A policy whose every delay and pause is 0: for end-to-end tests (cf. stamina's ``set_testing``)."""
        return cls(base=0.0, cap=0.0, retry_after_cap=0.0, throttle_base=0.0)

    def ceiling(self, attempt: int) -> float:
        """The upper bound of ``delay(attempt)``: ``min(cap, base · 2**(attempt - 1))`` seconds."""
        if attempt < 1:
            raise ValueError(f"attempt is 1-based (got {attempt})")
        return min(self.cap, self.base * 2.0 ** min(attempt - 1, _MAX_EXPONENT))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): uniform in ``[0, ceiling]``."""
        ceiling = self.ceiling(attempt)
        if ceiling <= 0.0:
            return 0.0
        return (rng or _default_rng).uniform(0.0, ceiling)

    def pause_for(self, retry_after: float | None, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds every worker pauses after the ``attempt``-th throttle in a row.

        ``Retry-After`` when given (capped). Else "equal jitter" on ``throttle_base · 2**(attempt - 1)`` (capped):
        uniform in ``[c/2, c]``. Full jitter would be wrong here: a quota window (typically a second or a minute)
        does not clear in the few milliseconds full jitter often draws, and every retry into a closed window costs
        each record in flight one of its attempts (measured: at --rate 0 against a 25/1s quota, 16 of 40 records
        exhausted 6 attempts within 0.7 s of pauses).
        """
        if retry_after is not None and math.isfinite(retry_after):
            return min(max(retry_after, 0.0), self.retry_after_cap)
        ceiling = min(self.cap, self.throttle_base * 2.0 ** min(attempt - 1, _MAX_EXPONENT))
        if ceiling <= 0.0:
            return 0.0
        return (rng or _default_rng).uniform(ceiling / 2.0, ceiling)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header value, or ``None`` when absent or unreadable.

    Accepts delta-seconds (``"120"``; a decimal such as ``"1.5"`` is tolerated) and an HTTP-date
    (``"Wed, 21 Oct 2015 07:28:00 GMT"``), measured from ``now`` (default: the wall clock, UTC). A value in
    the past or negative gives ``0.0``.
    """
    if value is None or not (text := value.strip()):
        return None
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until_date(text, now)
    if not math.isfinite(seconds):  # float() also reads "nan" and "inf"
        return None
    return max(seconds, 0.0)


def _seconds_until_date(text: str, now: datetime | None) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" zone: RFC 5322 says UTC with unknown local zone
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=UTC)
    return max((when - reference).total_seconds(), 0.0)
