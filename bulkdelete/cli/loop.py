"""The event loop a command runs on: uvloop when it is installed (``pip install 'bulkdelete[fast]'``), else asyncio's.

Measured with ``benchmarks/throughput.py --uvloop`` (``benchmarks/RESULTS.md``): the CLI spends about a tenth less
CPU per id on uvloop; the wall-clock difference was lost in the noise of a busy machine. Everything else is the
same: the engine installs its signal handlers through the loop, and reads ``time.monotonic`` on uvloop too
(``loop_clock``: uvloop's own ``time()`` counts whole milliseconds).
``BULKDELETE_UVLOOP=0`` keeps asyncio's loop even when uvloop is installed (to rule it out when debugging).
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
        uvloop = importlib.import_module("uvloop")  # optional: the [fast] extra
    except ImportError:
        return None
    factory: LoopFactory = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, on the loop ``loop_factory`` picks."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
