"""Coveo Search API: the aq forms, case-insensitive matching, secured documents, paging, the cache, the gate."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest

from bulkdelete.emulator import DocumentStore, Emulator, Quota
from bulkdelete.emulator.query import QuerySyntaxError, Term, Value, parse
from tests.emulator.emu_helpers import (
    COVEO_AUTH,
    KEY,
    TRICKY_IDS,
    StartEmulator,
    assert_coveo_error,
    coveo_delete,
    coveo_search,
    uris,
)

DOCS = ["https://e.com/A", "https://e.com/A/1", "https://e.com/A/2", "https://e.com/AB", "https://e.com/b", *TRICKY_IDS]


@pytest.mark.parametrize(
    ("aq", "expected"),
    [
        ('@uri=="a"', Term("uri", "==", (Value("a", True),))),
        (' @URI == "a b" ', Term("uri", "==", (Value("a b", True),))),
        ('@uri==("a","b c", "d")', Term("uri", "==", (Value("a", True), Value("b c", True), Value("d", True)))),
        ('@uri*="a/*"', Term("uri", "*=", (Value("a/*", True),))),
        ('@uri*=("a/*","b")', Term("uri", "*=", (Value("a/*", True), Value("b", True)))),
        ('@uri=="a*b"', Term("uri", "==", (Value("a*b", True),))),
    ],
)
def test_parse_reads_the_uri_forms_verify_sends(aq: str, expected: Term) -> None:
    assert parse(aq) == expected


@pytest.mark.parametrize(
    "aq",
    [
        '@uri=="a',
        '@uri=="a\\"b"',
        '@uri=="a\\\\b"',
        '@uri==("a" "b")',
        '@uri==("a",)',
        "@uri==()",
        "free text",
        "",
    ],
)
def test_parse_rejects_what_it_cannot_read(aq: str) -> None:
    with pytest.raises(QuerySyntaxError):
        parse(aq)


def test_store_folds_case_and_keeps_the_stored_spellings() -> None:
    store = DocumentStore(["Doc", "doc", "DOC/x", "other"])
    assert sorted(store.ids_folded("dOc")) == ["Doc", "doc"]
    assert sorted(store.ids_folded("doc", prefix=True)) == ["DOC/x", "Doc", "doc"]
    store.delete("doc")
    store.add("NEW")
    assert store.ids_folded("doc") == ["Doc"]
    assert store.ids_folded("new") == ["NEW"]
    store.add("doc")
    assert sorted(store.ids_folded("DOC")) == ["Doc", "doc"]


@pytest.fixture
async def emu(start: StartEmulator) -> AsyncIterator[Emulator]:
    async with start(docs=DOCS) as running:
        yield running


async def test_exact_match_returns_each_found_id_with_the_result_fields(
    session: aiohttp.ClientSession, emu: Emulator
) -> None:
    status, body = await coveo_search(session, emu, '@uri==("https://e.com/b","https://e.com/none")')
    assert status == 200
    assert body["totalCount"] == 1
    (result,) = body["results"]
    assert result["uri"] == result["clickUri"] == "https://e.com/b"
    assert result["title"] and result["uniqueId"]
    assert body["searchUid"] and body["duration"] >= 1


async def test_exact_match_is_case_insensitive_and_answers_the_stored_spelling(
    session: aiohttp.ClientSession, emu: Emulator
) -> None:
    _, body = await coveo_search(session, emu, '@uri=="HTTPS://E.COM/a"')
    assert uris(body) == ["https://e.com/A"]


@pytest.mark.parametrize("doc_id", TRICKY_IDS)
async def test_tricky_ids_are_found_exactly(session: aiohttp.ClientSession, emu: Emulator, doc_id: str) -> None:
    _, body = await coveo_search(session, emu, f'@uri=="{doc_id}"')
    assert uris(body) == [doc_id]


async def test_wildcard_finds_descendants_only(session: aiohttp.ClientSession, emu: Emulator) -> None:
    _, body = await coveo_search(session, emu, '@uri*="https://e.com/a/*"')
    assert uris(body) == ["https://e.com/A/1", "https://e.com/A/2"]
    _, body = await coveo_search(session, emu, '@uri*="https://e.com/A/*"', numberOfResults=0)
    assert (body["totalCount"], body["results"]) == (2, [])


async def test_paging_honours_first_result_and_number_of_results(session: aiohttp.ClientSession, emu: Emulator) -> None:
    aq = '@uri*="https://e.com/*"'
    _, everything = await coveo_search(session, emu, aq)
    assert everything["totalCount"] == 5
    _, page = await coveo_search(session, emu, aq, firstResult=1, numberOfResults=2)
    assert page["totalCount"] == 5
    assert uris(page) == uris(everything)[1:3]
    _, default = await coveo_search(session, emu, aq, numberOfResults=None)
    assert len(default["results"]) == 5  # Coveo's default page is 10


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"aq": "title x"}, "InvalidQuerySyntax"),
        ({"aq": '@uri=="a\\"b"'}, "InvalidQuerySyntax"),
        ({"aq": ""}, "InvalidQuerySyntax"),
        ({"aq": '@uri=="a"', "numberOfResults": 1001}, "INVALID_PARAMETER"),
        ({"aq": '@uri=="a"', "numberOfResults": -1}, "INVALID_PARAMETER"),
        ({"aq": '@uri=="a"', "firstResult": "0"}, "INVALID_PARAMETER"),
        ({"aq": '@uri=="a"', "maximumAge": "0"}, "INVALID_PARAMETER"),
        ({"aq": '@uri=="a"', "fieldsToInclude": "uri"}, "INVALID_PARAMETER"),
        ({"aq": '@uri=="a"', "viewAllContent": "yes"}, "INVALID_PARAMETER"),
    ],
)
async def test_bad_requests_are_400_with_a_coveo_body(
    session: aiohttp.ClientSession, emu: Emulator, body: dict[str, object], code: str
) -> None:
    url = f"{emu.base_url}/rest/search/v2"
    async with session.post(url, params={"organizationId": "o"}, data=orjson.dumps(body), headers=COVEO_AUTH) as resp:
        assert resp.status == 400
        assert_coveo_error(await resp.json(), 400, code)


async def test_organization_id_is_required(session: aiohttp.ClientSession, emu: Emulator) -> None:
    url = f"{emu.base_url}/rest/search/v2"
    async with session.post(url, data=b'{"aq": "@uri==\\"a\\""}', headers=COVEO_AUTH) as resp:
        assert resp.status == 400
        assert_coveo_error(await resp.json(), 400, "MISSING_PARAMETER")


async def test_secured_documents_need_view_all_content(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    ids = [f"https://s.com/{i}" for i in range(40)]
    async with start(docs=ids, secured_rate=0.5, seed=1) as emu:
        secured = emu.state.secured
        assert 5 < len(secured) < 35
        aq = '@uri*="https://s.com/*"'
        _, hidden = await coveo_search(session, emu, aq, view_all=False)
        assert set(uris(hidden)) == set(ids) - secured
        assert hidden["totalCount"] == len(ids) - len(secured)
        _, everything = await coveo_search(session, emu, aq)
        assert set(uris(everything)) == set(ids)
        _, in_body = await coveo_search(session, emu, aq, view_all=False, viewAllContent=True)
        assert in_body["totalCount"] == len(ids)


async def test_secured_rate_is_repeatable_with_a_seed(start: StartEmulator) -> None:
    ids = [f"d{i}" for i in range(50)]
    async with start(docs=ids, secured_rate=0.3, seed=9) as first, start(docs=ids, secured_rate=0.3, seed=9) as again:
        assert first.state.secured == again.state.secured


async def test_cache_without_maximum_age_is_stale_while_maximum_age_0_reads_live(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=["a", "b"], processing_delay_s=60) as emu:
        aq = '@uri==("a","b")'
        _, cached = await coveo_search(session, emu, aq, maximumAge=None)
        assert uris(cached) == ["a", "b"]
        await coveo_delete(session, emu, "a")
        _, live = await coveo_search(session, emu, aq, maximumAge=None)
        assert uris(live) == ["a", "b"]  # pending: still in the index anyway
        emu.advance(60)
        assert "a" not in emu.state.documents
        _, stale = await coveo_search(session, emu, aq, maximumAge=None)
        assert uris(stale) == ["a", "b"]
        _, stale = await coveo_search(session, emu, aq, maximumAge=120_000)  # milliseconds, as Coveo
        assert uris(stale) == ["a", "b"]
        _, young_enough = await coveo_search(session, emu, aq, maximumAge=30_000)
        assert uris(young_enough) == ["b"]
        emu.advance(1)
        _, fresh = await coveo_search(session, emu, aq, maximumAge=0)
        assert uris(fresh) == ["b"]


async def test_cached_answers_expire_after_300_s(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a"]) as emu:
        await coveo_search(session, emu, '@uri=="a"', maximumAge=None)
        emu.state.documents.delete("a")
        emu.advance(299)
        _, body = await coveo_search(session, emu, '@uri=="a"', maximumAge=None)
        assert uris(body) == ["a"]
        emu.advance(2)
        _, body = await coveo_search(session, emu, '@uri=="a"', maximumAge=None)
        assert uris(body) == []


async def test_the_cache_key_includes_view_all_content_and_paging(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=["a", "b"]) as emu:
        await coveo_search(session, emu, '@uri==("a","b")', maximumAge=None)
        emu.state.documents.delete("a")
        _, other_page = await coveo_search(session, emu, '@uri==("a","b")', maximumAge=None, numberOfResults=5)
        assert uris(other_page) == ["b"]
        _, other_view = await coveo_search(session, emu, '@uri==("a","b")', maximumAge=None, view_all=False)
        assert uris(other_view) == ["b"]


async def test_search_shares_the_push_api_quota(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a"], quota=Quota(2, 60.0), retry_after=3) as emu:
        status, _, _ = await coveo_delete(session, emu, "x")
        assert status == 202
        assert (await coveo_search(session, emu, '@uri=="a"'))[0] == 200
        status, body = await coveo_search(session, emu, '@uri=="a"')
        assert status == 429
        assert_coveo_error(body, 429, "TOO_MANY_REQUESTS")


async def test_search_auth_follows_the_push_api(session: aiohttp.ClientSession, start: StartEmulator) -> None:
    async with start(docs=["a"], api_key=KEY) as emu:
        status, body = await coveo_search(session, emu, '@uri=="a"', headers={"Authorization": "Bearer nope"})
        assert status == 401
        assert_coveo_error(body, 401, "INVALID_TOKEN")
        status, body = await coveo_search(session, emu, '@uri=="a"', headers={})
        assert status == 401
        assert (await coveo_search(session, emu, '@uri=="a"'))[0] == 200


async def test_search_gets_fail_rate_faults_but_not_refusals(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=["a"], fail_rate=1.0) as emu:
        status, body = await coveo_search(session, emu, '@uri=="a"')
        assert status == 503
        assert_coveo_error(body, 503, "SERVICE_UNAVAILABLE")
    async with start(docs=["a"], refuse=(400, "INVALID_PARAMETER"), org_paused=True) as emu:
        assert (await coveo_search(session, emu, '@uri=="a"'))[0] == 200


async def test_searches_are_counted_in_stats(session: aiohttp.ClientSession, emu: Emulator) -> None:
    await coveo_search(session, emu, '@uri=="a"')
    await coveo_search(session, emu, '@uri=="a"')
    stats = emu.stats()
    assert (stats["searches"], stats["requests"], stats["by_status"]) == (2, 2, {"200": 2})


async def test_unknown_method_on_the_search_route_answers_a_coveo_body(
    session: aiohttp.ClientSession, emu: Emulator
) -> None:
    async with session.get(f"{emu.base_url}/rest/search/v2", headers=COVEO_AUTH) as resp:
        assert resp.status == 405
        assert_coveo_error(await resp.json(), 405, "METHOD_NOT_ALLOWED")


async def test_wildcards_match_anywhere_in_the_value_and_case_insensitively(
    session: aiohttp.ClientSession, start: StartEmulator
) -> None:
    async with start(docs=["https://x/a?b=1/c", "https://x/A?b=2/d", "https://x/ab/c", "https://x/zz"]) as emu:
        _, body = await coveo_search(session, emu, '@uri*="https://x/a?b=1/*"')
        assert uris(body) == ["https://x/a?b=1/c"]
        _, body = await coveo_search(session, emu, '@uri*="https://x/a?b=?/*"')
        assert uris(body) == ["https://x/A?b=2/d", "https://x/a?b=1/c"]
        _, body = await coveo_search(session, emu, '@uri*="https://x/*/c"')
        assert uris(body) == ["https://x/a?b=1/c", "https://x/ab/c"]
