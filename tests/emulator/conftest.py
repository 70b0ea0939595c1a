"""Fixtures for the emulator tests: a real emulator on 127.0.0.1 and a real aiohttp client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp
import pytest

from bulkdelete.emulator import Emulator, EmulatorConfig, run_emulator
from tests.emulator.emu_helpers import TRICKY_IDS, StartEmulator


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        yield client


@pytest.fixture
def start() -> StartEmulator:
    """``async with start(docs=[...], fail_rate=...) as emu``: config fields as keyword arguments."""

    def factory(docs: Iterable[str] = (), **config: Any) -> AbstractAsyncContextManager[Emulator]:
        return run_emulator(EmulatorConfig(**config), docs=docs)

    return factory


@pytest.fixture
async def emu(start: StartEmulator) -> AsyncIterator[Emulator]:
    """A plain emulator holding a small tree of documents."""
    async with start(docs=["a", "a/b", "a/b/c", "ab", "x/y", *TRICKY_IDS]) as running:
        yield running
