"""When a result was decided (SPEC §4 ``ts``): UTC, ISO 8601 with milliseconds and ``Z``, cheap enough for every
record of a 10-million-id run."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["utc_stamp"]


def _stamper(clock: Callable[[], float] = time.time) -> Callable[[], str]:
    """A ``utc_stamp`` reading ``clock`` (seconds since the epoch): e.g. ``2026-12-01T18:43:03.123Z``.

    The date and time up to the second are formatted once per second and kept; each call formats only the
    milliseconds (``time.strftime`` per record would cost more than the rest of the stamp together).
    """
    last_second, prefix = -1, ""  # the second last seen, formatted as "YYYY-MM-DDTHH:MM:SS."

    def utc_stamp() -> str:
        nonlocal last_second, prefix
        now = clock()
        second = int(now)
        if second != last_second:
            last_second, prefix = second, time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
        return f"{prefix}{int((now - second) * 1000):03d}Z"

    return utc_stamp


utc_stamp = _stamper()
