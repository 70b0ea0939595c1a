"""The event loop a command runs on: uvloop (a default dependency wherever it exists: not on Windows, not on PyPy),
else asyncio's.

Measured (``benchmarks/RESULTS.md``, issue 14: both clients at once on one core, so that the machine's speed drift
hits both alike): the CLI spends 9-10% less CPU per id on uvloop, which takes it from 0.91-0.93x to 1.01-1.03x the
per-id throughput of a bare aiohttp loop on asyncio. Everything else is the same: the engine installs its signal
handlers through the loop, and reads ``time.monotonic`` on uvloop too (``loop_clock``: uvloop's own ``time()`` counts
whole milliseconds). The test suite runs the CLI on uvloop, ``tests/test_loop.py`` on both loops, and the library
tests run the engine in-process on asyncio's.
``BULKDELETE_UVLOOP=0`` keeps asyncio's loop (to rule uvloop out when debugging).
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory() -> LoopFactory | None:
    """``uvloop.new_event_loop`` when uvloop is importable and not switched off, else None (asyncio's default)."""
    if os.environ.get("BULKDELETE_UVLOOP", "").strip() == "0":
        return None
    try:
        uvloop = importlib.import_module("uvloop")  # absent on Windows and PyPy
    except ImportError:
        return None
    factory: LoopFactory = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, on the loop ``loop_factory`` picks."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
