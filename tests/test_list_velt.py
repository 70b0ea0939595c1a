"""``bulkdelete velt list`` as users run it, the real CLI against a real server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from aiohttp import web

from tests.conftest import cli_env, run_cli

Pages = Callable[[dict[str, Any]], dict[str, Any]]
VELT_ENV = {"VELT_API_KEY": "velt-key-never-printed", "VELT_AUTH_TOKEN": "velt-token-never-printed"}


@asynccontextmanager
async def velt_server(answer: Pages, seen: list[dict[str, Any]]) -> AsyncIterator[str]:
    """A server answering Get Documents with ``answer(data)``; every request's ``data`` lands in ``seen``."""

    async def get(request: web.Request) -> web.Response:
        data = orjson.loads(await request.read())["data"]
        seen.append(data)
        return web.Response(body=orjson.dumps(answer(data)), content_type="application/json")

    app = web.Application()
    app.router.add_post("/v2/organizations/documents/get", get)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def velt_args(base: str, *extra: str) -> list[str]:
    return ["velt", "list", "--base-url", base, "--org", "o", "--rate", "0", *extra]


async def test_a_repeated_page_token_stops_with_exit_3_naming_it() -> None:
    seen: list[dict[str, Any]] = []

    def answer(data: dict[str, Any]) -> dict[str, Any]:
        page = int(data.get("pageToken", "t0")[1:])
        return {"result": {"status": "success", "data": [{"id": f"d{page}"}], "pageToken": "t1"}}

    async with velt_server(answer, seen) as base:
        done = await run_cli(*velt_args(base), env=cli_env(VELT_ENV))
    assert done.code == 3, done.stderr
    assert "'t1'" in done.stderr and len(seen) == 2
    assert [line["id"] for line in done.lines] == ["d0", "d1"]
    assert "velt-key-never-printed" not in done.stderr


async def test_pages_follow_their_tokens_to_the_end_with_the_folder_and_each_id_once() -> None:
    seen: list[dict[str, Any]] = []
    pages = {None: (["a", "b"], "p2"), "p2": (["b", "c ü?&#"], "p3"), "p3": (["d"], "")}

    def answer(data: dict[str, Any]) -> dict[str, Any]:
        ids, token = pages[data.get("pageToken")]
        docs = [{"id": i, "folderId": "f1"} for i in ids]
        return {"result": {"status": "success", "data": docs, "pageToken": token}}

    async with velt_server(answer, seen) as base:
        done = await run_cli(*velt_args(base, "--folder", "f1"), env=cli_env(VELT_ENV))
    assert done.code == 0, done.stderr
    assert [line["id"] for line in done.lines] == ["a", "b", "c ü?&#", "d"]
    assert all(set(line) == {"id", "folder", "line", "ts"} and line["folder"] == "f1" for line in done.lines)
    assert [line["line"] for line in done.lines] == [1, 2, 3, 4]
    assert all(data["folderId"] == "f1" and data["pageSize"] == 1000 and data["organizationId"] == "o" for data in seen)
    assert [data.get("pageToken") for data in seen] == [None, "p2", "p3"]


async def test_an_empty_page_ends_the_listing_whatever_token_it_carries() -> None:
    seen: list[dict[str, Any]] = []

    def answer(data: dict[str, Any]) -> dict[str, Any]:
        ids = ["x"] if "pageToken" not in data else []
        return {"result": {"status": "success", "data": [{"id": i} for i in ids], "pageToken": "more"}}

    async with velt_server(answer, seen) as base:
        done = await run_cli(*velt_args(base), env=cli_env(VELT_ENV))
    assert done.code == 0, done.stderr
    assert [line["id"] for line in done.lines] == ["x"] and len(seen) == 2
