"""Velt REST API: v2 success and partial failure, v1 shapes, whole-request errors, auth."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bulkdelete.emulator import Emulator
from tests.emulator.emu_helpers import KEY, TRICKY_IDS, VELT_AUTH, StartEmulator, velt_delete


def assert_velt_error(body: Any, status_name: str) -> None:
    assert body["error"]["status"] == status_name
    assert body["error"]["message"]


async def test_v2_all_deleted_is_200_with_per_id_data(session: aiohttp.ClientSession, emu: Emulator) -> None:
    status, body = await velt_delete(session, emu, ["a", "ab", *TRICKY_IDS])
    assert status == 200
    result = body["result"]
    assert result["status"] == "success"
    assert result["message"] == "Document(s) deleted successfully."
    assert list(result["data"]) == ["a", "ab", *TRICKY_IDS]
    for entry in result["data"].values():
        assert entry["success"] is True
        assert entry["message"] == "Deleted Successfully"
        assert entry["id"].isdigit()
    assert set(emu.documents) == {"a/b", "a/b/c", "x/y"}


async def test_v2_absent_id_is_a_500_partial_failure_with_all_details(
    session: aiohttp.ClientSession, emu: Emulator
) -> None:
    status, body = await velt_delete(session, emu, ["a", "missing"])
    assert status == 500
    error = body["error"]
    assert error["status"] == "INTERNAL"
    assert error["message"]
    assert error["details"]["a"]["success"] is True
    missing = error["details"]["missing"]
    assert (missing["success"], missing["code"]) == (False, "not-found")
    assert missing["id"]
    assert "a" not in emu.state.documents


async def test_v1_answers_200_with_not_found_entries(session: aiohttp.ClientSession, emu: Emulator) -> None:
    status, body = await velt_delete(session, emu, ["a", "missing"], version="v1")
    assert status == 200
    data = body["result"]["data"]
    assert data["a"]["success"] is True
    assert (data["missing"]["success"], data["missing"]["code"]) == (False, "not-found")


async def test_v1_legacy_shape_says_document_does_not_exist(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=["a"], velt_legacy_not_found=True) as emu:
        status, body = await velt_delete(session, emu, ["a", "missing"], version="v1")
    assert status == 200
    data = body["result"]["data"]
    assert data["missing"]["success"] is True
    assert data["missing"]["message"] == "Document does not exist"
    assert data["a"]["message"] == "Deleted Successfully"


async def test_duplicate_ids_in_one_request_are_answered_once(session: aiohttp.ClientSession, emu: Emulator) -> None:
    status, body = await velt_delete(session, emu, ["a", "a"])
    assert status == 200
    assert list(body["result"]["data"]) == ["a"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b"{}",
        b'{"data": {"documentIds": ["a"]}}',
        b'{"data": {"organizationId": "o"}}',
        b'{"data": {"organizationId": "o", "documentIds": []}}',
        b'{"data": {"organizationId": "o", "documentIds": [1]}}',
        b'{"data": {"organizationId": "", "documentIds": ["a"]}}',
    ],
)
async def test_malformed_request_is_invalid_argument(
    session: aiohttp.ClientSession, emu: Emulator, body: bytes
) -> None:
    url = f"{emu.base_url}/v2/organizations/documents/delete"
    async with session.post(url, data=body, headers=VELT_AUTH) as resp:
        assert resp.status == 400
        assert_velt_error(await resp.json(), "INVALID_ARGUMENT")
        assert resp.headers["X-Request-ID"]


async def test_more_ids_than_the_max_is_invalid_argument(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a"], max_ids=3) as emu:
        status, body = await velt_delete(session, emu, ["a", "b", "c", "d"])
        assert status == 400
        assert_velt_error(body, "INVALID_ARGUMENT")
        assert (await velt_delete(session, emu, ["a", "b", "c"]))[0] == 500


async def test_default_max_is_30_ids(session: aiohttp.ClientSession, emu: Emulator) -> None:
    assert (await velt_delete(session, emu, [f"i{n}" for n in range(31)]))[0] == 400
    assert (await velt_delete(session, emu, [f"i{n}" for n in range(30)]))[0] == 500


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-velt-api-key": KEY},
        {"x-velt-auth-token": "t"},
        {"x-velt-api-key": "wrong", "x-velt-auth-token": "t"},
        {"x-velt-api-key": KEY, "x-velt-auth-token": ""},
    ],
)
async def test_configured_key_is_required(
    session: aiohttp.ClientSession, start: StartEmulator, headers: dict[str, str]
) -> None:
    async with start(docs=["a"], api_key=KEY) as emu:
        status, body = await velt_delete(session, emu, ["a"], headers=headers)
        assert status == 401
        assert_velt_error(body, "UNAUTHENTICATED")
        assert (await velt_delete(session, emu, ["a"]))[0] == 200


async def test_without_configured_key_any_key_and_token_work(session: aiohttp.ClientSession, emu: Emulator) -> None:
    headers = {"x-velt-api-key": "whatever", "x-velt-auth-token": "t"}
    assert (await velt_delete(session, emu, ["a"], headers=headers))[0] == 200
    status, body = await velt_delete(session, emu, ["ab"], headers={"x-velt-api-key": "whatever"})
    assert status == 401
    assert_velt_error(body, "UNAUTHENTICATED")


async def test_other_organizations_get_permission_denied(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a"], allowed_orgs=frozenset({"mine"})) as emu:
        status, body = await velt_delete(session, emu, ["a"], org="theirs")
        assert status == 403
        assert_velt_error(body, "PERMISSION_DENIED")
        assert (await velt_delete(session, emu, ["a"], org="mine"))[0] == 200


async def test_unknown_velt_route_is_not_found(session: aiohttp.ClientSession, emu: Emulator) -> None:
    async with session.post(f"{emu.base_url}/v2/organizations/documents/nope", headers=VELT_AUTH) as resp:
        assert resp.status == 404
        assert_velt_error(await resp.json(), "NOT_FOUND")
