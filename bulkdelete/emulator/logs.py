"""Coveo Logs API: ``POST /logs/v1/organizations/{org}?from=…&to=…&page=N&perPage=M``, the indexing outcomes.

``from``/``to``: W3C date-times (``2026-12-03T09:00:00.000Z``; no offset means UTC), both required, ``from`` ≤
``to``, at most 7 days apart (else 400 ``INVALID_PARAMETER``). ``page`` from 0; ``perPage`` 1 to 1,000, default 100.
Body (JSON, every filter optional, an empty body is no filter): ``{"sourcesIds": […], "operations": ["DELETE",
"DELETE_AND_CHILDREN"], "results": ["COMPLETED", "ERROR", …]}``. Answer: ``{"documentLogEntries": [{"id",
"operation", "result", "task", "datetime", "meta", "requestId", "organizationId", "sourceId"}], "hasNextPage"}``,
the organization's entries in the window (both ends included) ordered by ``datetime`` (wall clock, ms, ``Z``).
``requestId`` is the ``X-Request-ID`` the delete (or the batch push) was answered with.

The entries are the indexing pipeline's (``pipeline.LogEntry``): one per Coveo delete once it came due, ``COMPLETED``
or ``ERROR`` (``delete_fail_rate``, a reason in ``meta.error``), task ``INDEXING``. Same gate as the Push API
(``coveo.gated``) without ``--refuse`` and the pause, plus ``logs_denied``: 403 ``ACCESS_DENIED``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiohttp import web
from multidict import MultiMapping

from bulkdelete.emulator.coveo import CoveoError, gated
from bulkdelete.emulator.pipeline import AT, FIELD, ORG, LogEntry
from bulkdelete.emulator.responses import json_response
from bulkdelete.emulator.state import EmulatorState

ROUTE = "/logs/v1/organizations/{org}"
MAX_WINDOW = timedelta(days=7)
DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000
_FILTERS = (("sourcesIds", FIELD["source"]), ("operations", FIELD["operation"]), ("results", FIELD["result"]))


async def query_logs(request: web.Request, state: EmulatorState, org: str) -> web.Response:
    state.stats.log_queries += 1
    query = request.query
    start, end = _time(query, "from"), _time(query, "to")
    if end < start:
        raise CoveoError(400, "INVALID_PARAMETER", "from must not be after to.")
    if end - start > MAX_WINDOW:
        raise CoveoError(400, "INVALID_PARAMETER", "from and to must be at most 7 days apart.")
    page = _int(query, "page", 0, 0, None)
    per_page = _int(query, "perPage", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    filters = _filters(await request.read())
    low, high = start.timestamp(), end.timestamp()
    # Filtered on the stored tuples: only the matches become ``LogEntry``s.
    entries = [
        LogEntry._make(raw)
        for raw in state.pipeline.log
        if raw[ORG] == org and low <= raw[AT] <= high and all(raw[index] in allowed for index, allowed in filters)
    ]
    entries.sort(key=lambda entry: entry.at)  # already in order unless the wall clock stepped back
    first = page * per_page
    chunk = entries[first : first + per_page]
    return json_response(
        {"documentLogEntries": [_entry(entry) for entry in chunk], "hasNextPage": first + per_page < len(entries)}
    )


def w3c(at: float) -> str:
    """Epoch seconds → ``2026-12-03T09:12:44.120Z``."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _entry(entry: LogEntry) -> dict[str, Any]:
    return {
        "id": entry.doc_id,
        "operation": entry.operation,
        "result": entry.result,
        "task": entry.task,
        "datetime": w3c(entry.at),
        "meta": dict(entry.meta),
        "requestId": entry.request_id,
        "organizationId": entry.org,
        "sourceId": entry.source,
    }


def _time(query: MultiMapping[str], name: str) -> datetime:
    raw = query.get(name)
    if not raw:
        raise CoveoError(400, "MISSING_PARAMETER", f"Required parameter {name} is missing.")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise CoveoError(400, "INVALID_PARAMETER", f"{name} must be a W3C date-time (got {raw!r}).") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _int(query: MultiMapping[str], name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bounds = f"{low} to {high}" if high is not None else f">= {low}"
        raise CoveoError(400, "INVALID_PARAMETER", f"{name} must be an integer {bounds} (got {raw!r}).")
    return value


def _filters(body: bytes) -> list[tuple[int, frozenset[str]]]:
    """The body's filters as (``LogEntry`` field index, accepted values)."""
    try:
        doc: Any = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError:
        raise CoveoError(400, "INVALID_JSON", "The request body is not valid JSON.") from None
    if not isinstance(doc, dict):
        raise CoveoError(400, "INVALID_JSON", "The request body must be a JSON object.")
    filters = []
    for key, index in _FILTERS:
        values = doc.get(key)
        if values is not None and (not isinstance(values, list) or not all(isinstance(v, str) for v in values)):
            raise CoveoError(400, "INVALID_PARAMETER", f"{key} must be a list of strings.")
        if values:  # absent, null or empty: no filter
            filters.append((index, frozenset(values)))
    return filters


def add_routes(app: web.Application) -> None:
    app.router.add_post(ROUTE, gated(query_logs, "logs", lambda request: request.match_info["org"]))
