"""The official Coveo Python client (``coveo-push-api-client.py``, sync, ``requests``) against the emulator.

Its base URL is hard-coded (``https://api.cloud.coveo.com``): the name-mangled ``__basePushURL`` is patched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import requests
from push_api_clientpy import BatchDelete, BatchUpdate, PlatformClient, Source  # type: ignore[import-untyped]

from bulkdelete.emulator import Emulator
from tests.emulator.emu_helpers import KEY, ORG, SOURCE, TRICKY_IDS, StartEmulator

DOCS = ["https://x.com/keep", "https://x.com/tree", "https://x.com/tree/leaf", *TRICKY_IDS]


@pytest.fixture
def http() -> Iterator[requests.Session]:
    # The client's default session is one shared ``requests.Session()`` default argument; use a private one.
    with requests.Session() as session:
        session.trust_env = False  # no proxy for 127.0.0.1
        yield session


def client_for(emu: Emulator, session: requests.Session, monkeypatch: pytest.MonkeyPatch) -> PlatformClient:
    monkeypatch.setattr(PlatformClient, "_PlatformClient__basePushURL", lambda self: emu.coveo_url(ORG))
    return PlatformClient(KEY, ORG, session=session)


async def test_official_client_deletes_tricky_ids(
    start: StartEmulator, http: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with start(docs=DOCS, api_key=KEY) as emu:
        client = client_for(emu, http, monkeypatch)
        for doc_id in TRICKY_IDS:
            resp = await asyncio.to_thread(client.deleteDocument, SOURCE, doc_id, False)
            assert resp.status_code == 202
            assert resp.json() is None
        resp = await asyncio.to_thread(client.deleteDocument, SOURCE, "https://x.com/tree", True)
        assert resp.status_code == 202
        assert emu.documents == ["https://x.com/keep"]


async def test_official_client_sends_form_encoded_ids(
    start: StartEmulator, http: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with start(docs=DOCS) as emu:
        client = client_for(emu, http, monkeypatch)
        resp = await asyncio.to_thread(client.deleteDocument, SOURCE, TRICKY_IDS[0], False)
        assert "a+b%3Fq%3D1%26r%3D2%23frag" in resp.request.url  # space as '+', not %20
        assert "orderingId" not in resp.request.url


async def test_official_client_batch_update_deletes(
    start: StartEmulator, http: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with start(docs=DOCS, api_key=KEY) as emu:
        source = Source(KEY, ORG)
        source.client = client_for(emu, http, monkeypatch)
        batch = BatchUpdate(
            addOrUpdate=[],
            delete=[BatchDelete(documentId=doc_id, deleteChildren=False) for doc_id in TRICKY_IDS]
            + [BatchDelete(documentId="https://x.com/tree", deleteChildren=True)],
        )
        resp = await asyncio.to_thread(source.batchUpdateDocuments, SOURCE, batch)
        assert resp.status_code == 202
        assert emu.documents == ["https://x.com/keep"]
        stats = emu.stats()
        assert stats["uploads"] == 1
        assert stats["by_status"] == {"201": 1, "202": 1}
        assert stats["batches"][0]["delete"] == len(TRICKY_IDS) + 1


async def test_official_source_delete_document_is_broken(
    start: StartEmulator, http: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Source.deleteDocument`` omits ``PlatformClient.deleteDocument``'s ``deleteChildren`` (1.1.2)."""
    async with start(docs=DOCS) as emu:
        source = Source(KEY, ORG)
        source.client = client_for(emu, http, monkeypatch)
        with pytest.raises(TypeError):
            source.deleteDocument(SOURCE, TRICKY_IDS[0])
        assert emu.stats()["requests"] == 0
