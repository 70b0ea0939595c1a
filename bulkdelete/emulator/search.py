"""Coveo Search API: ``POST /rest/search/v2?organizationId={org}[&viewAllContent=true]``, what ``verify`` asks.

Body (JSON): ``aq`` (required), ``numberOfResults`` (default 10, at most 2,000), ``firstResult`` (default 0),
``fieldsToInclude``, ``maximumAge`` (milliseconds, as Coveo), ``viewAllContent`` (also accepted in the body). Answer:
``{"totalCount", "totalCountFiltered", "results": [{"title", "uri", "printableUri", "clickUri", "uniqueId",
"raw"}], "duration", "searchUid"}``, ``results`` sorted by uri and paged; ``numberOfResults`` 0 gives no results and
the true ``totalCount``.

``aq`` forms (anything else: 400 ``InvalidQuerySyntax``): ``@uri=="ID"``, ``@uri==("ID1","ID2",…)`` (exact,
case-insensitive: the answer holds the stored spelling, so a client must compare uris byte for byte), ``@uri*="P*"``
(a trailing ``*``: every uri starting with ``P``, case-insensitive; no ``*``: as ``==``), ``@uri*=(…)``. Strings are
in ``"``; one holding a backslash is refused (400) rather than unescaped.

Secured documents (``secured_rate``) are seen only with ``viewAllContent``. A delete still pending in the
pipeline is still seen. Answers are cached per (organization, aq, viewAllContent, paging, fields) for
``CACHE_TTL_S``: a request without ``maximumAge`` (or with one > 0) gets a cached answer younger than that age, so
a client that forgets ``"maximumAge": 0`` reads stale results; ``maximumAge: 0`` reads the live documents (and
refreshes the cache). Same gate as the Push API (``coveo.gated``), without ``--refuse`` and the pause.
"""

from __future__ import annotations

import re
import time
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from bulkdelete.emulator.coveo import CoveoError, gated
from bulkdelete.emulator.responses import coveo_error, json_response
from bulkdelete.emulator.state import EmulatorState, SearchCache
from bulkdelete.emulator.store import DocumentStore

ROUTE = "/rest/search/v2"
CACHE_TTL_S = 300.0
CACHE_MAX_ENTRIES = 10_000
MAX_RESULTS = 2000
DEFAULT_RESULTS = 10

_FIELD_RE = re.compile(r"\s*@uri\s*(==|\*=)\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class UriQuery:
    """A parsed ``aq``: the quoted values, and whether the operator is the wildcard ``*=``."""

    values: tuple[str, ...]
    wildcard: bool


def parse_aq(aq: str) -> UriQuery:
    """Parse the supported ``aq`` forms; raise ``ValueError`` saying what is wrong."""
    match = _FIELD_RE.match(aq)
    if match is None:
        raise ValueError('the emulator supports only @uri=="…", @uri==("…",…) and @uri*="…*"')
    pos = match.end()
    if aq.startswith("(", pos):
        values: list[str] = []
        while True:
            value, pos = _quoted(aq, pos + 1)
            values.append(value)
            pos = _skip_space(aq, pos)
            if aq.startswith(")", pos):
                pos += 1
                break
            if not aq.startswith(",", pos):
                raise ValueError(f"expected , or ) at offset {pos}")
    else:
        value, pos = _quoted(aq, pos)
        values = [value]
    if aq[pos:].strip():
        raise ValueError(f"unexpected text at offset {pos}: {aq[pos:]!r}")
    return UriQuery(tuple(values), match[1] == "*=")


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _quoted(text: str, pos: int) -> tuple[str, int]:
    """The ``"…"`` string at ``pos`` (leading spaces skipped) and the offset just past it."""
    pos = _skip_space(text, pos)
    if not text.startswith('"', pos):
        raise ValueError(f'expected a "quoted" value at offset {pos}')
    end = text.find('"', pos + 1)
    if end < 0:
        raise ValueError(f"unterminated string at offset {pos}")
    value = text[pos + 1 : end]
    if "\\" in value:
        raise ValueError(f"escapes in quoted values are not supported (at offset {pos})")
    return value, end + 1


def match(documents: DocumentStore, query: UriQuery) -> list[str]:
    """Stored ids the query matches, sorted, each once. With ``*=``, ``*`` matches any run of characters and ``?``
    any one character, anywhere in the value (case-insensitively, as ``==`` matches)."""
    found: set[str] = set()
    for value in query.values:
        cut = min((i for i in (value.find("*"), value.find("?")) if i >= 0), default=-1)
        if not query.wildcard or cut < 0:
            found.update(documents.ids_folded(value))
        elif cut == len(value) - 1 and value.endswith("*"):
            found.update(documents.ids_folded(value[:-1], prefix=True))
        else:
            pattern = re.compile(
                "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value),
                re.IGNORECASE | re.DOTALL,
            )
            candidates = documents.ids_folded(value[:cut], prefix=True)
            found.update(uri for uri in candidates if pattern.fullmatch(uri))
    return sorted(found)


@dataclass(frozen=True, slots=True)
class SearchRequest:
    aq: str
    first: int
    count: int
    fields: tuple[str, ...] | None
    max_age_s: float
    view_all: bool


async def search(request: web.Request, state: EmulatorState, org: str) -> web.Response:
    started = time.perf_counter()
    state.stats.searches += 1
    req = _parse_request(request, await request.read())
    try:
        query = parse_aq(req.aq)
    except ValueError as exc:
        raise CoveoError(400, "InvalidQuerySyntax", f"Invalid aq {req.aq!r}: {exc}.") from None
    now = state.now()
    cache = state.search_cache
    _evict(cache, now)
    key = (org, req.aq, req.view_all, req.first, req.count, req.fields)
    hit = cache.get(key)
    if hit is not None and req.max_age_s > 0 and now - hit[0] <= req.max_age_s:
        total, page = hit[1]
    else:
        total, page = _answer(state, query, req)
        cache.pop(key, None)  # re-inserted last: the dict stays in age order
        cache[key] = (now, (total, page))
    duration = max(1, round((time.perf_counter() - started) * 1000))
    results = [_result(uri, req.fields) for uri in page]
    return json_response(
        {
            "totalCount": total,
            "totalCountFiltered": total,
            "results": results,
            "duration": duration,
            "searchUid": str(uuid.uuid4()),
        }
    )


def _answer(state: EmulatorState, query: UriQuery, req: SearchRequest) -> tuple[int, tuple[str, ...]]:
    """``(totalCount, the page's uris)``: what the cache keeps (the uris are the store's own strings)."""
    uris = match(state.documents, query)
    if not req.view_all and state.secured:
        uris = [uri for uri in uris if uri not in state.secured]
    return len(uris), tuple(uris[req.first : req.first + req.count])


def _result(uri: str, fields: tuple[str, ...] | None) -> dict[str, Any]:
    title = uri.rstrip("/").rsplit("/", 1)[-1] or uri
    raw = {"uri": uri, "title": title}
    if fields is not None:
        raw = {name: value for name, value in raw.items() if name in fields}
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
        raise CoveoError(400, "INVALID_JSON", "The request body is not valid JSON.") from None
    if not isinstance(doc, dict):
        raise CoveoError(400, "INVALID_JSON", "The request body must be a JSON object.")
    aq = doc.get("aq")
    if not isinstance(aq, str) or not aq.strip():
        raise CoveoError(400, "InvalidQuerySyntax", "The emulator needs an aq expression on @uri.")
    count = _int_field(doc, "numberOfResults", DEFAULT_RESULTS)
    if count > MAX_RESULTS:
        raise CoveoError(400, "INVALID_PARAMETER", f"numberOfResults must be at most {MAX_RESULTS} (got {count}).")
    fields = doc.get("fieldsToInclude")
    if fields is not None and (not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)):
        raise CoveoError(400, "INVALID_PARAMETER", "fieldsToInclude must be a list of field names.")
    max_age = doc.get("maximumAge")
    if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int)):
        raise CoveoError(400, "INVALID_PARAMETER", f"maximumAge must be an integer of milliseconds (got {max_age!r}).")
    return SearchRequest(
        aq=aq,
        first=_int_field(doc, "firstResult", 0),
        count=count,
        fields=None if fields is None else tuple(fields),
        # Absent or negative: Coveo's default age; never more than the cache keeps.
        max_age_s=CACHE_TTL_S if max_age is None or max_age < 0 else min(max_age / 1000.0, CACHE_TTL_S),
        view_all=_view_all(request.query.get("viewAllContent"), doc.get("viewAllContent")),
    )


def _int_field(doc: dict[str, Any], name: str, default: int) -> int:
    value = doc.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CoveoError(400, "INVALID_PARAMETER", f"{name} must be an integer >= 0 (got {value!r}).")
    return value


def _view_all(param: str | None, field: Any) -> bool:
    if param is not None and param.lower() not in ("true", "false"):
        raise CoveoError(400, "INVALID_PARAMETER", f"viewAllContent must be true or false (got {param!r}).")
    if field is not None and not isinstance(field, bool):
        raise CoveoError(400, "INVALID_PARAMETER", f"viewAllContent must be a boolean (got {field!r}).")
    return (param or "").lower() == "true" or field is True


def _org_param(request: web.Request) -> str:
    org = request.query.get("organizationId", "")
    if not org:
        raise CoveoError(400, "MISSING_PARAMETER", "Required parameter organizationId is missing.")
    return org


async def _not_allowed(request: web.Request) -> web.Response:
    return coveo_error(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here: POST a query.")


def add_routes(app: web.Application) -> None:
    app.router.add_post(ROUTE, gated(search, "search", _org_param))
    # Any other method is the Search API's 405, not a document of the REST API's collection "search".
    app.router.add_route("*", ROUTE, _not_allowed)
