"""Coveo file containers end to end: create, upload to the S3-like uploadUri, push the batch."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
import pytest

from bulkdelete.emulator import Emulator
from tests.emulator.emu_helpers import (
    COVEO_AUTH,
    ORG,
    SOURCE,
    TRICKY_IDS,
    StartEmulator,
    assert_coveo_error,
    docs_url,
)


async def create_container(session: aiohttp.ClientSession, emu: Emulator) -> dict[str, Any]:
    async with session.post(f"{emu.coveo_url(ORG)}/files", headers=COVEO_AUTH) as resp:
        assert resp.status == 201
        body: dict[str, Any] = await resp.json()
        return body


async def upload(
    session: aiohttp.ClientSession,
    container: dict[str, Any],
    body: bytes,
    headers: dict[str, str] | None = None,
) -> aiohttp.ClientResponse:
    sent = container["requiredHeaders"] if headers is None else headers
    async with session.put(container["uploadUri"], data=body, headers=sent) as resp:
        await resp.read()
        return resp


async def push(session: aiohttp.ClientSession, emu: Emulator, file_id: str, **params: str) -> tuple[int, Any]:
    url = docs_url(emu) + "/batch"
    async with session.put(url, params={"fileId": file_id, **params}, headers=COVEO_AUTH) as resp:
        return resp.status, orjson.loads(await resp.read())


def batch_body(*deletes: tuple[str, bool], adds: tuple[str, ...] = ()) -> bytes:
    return orjson.dumps(
        {
            "addOrUpdate": [{"documentId": doc_id} for doc_id in adds],
            "delete": [{"documentId": doc_id, "deleteChildren": children} for doc_id, children in deletes],
        }
    )


async def test_container_looks_like_a_presigned_s3_url(session: aiohttp.ClientSession, emu: Emulator) -> None:
    container = await create_container(session, emu)
    assert container["uploadUri"].startswith(f"{emu.base_url}/_emulator/upload/{container['fileId']}?")
    assert "X-Amz-Signature=" in container["uploadUri"]
    assert container["requiredHeaders"] == {
        "x-amz-server-side-encryption": "AES256",
        "Content-Type": "application/octet-stream",
    }


async def test_batch_flow_deletes_with_children_semantics(session: aiohttp.ClientSession, emu: Emulator) -> None:
    container = await create_container(session, emu)
    body = batch_body(("a", True), ("x/y", False), *((doc_id, False) for doc_id in TRICKY_IDS), adds=("new",))
    assert (await upload(session, container, body)).status == 200
    status, answer = await push(session, emu, container["fileId"], orderingId="5")
    assert (status, answer) == (202, None)
    assert emu.documents == ["ab", "new"]
    stats = emu.stats()
    assert stats["uploads"] == 1
    assert stats["requests"] == 2  # the upload is S3's, not a Push API request
    assert stats["batches"] == [
        {
            "org": ORG,
            "source": SOURCE,
            "fileId": container["fileId"],
            "orderingId": 5,
            "addOrUpdate": 1,
            "delete": 2 + len(TRICKY_IDS),
            "removed": 4 + len(TRICKY_IDS),
        }
    ]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Content-Type": "application/octet-stream"},
        {"x-amz-server-side-encryption": "AES256", "Content-Type": "application/json"},
        {"x-amz-server-side-encryption": "aws:kms", "Content-Type": "application/octet-stream"},
    ],
)
async def test_upload_without_the_exact_required_headers_is_403(
    session: aiohttp.ClientSession, emu: Emulator, headers: dict[str, str]
) -> None:
    container = await create_container(session, emu)
    resp = await upload(session, container, batch_body(("a", False)), headers)
    assert resp.status == 403
    status, body = await push(session, emu, container["fileId"])
    assert status == 404
    assert_coveo_error(body, 404, "FILE_NOT_FOUND")


async def test_upload_error_body_is_s3_xml(session: aiohttp.ClientSession, emu: Emulator) -> None:
    container = await create_container(session, emu)
    async with session.put(container["uploadUri"], data=b"{}") as resp:
        assert resp.status == 403
        assert resp.content_type == "application/xml"
        assert "<Code>SignatureDoesNotMatch</Code>" in await resp.text()


async def test_upload_with_an_authorization_header_is_400(session: aiohttp.ClientSession, emu: Emulator) -> None:
    container = await create_container(session, emu)
    headers = {**container["requiredHeaders"], **COVEO_AUTH}
    resp = await upload(session, container, batch_body(("a", False)), headers)
    assert resp.status == 400


async def test_upload_with_a_forged_signature_is_403(session: aiohttp.ClientSession, emu: Emulator) -> None:
    container = await create_container(session, emu)
    forged = {
        **container,
        "uploadUri": container["uploadUri"].replace("X-Amz-Signature=", "X-Amz-Signature=0"),
    }
    assert (await upload(session, forged, b"{}")).status == 403


async def test_upload_over_the_cap_is_413(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a"], max_upload_bytes=100) as emu:
        container = await create_container(session, emu)
        resp = await upload(session, container, batch_body(*((f"id{i}", False) for i in range(10))))
        assert resp.status == 413
        assert (await upload(session, container, batch_body(("a", False)))).status == 200


async def test_upload_streamed_over_the_cap_is_413(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async def chunks() -> Any:
        for _ in range(10):
            yield b"x" * 32

    async with start(max_upload_bytes=100) as emu:
        container = await create_container(session, emu)
        async with session.put(container["uploadUri"], data=chunks(), headers=container["requiredHeaders"]) as resp:
            assert resp.status == 413


async def test_push_of_unknown_file_is_404(session: aiohttp.ClientSession, emu: Emulator) -> None:
    status, body = await push(session, emu, "no-such-file")
    assert status == 404
    assert_coveo_error(body, 404, "FILE_NOT_FOUND")


async def test_push_before_upload_is_404(session: aiohttp.ClientSession, emu: Emulator) -> None:
    container = await create_container(session, emu)
    status, body = await push(session, emu, container["fileId"])
    assert status == 404
    assert_coveo_error(body, 404, "FILE_NOT_FOUND")


async def test_push_without_file_id_is_400(session: aiohttp.ClientSession, emu: Emulator) -> None:
    async with session.put(docs_url(emu) + "/batch", headers=COVEO_AUTH) as resp:
        assert resp.status == 400
        assert_coveo_error(await resp.json(), 400, "MISSING_PARAMETER")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"delete": {"documentId": "a"}}',
        b'{"delete": [{"deleteChildren": true}]}',
        b'{"delete": [{"documentId": "a", "deleteChildren": "yes"}]}',
    ],
)
async def test_push_of_a_malformed_batch_is_invalid_json(
    session: aiohttp.ClientSession, emu: Emulator, body: bytes
) -> None:
    container = await create_container(session, emu)
    assert (await upload(session, container, body)).status == 200
    status, answer = await push(session, emu, container["fileId"])
    assert status == 400
    assert_coveo_error(answer, 400, "INVALID_JSON")
    assert "a" in emu.state.documents


async def test_push_rejects_a_bad_ordering_id(session: aiohttp.ClientSession, emu: Emulator) -> None:
    container = await create_container(session, emu)
    await upload(session, container, batch_body(("a", False)))
    status, answer = await push(session, emu, container["fileId"], orderingId="soon")
    assert status == 400
    assert_coveo_error(answer, 400, "INVALID_PARAMETER")
