"""Coveo Logs API: entries for completed and failed deletes, filters, the time window, paging, access."""

from __future__ import annotations

import aiohttp
import pytest

from bulkdelete.emulator import Emulator
from bulkdelete.emulator.logs import w3c
from tests.emulator.emu_helpers import (
    KEY,
    ORG,
    SOURCE,
    StartEmulator,
    assert_coveo_error,
    coveo_delete,
    coveo_logs,
    w3c_window,
)


def test_w3c_has_milliseconds_and_z() -> None:
    assert w3c(1_796_288_400.12) == "2026-12-03T09:00:00.120Z"


async def test_completed_and_failed_deletes_are_logged_in_order(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=[f"d{i}" for i in range(20)], delete_fail_rate=0.5, seed=5) as emu:
        request_ids = {}
        for i in range(20):
            _, _, resp = await coveo_delete(session, emu, f"d{i}")
            request_ids[f"d{i}"] = resp.headers["X-Request-ID"]
        status, body = await coveo_logs(session, emu, params={"perPage": "1000"})
    assert status == 200
    entries = body["documentLogEntries"]
    assert [entry["id"] for entry in entries] == [f"d{i}" for i in range(20)]
    assert [entry["datetime"] for entry in entries] == sorted(entry["datetime"] for entry in entries)
    assert body["hasNextPage"] is False
    left = set(emu.documents)
    for entry in entries:
        assert entry["requestId"] == request_ids[entry["id"]]
        assert entry["task"] == "INDEXING"
        assert entry["result"] == ("ERROR" if entry["id"] in left else "COMPLETED")
        assert bool(entry["meta"].get("error")) == (entry["result"] == "ERROR")
        assert entry["datetime"].endswith("Z")
    assert 0 < len(left) < 20


async def test_filters_narrow_by_result_operation_and_source(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=["a", "b"]) as emu:
        await coveo_delete(session, emu, "a")
        await coveo_delete(session, emu, "b", children=True)
        _, errors = await coveo_logs(session, emu, {"results": ["ERROR", "REJECTED", "WARNING"]})
        _, with_children = await coveo_logs(session, emu, {"operations": ["DELETE_AND_CHILDREN"]})
        _, other_source = await coveo_logs(session, emu, {"sourcesIds": ["elsewhere"]})
        _, this_source = await coveo_logs(session, emu, {"sourcesIds": [SOURCE], "results": []})
        _, other_org = await coveo_logs(session, emu, org="another")
    assert errors["documentLogEntries"] == []
    assert [entry["id"] for entry in with_children["documentLogEntries"]] == ["b"]
    assert other_source["documentLogEntries"] == []
    assert len(this_source["documentLogEntries"]) == 2
    assert other_org["documentLogEntries"] == []


async def test_pages_follow_has_next_page(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=[f"d{i}" for i in range(5)]) as emu:
        for i in range(5):
            await coveo_delete(session, emu, f"d{i}")
        seen = []
        for page in range(3):
            _, body = await coveo_logs(session, emu, params={"page": str(page), "perPage": "2"})
            seen += [entry["id"] for entry in body["documentLogEntries"]]
            assert body["hasNextPage"] is (page < 2)
    assert seen == [f"d{i}" for i in range(5)]


async def test_the_window_selects_by_the_due_time(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a"], processing_delay_s=600) as emu:
        await coveo_delete(session, emu, "a")
        _, body = await coveo_logs(session, emu)
        assert body["documentLogEntries"] == []  # not due yet: nothing logged
        emu.advance(600)
        _, body = await coveo_logs(session, emu, params=w3c_window(emu, before_s=60, after_s=1))  # 1 s: clock rounding
        assert [entry["id"] for entry in body["documentLogEntries"]] == ["a"]
        _, body = await coveo_logs(session, emu, params=w3c_window(emu, before_s=3600, after_s=-60))
        assert body["documentLogEntries"] == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": ""}, "MISSING_PARAMETER"),
        ({"to": "yesterday"}, "INVALID_PARAMETER"),
        ({"from": "2026-12-01T00:00:00.000Z", "to": "2026-12-08T00:00:00.001Z"}, "INVALID_PARAMETER"),
        ({"from": "2026-12-02T00:00:00.000Z", "to": "2026-12-01T00:00:00.000Z"}, "INVALID_PARAMETER"),
        ({"perPage": "1001"}, "INVALID_PARAMETER"),
        ({"perPage": "0"}, "INVALID_PARAMETER"),
        ({"page": "-1"}, "INVALID_PARAMETER"),
        ({"page": "x"}, "INVALID_PARAMETER"),
    ],
)
async def test_bad_parameters_are_400(
    session: aiohttp.ClientSession, emu: Emulator, params: dict[str, str], code: str
) -> None:
    status, body = await coveo_logs(session, emu, params=params)
    assert status == 400
    assert_coveo_error(body, 400, code)


async def test_a_seven_day_window_is_accepted(session: aiohttp.ClientSession, emu: Emulator) -> None:
    status, _ = await coveo_logs(session, emu, params={"from": "2026-12-01T00:00:00Z", "to": "2026-12-08T00:00:00Z"})
    assert status == 200


@pytest.mark.parametrize("body", [["not", "an", "object"], {"results": "ERROR"}])
async def test_bad_bodies_are_400(session: aiohttp.ClientSession, emu: Emulator, body: object) -> None:
    status, _ = await coveo_logs(session, emu, body)
    assert status == 400


async def test_logs_denied_refuses_the_logs_api_only(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a"], logs_denied=True) as emu:
        status, body = await coveo_logs(session, emu)
        assert status == 403
        assert_coveo_error(body, 403, "ACCESS_DENIED")
        assert (await coveo_delete(session, emu, "a"))[0] == 202


async def test_logs_auth_follows_the_push_api(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(api_key=KEY) as emu:
        status, body = await coveo_logs(session, emu, headers={"Authorization": "Bearer wrong"})
        assert status == 401
        assert_coveo_error(body, 401, "INVALID_TOKEN")
        assert (await coveo_logs(session, emu))[0] == 200


async def test_log_queries_are_counted(session: aiohttp.ClientSession, emu: Emulator) -> None:
    await coveo_logs(session, emu)
    await coveo_logs(session, emu, org=ORG)
    assert emu.stats()["log_queries"] == 2
