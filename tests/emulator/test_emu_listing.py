"""SPEC §13 on the wire: keyset paging by @rowid, the limits, the response cap, the Sources API, Velt's listing,
``--docs`` JSON lines, and the counters a client's correctness is asserted on."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from click.testing import CliRunner

from bulkdelete.emulator import DocSpec, Emulator, read_docs
from bulkdelete.emulator.cli import emulator_command
from bulkdelete.emulator.store import ROWID_BASE
from bulkdelete.emulator.velt_list import decode_token, encode_token
from tests.emulator.emu_helpers import (
    COVEO_AUTH,
    KEY,
    ORG,
    VELT_AUTH,
    StartEmulator,
    assert_coveo_error,
    coveo_delete,
    coveo_search,
    uris,
)

OLD, NEW = 1_685_577_600_000, 1_717_200_000_000  # 2023-06-01 and 2024-06-01, epoch ms
WEB = [DocSpec(f"https://w/{n}", "web", OLD if n % 2 else NEW, fields=(("author", f"u{n % 3}"),)) for n in range(30)]
OTHER = [DocSpec(f"https://o/{n}", "other", OLD) for n in range(10)]


def listing(aq: str, **body: Any) -> dict[str, Any]:
    return {"sortCriteria": "@rowid ascending", "fieldsToInclude": ["rowid", "uri", "source", "date"], **body}


async def page_all(session: aiohttp.ClientSession, emu: Emulator, aq: str, size: int) -> list[dict[str, Any]]:
    """Keyset paging as SPEC §13 writes it: ``(EXPR) @rowid>LAST``, ascending, until a short page."""
    out: list[dict[str, Any]] = []
    last = 0
    while True:
        status, body = await coveo_search(session, emu, f"({aq}) @rowid>{last}", numberOfResults=size, **listing(aq))
        assert status == 200, body
        out.extend(result["raw"] for result in body["results"])
        if len(body["results"]) < size:
            return out
        last = body["results"][-1]["raw"]["rowid"]


async def test_keyset_paging_lists_every_matching_item_once_with_exact_rowids(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=[*WEB, *OTHER]) as emu:
        raws = await page_all(session, emu, '@source=="web" @date<2024/01/01', 4)
    assert [raw["uri"] for raw in raws] == [f"https://w/{n}" for n in range(1, 30, 2)]
    assert [raw["rowid"] for raw in raws] == [ROWID_BASE + n for n in range(1, 30, 2)]
    assert all(raw["rowid"] > 2**53 and raw["source"] == "web" and raw["date"] == OLD for raw in raws)
    assert set(raws[0]) == {"rowid", "uri", "source", "date"}


async def test_rowids_are_json_integers_exact_past_2_53(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a", "b"]) as emu:
        url = f"{emu.base_url}/rest/search/v2"
        body = orjson.dumps({"aq": f"@rowid=={ROWID_BASE + 1}", "maximumAge": 0})
        async with session.post(url, params={"organizationId": ORG}, data=body, headers=COVEO_AUTH) as resp:
            text = await resp.text()
    assert re.search(rf'"rowid":{ROWID_BASE + 1}\b', text)  # the digits as they are, not a float
    assert orjson.loads(text)["results"][0]["uri"] == "b"


async def test_range_bounds_from_one_ascending_and_one_descending_query(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=[*WEB, *OTHER]) as emu:
        args: dict[str, Any] = {"numberOfResults": 1, "fieldsToInclude": ["rowid"]}
        _, low = await coveo_search(session, emu, '@source=="other"', sortCriteria="@rowid ascending", **args)
        _, high = await coveo_search(session, emu, '@source=="other"', sortCriteria="@rowid  Descending", **args)
        lo, hi = low["results"][0]["raw"]["rowid"], high["results"][0]["raw"]["rowid"]
        assert (lo, hi) == (ROWID_BASE + 30, ROWID_BASE + 39)
        _, middle = await coveo_search(
            session, emu, f'@source=="other" @rowid>{lo + 2} @rowid<={lo + 5}', sortCriteria="@rowid descending"
        )
    assert middle["totalCount"] == 3
    assert uris(middle) == ["https://o/5", "https://o/4", "https://o/3"]


async def test_total_count_is_the_whole_match_past_5000(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=[f"d{n}" for n in range(6000)]) as emu:
        _, body = await coveo_search(session, emu, '@source=="demo-source"', numberOfResults=0)
        assert body["totalCount"] == 6000
        _, body = await coveo_search(session, emu, f"@rowid>{ROWID_BASE + 999}", numberOfResults=1000)
    assert body["totalCount"] == 5000 and len(body["results"]) == 1000


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"numberOfResults": 1001}, "at most 1000"),
        ({"numberOfResults": 1000, "firstResult": 4001}, "at most 5000"),
        ({"sortCriteria": "@title ascending"}, "sortCriteria"),
    ],
)
async def test_the_page_and_window_limits_are_400(
    session: aiohttp.ClientSession, start: StartEmulator, body: dict[str, Any], says: str
) -> None:
    async with start(docs=["a"]) as emu:
        status, answer = await coveo_search(session, emu, '@source=="demo-source"', **body)
        assert (await coveo_search(session, emu, "@rowid>0", numberOfResults=1000, firstResult=4000))[0] == 200
    assert status == 400
    assert_coveo_error(answer, 400, "INVALID_PARAMETER")
    assert says in answer["message"]


async def test_an_unreadable_aq_is_400_invalid_query_syntax_naming_the_problem(
    session: aiohttp.ClientSession, emu: Emulator
) -> None:
    status, body = await coveo_search(session, emu, '(@source=="web"')
    assert status == 400
    assert_coveo_error(body, 400, "InvalidQuerySyntax")
    assert body["type"] == "InvalidQuerySyntax" and "unclosed parenthesis" in body["message"]


async def test_an_answer_over_the_response_cap_is_400_and_half_the_page_passes(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=[f"https://x/{n:04}" for n in range(400)], response_cap=60_000) as emu:
        status, body = await coveo_search(session, emu, "@rowid>0", numberOfResults=400)
        half, answer = await coveo_search(session, emu, "@rowid>0", numberOfResults=200)
    assert status == 400
    assert_coveo_error(body, 400, "ResponseExceededMaximumSizeException")
    assert body["type"] == "ResponseExceededMaximumSizeException"
    assert half == 200 and len(answer["results"]) == 200


async def test_search_latency_delays_every_answer(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a"], search_latency_ms=120) as emu:
        started = time.monotonic()
        await coveo_search(session, emu, '@uri=="a"')
        await coveo_search(session, emu, "(")
        elapsed = time.monotonic() - started
    assert elapsed >= 0.24  # a lower bound only: no upper bound on a busy machine


async def test_stats_count_what_a_client_must_get_right(session: aiohttp.ClientSession, emu: Emulator) -> None:
    await coveo_search(session, emu, '@uri=="a"')
    await coveo_search(session, emu, '@uri=="a"', maximumAge=None)
    await coveo_search(session, emu, '@uri=="a"', maximumAge=None)
    await coveo_search(session, emu, '@uri=="a"', view_all=False, numberOfResults=7)
    stats = emu.stats()
    assert (stats["searches"], stats["searches_cached"], stats["search_cache_hits"]) == (4, 2, 2)
    assert (stats["searches_without_view_all"], stats["search_max_page"], stats["search_results"]) == (1, 100, 4)
    assert stats["search_peak_inflight"] == 1


async def test_added_items_come_after_and_deleted_ones_go_per_the_pipeline(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=WEB[:6], processing_delay_s=60) as emu:
        _, first = await coveo_search(session, emu, "@rowid>0", numberOfResults=3, **listing(""))
        last = first["results"][-1]["raw"]["rowid"]
        await coveo_delete(session, emu, "https://w/4")
        emu.state.documents.add(DocSpec("https://w/new", "web"))
        emu.state.documents.add("https://w/0")  # present: keeps its row
        _, pending = await coveo_search(session, emu, f"@rowid>{last}", **listing(""))
        emu.advance(60)
        _, settled = await coveo_search(session, emu, f"@rowid>{last}", **listing(""))
    assert uris(pending) == ["https://w/3", "https://w/4", "https://w/5", "https://w/new"]
    assert uris(settled) == ["https://w/3", "https://w/5", "https://w/new"]
    assert settled["results"][-1]["raw"]["rowid"] == ROWID_BASE + 6


async def test_secured_items_need_view_all_content_in_a_listing(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=[f"d{n}" for n in range(40)], secured_rate=0.5, seed=2) as emu:
        secured = emu.state.secured
        _, hidden = await coveo_search(session, emu, "@rowid>0", view_all=False, numberOfResults=100, **listing(""))
        _, everything = await coveo_search(session, emu, "@rowid>0", numberOfResults=100, **listing(""))
    assert hidden["totalCount"] == 40 - len(secured) and not secured & set(uris(hidden))
    assert everything["totalCount"] == 40


async def get_source(session: aiohttp.ClientSession, emu: Emulator, source_id: str, **headers: str) -> tuple[int, Any]:
    url = f"{emu.base_url}/rest/organizations/{ORG}/sources/{source_id}"
    async with session.get(url, headers=headers or COVEO_AUTH) as resp:
        return resp.status, orjson.loads(await resp.read())


async def test_the_sources_api_resolves_ids_to_names_with_their_count(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=[*WEB, *OTHER, "plain"], source_ids=(("web", "org-web-1"),), api_key=KEY) as emu:
        assert await get_source(session, emu, "org-web-1") == (
            200,
            {"id": "org-web-1", "name": "web", "sourceType": "PUSH", "information": {"numberOfDocuments": 30}},
        )
        status, other = await get_source(session, emu, "other")
        assert (status, other["name"], other["information"]["numberOfDocuments"]) == (200, "other", 10)
        assert (await get_source(session, emu, "demo-source"))[1]["information"]["numberOfDocuments"] == 1
        for unknown in ("web", "nope"):  # a mapped name is not its own id
            status, body = await get_source(session, emu, unknown)
            assert status == 404
            assert_coveo_error(body, 404, "SOURCE_NOT_FOUND")
        status, body = await get_source(session, emu, "other", Authorization="Bearer wrong")
        assert status == 401
        emu.state.documents.delete("https://o/0")
        assert (await get_source(session, emu, "other"))[1]["information"]["numberOfDocuments"] == 9
        assert emu.stats()["documents_by_source"] == {"web": 30, "other": 9, "demo-source": 1}


async def test_a_source_the_push_api_addressed_exists(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a"]) as emu:
        assert (await get_source(session, emu, "mysource"))[0] == 404
        await coveo_delete(session, emu, "a")
        assert await get_source(session, emu, "mysource") == (
            200,
            {"id": "mysource", "name": "mysource", "sourceType": "PUSH", "information": {"numberOfDocuments": 0}},
        )


async def velt_get(session: aiohttp.ClientSession, emu: Emulator, **data: Any) -> tuple[int, Any]:
    body = orjson.dumps({"data": {"organizationId": ORG, **data}})
    url = f"{emu.base_url}/v2/organizations/documents/get"
    async with session.post(url, data=body, headers=VELT_AUTH) as resp:
        return resp.status, orjson.loads(await resp.read())


async def velt_list_all(session: aiohttp.ClientSession, emu: Emulator, **data: Any) -> list[list[dict[str, Any]]]:
    pages, token = [], None
    while True:
        status, body = await velt_get(session, emu, **data, **({"pageToken": token} if token else {}))
        assert status == 200, body
        pages.append(body["result"]["data"])
        token = body["result"]["pageToken"]
        if not token:
            return pages


FOLDERED = [DocSpec(f"v{n}", fields=(("folder", "f1" if n % 3 else "f2"),)) for n in range(10)]


async def test_velt_lists_by_page_token_to_the_end(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=[*FOLDERED, "loose"]) as emu:
        pages = await velt_list_all(session, emu, pageSize=4)
        in_f1 = await velt_list_all(session, emu, pageSize=3, folderId="f1")
        status, by_ids = await velt_get(session, emu, documentIds=["v0", "gone"])
    assert [[doc["id"] for doc in page] for page in pages] == [
        ["v0", "v1", "v2", "v3"],
        ["v4", "v5", "v6", "v7"],
        ["v8", "v9", "loose"],
    ]
    assert [doc["id"] for page in in_f1 for doc in page] == ["v1", "v2", "v4", "v5", "v7", "v8"]
    assert all(doc["folderId"] == "f1" for page in in_f1 for doc in page)
    assert "folderId" not in pages[-1][-1]
    assert status == 200 and [doc["id"] for doc in by_ids["result"]["data"]] == ["v0"]


async def test_velt_items_added_during_a_listing_come_last(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=[f"v{n}" for n in range(6)]) as emu:
        _, first = await velt_get(session, emu, pageSize=3)
        emu.state.documents.delete("v4")
        emu.state.documents.add("late")
        _, second = await velt_get(session, emu, pageSize=3, pageToken=first["result"]["pageToken"])
    assert [doc["id"] for doc in second["result"]["data"]] == ["v3", "v5", "late"]
    assert second["result"]["pageToken"] == ""


async def test_velt_repeats_a_token_on_demand(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=[f"v{n}" for n in range(10)], velt_repeat_token_after=2) as emu:
        _, first = await velt_get(session, emu, pageSize=2)
        token = first["result"]["pageToken"]
        _, second = await velt_get(session, emu, pageSize=2, pageToken=token)
        token = second["result"]["pageToken"]
        _, third = await velt_get(session, emu, pageSize=2, pageToken=token)
        stats = emu.stats()
    assert third["result"]["pageToken"] == token
    assert (stats["velt_list_pages"], stats["velt_listed"]) == (3, 6)


@pytest.mark.parametrize(
    ("data", "says"),
    [({"pageSize": 1001}, "pageSize"), ({"pageToken": "bm9wZQ"}, "pageToken"), ({"folderId": 3}, "folderId")],
)
async def test_velt_listing_rejects_bad_parameters(
    session: aiohttp.ClientSession, emu: Emulator, data: dict[str, Any], says: str
) -> None:
    status, body = await velt_get(session, emu, **data)
    assert status == 400
    assert body["error"]["status"] == "INVALID_ARGUMENT" and says in body["error"]["message"]


def test_velt_tokens_are_opaque_and_round_trip() -> None:
    token = encode_token(ROWID_BASE + 12)
    assert str(ROWID_BASE) not in token
    assert decode_token(token) == ROWID_BASE + 12


def test_docs_files_mix_ids_and_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text(
        'plain\n{"id": "https://w/1", "source": "web", "date": 1, "Author": "x", "folder": "f"}\n# c\n\n{"id": "j"}\n'
    )
    assert list(read_docs(path)) == [
        "plain",
        DocSpec("https://w/1", "web", 1, None, (("author", "x"), ("folder", "f"))),
        DocSpec("j"),
    ]
    path.write_text('a\n{"id": "b", "date": "yesterday"}\n')
    with pytest.raises(ValueError, match=r"docs.jsonl:2: date and indexeddate are integers"):
        list(read_docs(path))


async def test_admin_adds_json_documents_with_the_next_rowid(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=["a"]) as emu:
        payload = orjson.dumps(["b", {"id": "c", "source": "web", "date": 5}])
        async with session.post(f"{emu.base_url}/_emulator/documents", data=payload) as resp:
            assert (resp.status, (await resp.json())["added"]) == (200, 2)
        _, body = await coveo_search(session, emu, '@source=="web"', fieldsToInclude=["rowid", "date"])
    assert body["results"][0]["raw"] == {"rowid": ROWID_BASE + 2, "date": 5}


def test_the_help_documents_every_listing_flag(tmp_path: Path) -> None:
    result = CliRunner().invoke(emulator_command, ["--help"])
    for flag in ("--search-latency-ms", "--response-cap", "--source-id", "--velt-repeat-token-after", "JSON"):
        assert flag in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    result = CliRunner().invoke(emulator_command, ["--docs", str(bad)])
    assert result.exit_code == 2 and "bad.jsonl:1" in result.output
    result = CliRunner().invoke(emulator_command, ["--source-id", "web"])
    assert result.exit_code == 2 and "NAME=ID" in result.output
