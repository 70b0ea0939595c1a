"""Injected faults: 503s, dropped connections, latency — repeatable with a seed."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.emulator.emu_helpers import StartEmulator, assert_coveo_error, coveo_delete, velt_delete


async def statuses(session: aiohttp.ClientSession, start: StartEmulator, seed: int) -> list[int]:
    async with start(docs=[], fail_rate=0.5, seed=seed) as emu:
        return [(await coveo_delete(session, emu, f"d{i}"))[0] for i in range(40)]


async def test_fail_rate_is_repeatable_with_a_seed(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    first = await statuses(session, start, seed=7)
    assert first == await statuses(session, start, seed=7)
    assert set(first) == {202, 503}


async def test_failed_coveo_request_is_503_with_a_coveo_body(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=["a"], fail_rate=1.0) as emu:
        status, body, resp = await coveo_delete(session, emu, "a")
        assert status == 503
        assert_coveo_error(body, 503, "SERVICE_UNAVAILABLE")
        assert resp.headers["X-Request-ID"]
        assert "a" in emu.state.documents
        assert emu.stats()["faults"] == 1


async def test_velt_fail_rate_fails_ids_inside_the_request(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    ids = [f"d{i}" for i in range(30)]
    async with start(docs=ids, fail_rate=0.5, seed=3) as emu:
        status, body = await velt_delete(session, emu, ids)
        assert status == 500
        details = body["error"]["details"]
        assert body["error"]["status"] == "INTERNAL"
        failed = {i for i, entry in details.items() if not entry["success"]}
        assert failed
        assert failed != set(ids)
        assert {details[i]["code"] for i in failed} == {"internal"}
        assert set(emu.documents) == failed  # failed ids were not deleted


async def test_reset_drops_the_connection_without_an_answer(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=["a"], reset_rate=1.0) as emu:
        for _ in range(3):  # also over a reused connection pool
            with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
                await asyncio.wait_for(velt_delete(session, emu, ["a"]), timeout=5)
        stats = emu.stats()
    assert stats["resets"] == 3
    assert stats["requests"] == 3
    assert stats["by_status"] == {}
    assert stats["inflight"] == 0


async def test_aiohttp_client_silently_resends_an_idempotent_request_once_after_a_reset(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    """Worth knowing when counting attempts: one DELETE call on the client is two requests on the wire."""
    async with start(docs=["a"], reset_rate=1.0) as emu:
        with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
            await asyncio.wait_for(coveo_delete(session, emu, "a"), timeout=5)
        assert emu.stats()["resets"] == 2


async def test_reset_rate_is_partial_and_repeatable(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async def run() -> list[str]:
        async with start(docs=[], reset_rate=0.5, seed=11) as emu:
            out = []
            for i in range(20):
                try:
                    out.append(str((await coveo_delete(session, emu, f"d{i}"))[0]))
                except aiohttp.ClientError:
                    out.append("reset")
            return out

    first = await run()
    assert first == await run()
    assert set(first) == {"202", "reset"}


async def test_latency_delays_every_api_request(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a"], latency_ms=30) as emu:
        loop = asyncio.get_running_loop()
        began = loop.time()
        status, _, _ = await coveo_delete(session, emu, "a")
        assert status == 202
        assert loop.time() - began >= 0.03 - 1e-6  # same loop clock; allow its resolution
