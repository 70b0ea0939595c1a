"""Sliding-window request quota, Retry-After, and the Coveo daily item quota."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp

from bulkdelete.emulator import EmulatorConfig, EmulatorState, Quota
from tests.emulator.emu_helpers import ORG, StartEmulator, assert_coveo_error, coveo_delete, velt_delete


def quota_state(limit: int, window_s: float) -> EmulatorState:
    return EmulatorState.create(EmulatorConfig(quota=Quota(limit, window_s)))


def test_window_slides_and_throttled_requests_do_not_consume_quota() -> None:
    state = quota_state(2, 1.0)
    assert [state.take_quota("o", t) for t in (0.0, 0.5, 0.6, 0.9)] == [True, True, False, False]
    # 0.0 left the window at 1.0 (half-open window); the refused 0.6 and 0.9 never counted.
    assert state.take_quota("o", 1.0) is True
    assert state.take_quota("o", 1.2) is False
    assert state.take_quota("o", 1.5) is True


def test_quota_is_per_organization() -> None:
    state = quota_state(1, 60.0)
    assert state.take_quota("o1", 0.0)
    assert state.take_quota("o2", 0.0)
    assert not state.take_quota("o1", 59.0)
    assert state.take_quota("o1", 60.0)


async def test_200_simultaneous_requests_against_50_per_second(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    """The window opens at the first request; all 200 start well within 1 s, so exactly 50 pass."""
    async with start(docs=[f"d{i}" for i in range(200)], quota=Quota(50, 1.0), latency_ms=20) as emu:
        answers = await asyncio.gather(*(coveo_delete(session, emu, f"d{i}") for i in range(200)))
        seen = Counter(status for status, _, _ in answers)
        assert seen == {202: 50, 429: 150}
        for status, body, resp in answers:
            if status == 429:
                assert_coveo_error(body, 429, "TOO_MANY_REQUESTS")
                assert "Retry-After" not in resp.headers
        async with session.get(f"{emu.base_url}/_emulator/stats") as resp:
            stats = await resp.json()
    assert stats["requests"] == 200
    assert stats["throttled"] == 150
    assert stats["by_status"] == {"202": 50, "429": 150}
    assert stats["documents_left"] == 150
    assert stats["max_per_second"] == 200
    assert stats["peak_inflight"] > 1


async def test_retry_after_only_when_configured(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(quota=Quota(1, 60.0), retry_after=3) as emu:
        assert (await coveo_delete(session, emu, "a"))[0] == 202
        status, body, resp = await coveo_delete(session, emu, "a")
        assert status == 429
        assert resp.headers["Retry-After"] == "3"
        assert_coveo_error(body, 429, "TOO_MANY_REQUESTS")
        # Each API has its own windows, even for the same organization name.
        assert (await velt_delete(session, emu, ["a"]))[0] == 500


async def test_velt_quota_answers_resource_exhausted(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a", "b"], quota=Quota(1, 60.0), retry_after=1) as emu:
        assert (await velt_delete(session, emu, ["a"], org="v"))[0] == 200
        async with session.post(
            f"{emu.base_url}/v2/organizations/documents/delete",
            json={"data": {"organizationId": "v", "documentIds": ["b"]}},
            headers={"x-velt-api-key": "k", "x-velt-auth-token": "t"},
        ) as resp:
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "1"
            body = await resp.json()
        assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert "b" in emu.state.documents
        assert emu.stats()["throttled"] == 1


async def test_velt_429_has_no_retry_after_unless_configured(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(quota=Quota(1, 60.0)) as emu:
        await velt_delete(session, emu, ["a"])
        async with session.post(
            f"{emu.base_url}/v1/organizations/documents/delete",
            json={"data": {"organizationId": ORG, "documentIds": ["b"]}},
            headers={"x-velt-api-key": "k", "x-velt-auth-token": "t"},
        ) as resp:
            assert resp.status == 429
            assert "Retry-After" not in resp.headers


async def test_daily_item_quota(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a", "b", "c"], daily_items=2) as emu:
        assert (await coveo_delete(session, emu, "a"))[0] == 202
        assert (await coveo_delete(session, emu, "b"))[0] == 202
        status, body, resp = await coveo_delete(session, emu, "c")
        assert status == 429
        assert_coveo_error(body, 429, "TOO_MANY_DOCUMENTS_DAILY")
        assert "Retry-After" not in resp.headers
        assert "c" in emu.state.documents
        assert emu.stats()["daily_items"] == {ORG: 2}
