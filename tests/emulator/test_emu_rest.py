"""The plain REST endpoint ``DELETE /rest/{collection}/{id}``: 204/404, auth, quota, faults, stats."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
import pytest
from yarl import URL

from bulkdelete.emulator import Emulator
from bulkdelete.emulator.config import Quota
from tests.emulator.emu_helpers import KEY, TRICKY_IDS, StartEmulator

AUTH = {"Authorization": f"Bearer {KEY}"}


def rest_url(emu: Emulator, encoded_id: str, collection: str = "docs") -> URL:
    return URL(f"{emu.base_url}/rest/{collection}/{encoded_id}", encoded=True)


async def delete(
    session: aiohttp.ClientSession, url: URL, headers: dict[str, str] | None = None
) -> tuple[int, Any, aiohttp.ClientResponse]:
    async with session.delete(url, headers=AUTH if headers is None else headers) as resp:
        body = await resp.read()
        return resp.status, orjson.loads(body) if body else None, resp


async def test_a_present_document_is_deleted_with_204_then_is_404(
    session: aiohttp.ClientSession, emu: Emulator
) -> None:
    status, body, resp = await delete(session, rest_url(emu, "ab"))
    assert (status, body) == (204, None)
    assert resp.headers["X-Request-ID"].startswith("emu-")
    status, body, _ = await delete(session, rest_url(emu, "ab"))
    assert status == 404 and body["error"] == "document_not_found"
    assert "ab" not in emu.documents
    stats = emu.stats()
    assert (stats["requests"], stats["by_status"], stats["deleted"]) == (2, {"204": 1, "404": 1}, 1)


@pytest.mark.parametrize("doc_id", TRICKY_IDS)
async def test_the_id_is_the_decoded_path_segment(session: aiohttp.ClientSession, emu: Emulator, doc_id: str) -> None:
    encoded = "".join(f"%{byte:02X}" for byte in doc_id.encode())  # every byte encoded, '/' included
    status, _, _ = await delete(session, rest_url(emu, encoded))
    assert status == 204
    assert doc_id not in emu.documents


async def test_a_slash_in_the_id_is_one_segment(session: aiohttp.ClientSession, emu: Emulator) -> None:
    assert (await delete(session, rest_url(emu, "a%2Fb")))[0] == 204
    assert "a/b" not in emu.documents and "a" in emu.documents
    assert (await delete(session, rest_url(emu, "a/b")))[0] == 404  # two segments: no such route


async def test_auth_any_non_empty_bearer_key_or_only_the_configured_one(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=["d"]) as emu:
        assert (await delete(session, rest_url(emu, "d"), headers={}))[0] == 401
        assert (await delete(session, rest_url(emu, "d"), headers={"Authorization": "Bearer any"}))[0] == 204
    async with start(docs=["d"], api_key=KEY) as emu:
        status, body, _ = await delete(session, rest_url(emu, "d"), headers={"Authorization": "Bearer wrong"})
        assert (status, body["error"]) == (401, "invalid_token")
        assert (await delete(session, rest_url(emu, "d")))[0] == 204


async def test_quota_per_collection_with_retry_after(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=[], quota=Quota(2, 60.0), retry_after=3) as emu:
        statuses = [(await delete(session, rest_url(emu, f"x{n}")))[0] for n in range(3)]
        assert statuses == [404, 404, 429]
        status, body, resp = await delete(session, rest_url(emu, "x"))
        assert (status, body["error"], resp.headers["Retry-After"]) == (429, "too_many_requests", "3")
        assert (await delete(session, rest_url(emu, "x", collection="other")))[0] == 404
        assert emu.stats()["throttled"] == 2


async def test_fail_rate_answers_503(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["d"], fail_rate=1.0) as emu:
        status, body, _ = await delete(session, rest_url(emu, "d"))
        assert (status, body["error"]) == (503, "unavailable")
        assert "d" in emu.documents and emu.stats()["faults"] == 1
