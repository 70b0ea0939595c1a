"""Shared helpers for the emulator tests (constants, request helpers, assertions)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp
import orjson

from bulkdelete.emulator import Emulator
from bulkdelete.emulator.logs import w3c

ORG = "myorg"
SOURCE = "mysource"
KEY = "test-key"
COVEO_AUTH = {"Authorization": f"Bearer {KEY}"}
VELT_AUTH = {"x-velt-api-key": KEY, "x-velt-auth-token": "token"}

TRICKY_IDS = [
    "https://x.com/a b?q=1&r=2#frag",
    "file://dir/100%25+plus",
    "https://例え.jp/ドキュメント",
    "https://x.com/plus+sign%2B and space",
]

StartEmulator = Callable[..., AbstractAsyncContextManager[Emulator]]


def docs_url(emu: Emulator, source: str = SOURCE, org: str = ORG) -> str:
    return f"{emu.coveo_url(org)}/sources/{source}/documents"


async def coveo_delete(
    session: aiohttp.ClientSession,
    emu: Emulator,
    doc_id: str,
    children: bool = False,
    headers: dict[str, str] | None = None,
    **params: str,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    query = {"documentId": doc_id, "deleteChildren": "true" if children else "false", **params}
    async with session.delete(docs_url(emu), params=query, headers=COVEO_AUTH if headers is None else headers) as resp:
        return resp.status, orjson.loads(await resp.read()), resp


async def velt_delete(
    session: aiohttp.ClientSession,
    emu: Emulator,
    ids: list[str],
    version: str = "v2",
    org: str = ORG,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    body = {"data": {"organizationId": org, "documentIds": ids}}
    url = f"{emu.base_url}/{version}/organizations/documents/delete"
    async with session.post(url, data=orjson.dumps(body), headers=VELT_AUTH if headers is None else headers) as resp:
        return resp.status, orjson.loads(await resp.read())


def assert_coveo_error(body: Any, status: int, error_code: str) -> None:
    assert body["statusCode"] == status
    assert body["errorCode"] == error_code
    assert isinstance(body["message"], str)
    assert body["message"]


async def coveo_search(
    session: aiohttp.ClientSession,
    emu: Emulator,
    aq: str,
    view_all: bool = True,
    org: str = ORG,
    headers: dict[str, str] | None = None,
    **body: Any,
) -> tuple[int, Any]:
    """``POST /rest/search/v2``; ``body`` adds fields (``maximumAge`` defaults to 0: a live read)."""
    params = {"organizationId": org, **({"viewAllContent": "true"} if view_all else {})}
    payload = {"aq": aq, "numberOfResults": 100, "maximumAge": 0, **body}
    payload = {key: value for key, value in payload.items() if value is not None}
    url = f"{emu.base_url}/rest/search/v2"
    async with session.post(
        url, params=params, data=orjson.dumps(payload), headers=COVEO_AUTH if headers is None else headers
    ) as resp:
        return resp.status, orjson.loads(await resp.read())


def uris(body: Any) -> list[str]:
    return [result["uri"] for result in body["results"]]


def w3c_window(emu: Emulator, before_s: float = 60.0, after_s: float = 60.0) -> dict[str, str]:
    """``from``/``to`` around the emulator's wall clock (which ``advance`` moves)."""
    now = emu.state.wall()
    return {"from": w3c(now - before_s), "to": w3c(now + after_s)}


async def coveo_logs(
    session: aiohttp.ClientSession,
    emu: Emulator,
    body: Any = None,
    org: str = ORG,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """``POST /logs/v1/organizations/{org}``; ``params`` over a window of ±1 min around the emulator's wall clock."""
    query = {**w3c_window(emu), **(params or {})}
    url = f"{emu.base_url}/logs/v1/organizations/{org}"
    data = b"" if body is None else orjson.dumps(body)
    async with session.post(url, params=query, data=data, headers=COVEO_AUTH if headers is None else headers) as resp:
        return resp.status, orjson.loads(await resp.read())
