"""Coveo Push API routes: per-item delete, children, tricky ids, olderthan, status, auth, errors."""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp
import orjson
import pytest
from yarl import URL

from bulkdelete.emulator import Emulator
from tests.emulator.emu_helpers import (
    COVEO_AUTH,
    KEY,
    ORG,
    SOURCE,
    TRICKY_IDS,
    StartEmulator,
    assert_coveo_error,
    coveo_delete,
    docs_url,
)


async def test_delete_answers_202_json_null_with_request_id(session: aiohttp.ClientSession, emu: Emulator) -> None:
    status, body, resp = await coveo_delete(session, emu, "ab")
    assert (status, body) == (202, None)
    assert resp.content_type == "application/json"
    assert resp.headers["X-Request-ID"]
    assert "ab" not in emu.state.documents


async def test_delete_absent_id_is_still_accepted(session: aiohttp.ClientSession, emu: Emulator) -> None:
    status, body, _ = await coveo_delete(session, emu, "https://nowhere/none")
    assert (status, body) == (202, None)


async def test_delete_children_removes_descendants_but_not_siblings_sharing_a_prefix(
    session: aiohttp.ClientSession, emu: Emulator
) -> None:
    status, _, _ = await coveo_delete(session, emu, "a", children=True)
    assert status == 202
    left = set(emu.documents)
    assert {"a", "a/b", "a/b/c"}.isdisjoint(left)
    assert {"ab", "x/y"} <= left


async def test_delete_without_children_keeps_descendants(session: aiohttp.ClientSession, emu: Emulator) -> None:
    await coveo_delete(session, emu, "a")
    assert {"a/b", "a/b/c"} <= set(emu.documents)
    assert "a" not in emu.documents


async def test_deleting_a_child_leaves_the_parent(session: aiohttp.ClientSession, emu: Emulator) -> None:
    await coveo_delete(session, emu, "a/b", children=True)
    left = set(emu.documents)
    assert "a" in left
    assert {"a/b", "a/b/c"}.isdisjoint(left)


@pytest.mark.parametrize("doc_id", TRICKY_IDS)
async def test_tricky_ids_are_matched_exactly(session: aiohttp.ClientSession, emu: Emulator, doc_id: str) -> None:
    before = len(emu.state.documents)
    status, _, _ = await coveo_delete(session, emu, doc_id)
    assert status == 202
    assert doc_id not in emu.state.documents
    assert len(emu.state.documents) == before - 1


@pytest.mark.parametrize("doc_id", TRICKY_IDS)
async def test_form_encoded_ids_decode_plus_as_space(
    session: aiohttp.ClientSession, emu: Emulator, doc_id: str
) -> None:
    """Official clients send ``requests``-style form encoding: ``+`` for space, ``%2B`` for plus."""
    query = urlencode({"documentId": doc_id, "deleteChildren": "false"})
    url = URL(f"{docs_url(emu)}?{query}", encoded=True)
    async with session.delete(url, headers=COVEO_AUTH) as resp:
        assert resp.status == 202
    assert doc_id not in emu.state.documents


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"orderingId": "abc"}, "INVALID_PARAMETER"),
        ({"orderingId": "1.5"}, "INVALID_PARAMETER"),
        ({"deleteChildren": "maybe"}, "INVALID_PARAMETER"),
    ],
)
async def test_delete_rejects_bad_parameters(
    session: aiohttp.ClientSession, emu: Emulator, params: dict[str, str], code: str
) -> None:
    query = {"documentId": "ab", "deleteChildren": "false", **params}
    async with session.delete(docs_url(emu), params=query, headers=COVEO_AUTH) as resp:
        assert resp.status == 400
        assert_coveo_error(await resp.json(), 400, code)
    assert "ab" in emu.state.documents


async def test_delete_accepts_an_integer_ordering_id(session: aiohttp.ClientSession, emu: Emulator) -> None:
    status, _, _ = await coveo_delete(session, emu, "ab", orderingId="1700000000000")
    assert status == 202


async def test_delete_without_document_id_is_400(session: aiohttp.ClientSession, emu: Emulator) -> None:
    async with session.delete(docs_url(emu), headers=COVEO_AUTH) as resp:
        assert resp.status == 400
        assert_coveo_error(await resp.json(), 400, "MISSING_PARAMETER")


async def test_olderthan_is_recorded_and_keeps_documents(session: aiohttp.ClientSession, emu: Emulator) -> None:
    url = docs_url(emu) + "/olderthan"
    async with session.delete(url, params={"orderingId": "42", "queueDelay": "0"}, headers=COVEO_AUTH) as resp:
        assert resp.status == 202
        assert await resp.json() is None
    async with session.delete(url, params={"orderingId": "43"}, headers=COVEO_AUTH) as resp:
        assert resp.status == 202
    calls = emu.state.olderthan
    assert [(c["orderingId"], c["queueDelay"], c["source"]) for c in calls] == [
        (42, 0, SOURCE),
        (43, 15, SOURCE),
    ]
    assert len(emu.state.documents) == 5 + len(TRICKY_IDS)


async def test_olderthan_clears_when_configured(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a", "b"], olderthan_clears=True) as emu:
        url = docs_url(emu) + "/olderthan"
        async with session.delete(url, params={"orderingId": "1"}, headers=COVEO_AUTH) as resp:
            assert resp.status == 202
        assert emu.stats()["documents_left"] == 0


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "MISSING_PARAMETER"),
        ({"orderingId": "x"}, "INVALID_PARAMETER"),
        ({"orderingId": "1", "queueDelay": "1441"}, "INVALID_PARAMETER"),
        ({"orderingId": "1", "queueDelay": "-1"}, "INVALID_PARAMETER"),
    ],
)
async def test_olderthan_validates_parameters(
    session: aiohttp.ClientSession, emu: Emulator, params: dict[str, str], code: str
) -> None:
    async with session.delete(docs_url(emu) + "/olderthan", params=params, headers=COVEO_AUTH) as resp:
        assert resp.status == 400
        assert_coveo_error(await resp.json(), 400, code)
    assert emu.state.olderthan == []


async def test_status_sequence_is_recorded_per_source(session: aiohttp.ClientSession, emu: Emulator) -> None:
    url = f"{emu.coveo_url(ORG)}/sources/{SOURCE}/status"
    for status_type in ("REFRESH", "IDLE"):
        async with session.post(url, params={"statusType": status_type}, headers=COVEO_AUTH) as resp:
            assert resp.status == 201
            assert await resp.read() == b"null"
    assert emu.state.status_history == {SOURCE: ["REFRESH", "IDLE"]}
    assert emu.stats()["status_history"] == {SOURCE: ["REFRESH", "IDLE"]}


async def test_status_rejects_unknown_type(session: aiohttp.ClientSession, emu: Emulator) -> None:
    url = f"{emu.coveo_url(ORG)}/sources/{SOURCE}/status"
    async with session.post(url, params={"statusType": "PAUSED"}, headers=COVEO_AUTH) as resp:
        assert resp.status == 400
        assert_coveo_error(await resp.json(), 400, "INVALID_PARAMETER")
    assert emu.state.status_history == {}


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "UNAUTHORIZED"),
        ({"Authorization": "Basic abc"}, "UNAUTHORIZED"),
        ({"Authorization": "Bearer "}, "UNAUTHORIZED"),
        ({"Authorization": "Bearer wrong"}, "INVALID_TOKEN"),
    ],
)
async def test_configured_key_is_the_only_one_accepted(
    session: aiohttp.ClientSession, start: StartEmulator, headers: dict[str, str], code: str
) -> None:
    async with start(docs=["a"], api_key=KEY) as emu:
        async with session.delete(docs_url(emu), params={"documentId": "a"}, headers=headers) as resp:
            assert resp.status == 401
            assert resp.headers["X-Request-ID"]
            assert_coveo_error(await resp.json(), 401, code)
        assert "a" in emu.state.documents
        status, _, _ = await coveo_delete(session, emu, "a")
        assert status == 202


async def test_without_configured_key_any_non_empty_key_is_accepted(
    session: aiohttp.ClientSession, emu: Emulator
) -> None:
    status, _, _ = await coveo_delete(session, emu, "a", headers={"Authorization": "Bearer anything"})
    assert status == 202
    status, body, _ = await coveo_delete(session, emu, "ab", headers={})
    assert status == 401
    assert_coveo_error(body, 401, "UNAUTHORIZED")


async def test_other_organizations_get_access_denied(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(allowed_orgs=frozenset({"other"})) as emu:
        status, body, _ = await coveo_delete(session, emu, "a")
        assert status == 403
        assert_coveo_error(body, 403, "ACCESS_DENIED")


async def test_unknown_push_route_answers_a_coveo_body(session: aiohttp.ClientSession, emu: Emulator) -> None:
    async with session.get(emu.coveo_url(ORG) + "/nope", headers=COVEO_AUTH) as resp:
        assert resp.status == 404
        assert_coveo_error(orjson.loads(await resp.read()), 404, "NOT_FOUND")
        assert resp.headers["X-Request-ID"]
    async with session.get(docs_url(emu), headers=COVEO_AUTH) as resp:
        assert resp.status == 405
        assert_coveo_error(await resp.json(), 405, "METHOD_NOT_ALLOWED")


async def test_request_ids_are_unique(session: aiohttp.ClientSession, emu: Emulator) -> None:
    seen = {(await coveo_delete(session, emu, f"id{i}"))[2].headers["X-Request-ID"] for i in range(5)}
    assert len(seen) == 5
