"""Stats and the /_emulator routes."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson

from bulkdelete.emulator import Emulator, Stats
from tests.emulator.emu_helpers import COVEO_AUTH, StartEmulator, coveo_delete, velt_delete


def test_max_per_second_is_the_busiest_sliding_second() -> None:
    stats = Stats()
    for t in (0.0, 0.1, 0.2, 0.9, 1.05, 1.1, 1.15, 3.0):
        stats.started(t)
        stats.finished(202)
    # (0.1, 1.1] holds 0.1, 0.2, 0.9, 1.05, 1.1 → 5; at 1.15 the 0.1 start has left.
    assert stats.max_per_second == 5
    assert stats.requests == 8
    assert stats.by_status == {202: 8}


def test_peak_inflight_and_resets() -> None:
    stats = Stats()
    for t in range(3):
        stats.started(float(t))
    stats.finished(None)
    stats.finished(429)
    stats.finished(202)
    assert (stats.peak_inflight, stats.inflight, stats.resets, stats.throttled) == (3, 0, 1, 1)


async def test_stats_route_has_the_contract_keys(session: aiohttp.ClientSession, emu: Emulator) -> None:
    await coveo_delete(session, emu, "a")
    await velt_delete(session, emu, ["ab"])
    async with session.get(f"{emu.base_url}/_emulator/stats") as resp:
        stats = await resp.json()
    assert {"requests", "by_status", "throttled", "peak_inflight", "max_per_second", "documents_left"} <= set(stats)
    assert stats["requests"] == 2
    assert stats["by_status"] == {"200": 1, "202": 1}
    assert stats["documents_left"] == len(emu.state.documents)
    assert stats["deleted"] == 2
    assert stats == emu.stats()


async def test_peak_inflight_counts_overlapping_requests(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(latency_ms=50) as emu:
        await asyncio.gather(*(coveo_delete(session, emu, f"d{i}") for i in range(10)))
        stats = emu.stats()
    assert stats["peak_inflight"] >= 2
    assert stats["requests"] == 10


async def test_admin_routes_are_not_counted_nor_gated(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a"], api_key="k", fail_rate=1.0, reset_rate=1.0) as emu:
        for _ in range(3):
            async with session.get(f"{emu.base_url}/_emulator/stats") as resp:
                assert resp.status == 200
        assert emu.stats()["requests"] == 0


async def test_documents_route_lists_remaining_ids(session: aiohttp.ClientSession, emu: Emulator) -> None:
    await coveo_delete(session, emu, "a/b", children=True)
    async with session.get(f"{emu.base_url}/_emulator/documents") as resp:
        assert await resp.json() == emu.documents
    async with session.get(f"{emu.base_url}/_emulator/documents", params={"prefix": "a"}) as resp:
        assert await resp.json() == ["a", "ab"]
    async with session.get(f"{emu.base_url}/_emulator/documents", params={"limit": "1"}) as resp:
        assert len(await resp.json()) == 1
    async with session.get(f"{emu.base_url}/_emulator/documents", params={"limit": "x"}) as resp:
        assert resp.status == 400


async def test_documents_can_be_added(session: aiohttp.ClientSession, emu: Emulator) -> None:
    url = f"{emu.base_url}/_emulator/documents"
    async with session.post(url, data=orjson.dumps(["new", "a"])) as resp:
        body = await resp.json()
    assert body["added"] == 1
    assert "new" in emu.state.documents
    async with session.post(url, data=b'{"not": "a list"}') as resp:
        assert resp.status == 400


async def test_reset_stats_zeroes_counters_only(session: aiohttp.ClientSession, emu: Emulator) -> None:
    await coveo_delete(session, emu, "a")
    url = emu.coveo_url("o") + "/sources/s/status"
    async with session.post(url, params={"statusType": "IDLE"}, headers=COVEO_AUTH):
        pass
    async with session.post(f"{emu.base_url}/_emulator/reset-stats") as resp:
        assert resp.status == 200
    stats = emu.stats()
    assert (stats["requests"], stats["by_status"], stats["max_per_second"]) == (0, {}, 0)
    assert stats["status_history"] == {"s": ["IDLE"]}
    assert stats["documents_left"] == len(emu.documents)


async def test_runner_reads_back_a_free_port(start: StartEmulator) -> None:
    async with start() as first, start() as second:
        assert first.base_url.startswith("http://127.0.0.1:")
        assert first.base_url != second.base_url
        assert not first.base_url.endswith(":0")


async def test_stats_count_the_verify_side(session: aiohttp.ClientSession, emu: Emulator) -> None:
    """The keys verify's tests read: searches, log queries, gets, and the pipeline's pending and failed deletes."""
    stats = emu.stats()
    assert {key: stats[key] for key in ("searches", "log_queries", "gets", "pending_deletes", "failed_deletes")} == {
        "searches": 0,
        "log_queries": 0,
        "gets": 0,
        "pending_deletes": 0,
        "failed_deletes": 0,
    }
