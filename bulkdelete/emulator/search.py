"""Coveo Search API: ``POST /rest/search/v2?organizationId={org}[&viewAllContent=true]``, what ``verify`` and ``list``
ask (SPEC §11, §13).

Body (JSON): ``aq`` (required; the query language subset of ``query``), ``numberOfResults`` (default 10, at most
1,000), ``firstResult`` (default 0; ``firstResult + numberOfResults`` at most 5,000), ``sortCriteria``
(``@rowid ascending``, ``@rowid descending``; absent or ``relevancy``: by uri), ``fieldsToInclude``, ``maximumAge``
(milliseconds, as Coveo), ``viewAllContent`` (also accepted in the body); ``timezone`` and the rest are ignored.
Answer: ``{"totalCount", "totalCountFiltered", "results": [{"title", "uri", "printableUri", "clickUri",
"uniqueId", "raw"}], "duration", "searchUid"}``. ``raw`` holds ``uri``, ``title``, ``rowid`` (a JSON integer above
2^53), ``source``, ``date`` and ``indexeddate`` (epoch ms) and the document's extra fields; with
``fieldsToInclude``, only those. ``totalCount`` is the true count of the whole match. ``numberOfResults`` 0 gives no
results and that count. Errors: Coveo's body ``{"statusCode", "errorCode", "type", "message"}``:
``InvalidQuerySyntax`` (an ``aq`` the emulator cannot read, the message naming the problem), ``INVALID_PARAMETER``,
and ``ResponseExceededMaximumSizeException`` when the JSON answer would exceed ``response_cap`` bytes.

``@uri`` matches as Coveo's does: case-insensitively (the answer holds the stored spelling, so a client must compare
uris byte for byte); ``*=`` with ``*``/``?``; a quoted value holding a backslash is refused (400), not unescaped.
Secured documents (``secured_rate``) are seen only with ``viewAllContent``. A delete still pending in the pipeline is
still seen. Answers are cached per (organization, aq, viewAllContent, paging, fields, sort) for ``CACHE_TTL_S``: a
request without ``maximumAge`` (or with one > 0) gets a cached answer younger than that age, so a client that forgets
``"maximumAge": 0`` reads stale results; ``maximumAge: 0`` reads the live documents (and refreshes the cache).
Every answer waits ``search_latency_ms`` first. Same gate as the Push API (``coveo.gated``), without ``--refuse``
and the pause.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from bulkdelete.emulator.coveo import CoveoError, gated
from bulkdelete.emulator.query import QuerySyntaxError, parse
from bulkdelete.emulator.responses import JSON, coveo_error
from bulkdelete.emulator.selection import select
from bulkdelete.emulator.state import EmulatorState, SearchCache
from bulkdelete.emulator.store import ROWID_BASE, DocumentStore

ROUTE = "/rest/search/v2"
CACHE_TTL_S = 300.0
CACHE_MAX_ENTRIES = 10_000
MAX_RESULTS = 1000
"""The most ``numberOfResults`` may ask (SPEC §13: a listing page)."""
MAX_WINDOW = 5000
"""``firstResult + numberOfResults`` at most: the Search API's window."""
DEFAULT_RESULTS = 10
SORTS = {"": "uri", "relevancy": "uri", "@rowid ascending": "ascending", "@rowid descending": "descending"}


def search_error(status: int, code: str, message: str) -> CoveoError:
    """A Search API error: Coveo's body, with ``type`` as the Search API names it."""
    return CoveoError(status, code, message, type=code)


@dataclass(frozen=True, slots=True)
class SearchRequest:
    aq: str
    first: int
    count: int
    fields: tuple[str, ...] | None
    max_age_s: float
    view_all: bool
    order: str


async def search(request: web.Request, state: EmulatorState, org: str) -> web.Response:
    started = time.perf_counter()
    stats = state.stats
    stats.searches += 1
    stats.search_started()
    try:
        if state.config.search_latency_ms:
            await asyncio.sleep(state.config.search_latency_ms / 1000)
        req = _parse_request(request, await request.read())
        stats.searches_cached += req.max_age_s > 0
        stats.searches_without_view_all += not req.view_all
        stats.search_max_page = max(stats.search_max_page, req.count)
        total, rows = _cached_answer(state, org, req)
        duration = max(1, round((time.perf_counter() - started) * 1000))
        results = _results(state.documents, rows, req.fields)
        payload = {
            "totalCount": total,
            "totalCountFiltered": total,
            "results": results,
            "duration": duration,
            "searchUid": str(uuid.uuid4()),
        }
        body = orjson.dumps(payload)
        cap = state.config.response_cap
        if cap is not None and len(body) > cap:
            message = f"The response exceeded the maximum size of {cap} bytes ({len(body)}): ask fewer results."
            raise search_error(400, "ResponseExceededMaximumSizeException", message)
        stats.search_results += len(results)
        return web.Response(body=body, content_type=JSON)
    finally:
        stats.search_finished()


def _cached_answer(state: EmulatorState, org: str, req: SearchRequest) -> tuple[int, tuple[int, ...]]:
    now = state.now()
    cache = state.search_cache
    _evict(cache, now)
    key = (org, req.aq, req.view_all, req.first, req.count, req.fields, req.order)
    hit = cache.get(key)
    if hit is not None and req.max_age_s > 0 and now - hit[0] <= req.max_age_s:
        state.stats.search_cache_hits += 1
        return hit[1]
    answer = _answer(state, req)
    cache.pop(key, None)  # re-inserted last: the dict stays in age order
    cache[key] = (now, answer)
    return answer


def _answer(state: EmulatorState, req: SearchRequest) -> tuple[int, tuple[int, ...]]:
    """``(totalCount, the page's rows)``: what the cache keeps (rows never change: a cached page stays whole)."""
    try:
        node = parse(req.aq)
        hidden = None if req.view_all or not state.secured else state.secured
        matches = select(state.documents, node, int(state.wall() * 1000), state.selections, hidden)
    except QuerySyntaxError as exc:
        raise search_error(400, "InvalidQuerySyntax", f"Invalid aq {req.aq!r}: {exc}.") from None
    rows = matches.rows(req.first + req.count, req.order) if req.count else []
    return matches.total, tuple(rows[req.first :])


def _results(documents: DocumentStore, rows: tuple[int, ...], fields: tuple[str, ...] | None) -> list[dict[str, Any]]:
    wanted = None if fields is None else frozenset(name.lower().lstrip("@") for name in fields)
    return [_result(documents, row, wanted) for row in rows]


def _result(documents: DocumentStore, row: int, wanted: frozenset[str] | None) -> dict[str, Any]:
    uri = documents.row_ids[row]
    title = uri.rstrip("/").rsplit("/", 1)[-1] or uri
    raw = {
        "uri": uri,
        "title": title,
        "rowid": ROWID_BASE + row,
        "source": documents.source_of(row),
        "date": documents.date_of(row),
        "indexeddate": documents.indexeddate_of(row),
        **documents.extra_of(row),
    }
    if wanted is not None:
        raw = {name: value for name, value in raw.items() if name in wanted}
    unique = f"42.{zlib.crc32(uri.encode('utf-8', 'surrogatepass')) % 100000}${uri}"
    return {"title": title, "uri": uri, "printableUri": uri, "clickUri": uri, "uniqueId": unique, "raw": raw}


def _evict(cache: SearchCache, now: float) -> None:
    """Drop answers older than the TTL, and the oldest past ``CACHE_MAX_ENTRIES``."""
    while cache:
        oldest = next(iter(cache))
        if now - cache[oldest][0] <= CACHE_TTL_S and len(cache) <= CACHE_MAX_ENTRIES:
            return
        del cache[oldest]


def _parse_request(request: web.Request, body: bytes) -> SearchRequest:
    try:
        doc: Any = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError:
        raise search_error(400, "INVALID_JSON", "The request body is not valid JSON.") from None
    if not isinstance(doc, dict):
        raise search_error(400, "INVALID_JSON", "The request body must be a JSON object.")
    aq = doc.get("aq")
    if not isinstance(aq, str) or not aq.strip():
        raise search_error(400, "InvalidQuerySyntax", "The emulator needs an aq expression (@field==value …).")
    count, first = _int_field(doc, "numberOfResults", DEFAULT_RESULTS), _int_field(doc, "firstResult", 0)
    if count > MAX_RESULTS:
        raise search_error(400, "INVALID_PARAMETER", f"numberOfResults must be at most {MAX_RESULTS} (got {count}).")
    if first + count > MAX_WINDOW:
        message = f"firstResult + numberOfResults must be at most {MAX_WINDOW} (got {first} + {count})."
        raise search_error(400, "INVALID_PARAMETER", message)
    fields = doc.get("fieldsToInclude")
    if fields is not None and (not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)):
        raise search_error(400, "INVALID_PARAMETER", "fieldsToInclude must be a list of field names.")
    max_age = doc.get("maximumAge")
    if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int)):
        message = f"maximumAge must be an integer of milliseconds (got {max_age!r})."
        raise search_error(400, "INVALID_PARAMETER", message)
    return SearchRequest(
        aq=aq,
        first=first,
        count=count,
        fields=None if fields is None else tuple(fields),
        # Absent or negative: Coveo's default age; never more than the cache keeps.
        max_age_s=CACHE_TTL_S if max_age is None or max_age < 0 else min(max_age / 1000.0, CACHE_TTL_S),
        view_all=_view_all(request.query.get("viewAllContent"), doc.get("viewAllContent")),
        order=_order(doc.get("sortCriteria")),
    )


def _order(sort: Any) -> str:
    text = " ".join(sort.lower().split()) if isinstance(sort, str) else sort
    if sort is None or (isinstance(text, str) and text in SORTS):
        return SORTS[text or ""]
    message = f"sortCriteria must be @rowid ascending, @rowid descending or relevancy in the emulator (got {sort!r})."
    raise search_error(400, "INVALID_PARAMETER", message)


def _int_field(doc: dict[str, Any], name: str, default: int) -> int:
    value = doc.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise search_error(400, "INVALID_PARAMETER", f"{name} must be an integer >= 0 (got {value!r}).")
    return value


def _view_all(param: str | None, field: Any) -> bool:
    if param is not None and param.lower() not in ("true", "false"):
        raise search_error(400, "INVALID_PARAMETER", f"viewAllContent must be true or false (got {param!r}).")
    if field is not None and not isinstance(field, bool):
        raise search_error(400, "INVALID_PARAMETER", f"viewAllContent must be a boolean (got {field!r}).")
    return (param or "").lower() == "true" or field is True


def _org_param(request: web.Request) -> str:
    org = request.query.get("organizationId", "")
    if not org:
        raise search_error(400, "MISSING_PARAMETER", "Required parameter organizationId is missing.")
    return org


async def _not_allowed(request: web.Request) -> web.Response:
    return coveo_error(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here: POST a query.")


def add_routes(app: web.Application) -> None:
    app.router.add_post(ROUTE, gated(search, "search", _org_param))
    # Any other method is the Search API's 405, not a document of the REST API's collection "search".
    app.router.add_route("*", ROUTE, _not_allowed)
