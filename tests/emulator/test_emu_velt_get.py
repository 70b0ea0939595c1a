"""Velt Get Documents: only the requested ids that exist, with the delete's headers, auth, quota and limits."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
import pytest

from bulkdelete.emulator import Emulator, Quota
from tests.emulator.emu_helpers import KEY, ORG, TRICKY_IDS, VELT_AUTH, StartEmulator, velt_delete


async def velt_get(
    session: aiohttp.ClientSession,
    emu: Emulator,
    ids: list[str],
    version: str = "v2",
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    body = {"data": {"organizationId": ORG, "documentIds": ids}}
    url = f"{emu.base_url}/{version}/organizations/documents/get"
    async with session.post(url, data=orjson.dumps(body), headers=VELT_AUTH if headers is None else headers) as resp:
        return resp.status, orjson.loads(await resp.read())


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_get_returns_only_the_ids_that_exist(session: aiohttp.ClientSession, emu: Emulator, version: str) -> None:
    status, body = await velt_get(session, emu, ["a", "missing", TRICKY_IDS[0], "a"], version)
    assert status == 200
    result = body["result"]
    assert result["status"] == "success"
    assert result["message"]
    assert [(entry["id"], entry["documentId"]) for entry in result["data"]] == [
        ("a", "a"),
        (TRICKY_IDS[0], TRICKY_IDS[0]),
    ]


async def test_a_deleted_id_is_no_longer_returned(session: aiohttp.ClientSession, emu: Emulator) -> None:
    await velt_delete(session, emu, ["ab"])
    _, body = await velt_get(session, emu, ["ab", "a"])
    assert [entry["id"] for entry in body["result"]["data"]] == ["a"]
    assert emu.stats()["gets"] == 1


async def test_get_checks_the_key_like_delete(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a"], api_key=KEY) as emu:
        status, body = await velt_get(session, emu, ["a"], headers={**VELT_AUTH, "x-velt-api-key": "wrong"})
        assert status == 401
        assert body["error"]["status"] == "UNAUTHENTICATED"
        status, _ = await velt_get(session, emu, ["a"], headers={"x-velt-api-key": KEY})
        assert status == 401


async def test_get_limits_ids_per_request(session: aiohttp.ClientSession, emu: Emulator) -> None:
    status, body = await velt_get(session, emu, [f"d{i}" for i in range(31)])
    assert status == 400
    assert body["error"]["status"] == "INVALID_ARGUMENT"


async def test_get_shares_the_delete_quota(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a"], quota=Quota(1, 60.0)) as emu:
        assert (await velt_delete(session, emu, ["x"]))[0] == 500
        status, body = await velt_get(session, emu, ["a"])
    assert status == 429
    assert body["error"]["status"] == "RESOURCE_EXHAUSTED"


async def test_get_fail_rate_is_a_503(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a"], fail_rate=1.0) as emu:
        status, body = await velt_get(session, emu, ["a"])
    assert status == 503
    assert body["error"]["status"] == "UNAVAILABLE"
