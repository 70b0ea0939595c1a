"""Coveo Push API routes, under ``/push/v1/organizations/{org}``, and the gate every Coveo API shares (``gated``).

Every source shares the emulator's one document set. Deletes (per item, and a batch's ``delete`` entries) go
through the indexing pipeline (``pipeline``): at once by default, ``processing_delay_s`` later, or never.
``documents/olderthan`` is recorded (the emulator can't know when items were pushed), and deletes everything only
with ``olderthan_clears``.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import orjson
from aiohttp import web
from multidict import MultiMapping

from bulkdelete.emulator.faults import STATE_KEY, request_id
from bulkdelete.emulator.responses import coveo_error, json_response, null_response, throttled
from bulkdelete.emulator.state import EmulatorState, FileContainer
from bulkdelete.emulator.store import DocSpec

PREFIX = "/push/v1/organizations/{org}"
STATUS_TYPES = frozenset({"REBUILD", "REFRESH", "INCREMENTAL", "IDLE"})
UPLOAD_TTL_S = 3600.0
REQUIRED_HEADERS = {"x-amz-server-side-encryption": "AES256", "Content-Type": "application/octet-stream"}

CoveoHandler = Callable[[web.Request, EmulatorState, str], Awaitable[web.Response]]
CoveoApi = Literal["push", "search", "logs", "sources"]


class CoveoError(Exception):
    """Raised by a handler to answer ``{"statusCode","errorCode","message"}`` (plus ``extra`` fields)."""

    def __init__(self, status: int, error_code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.error_code, self.message, self.extra = status, error_code, message, extra


def coveo_endpoint(handler: CoveoHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A Push API route: auth, organization access, quota, pause, ``--refuse`` and 503 faults, then the handler.

    A source a Push API request addressed exists from then on (the Sources API finds it, with its documents)."""

    @functools.wraps(handler)
    async def pushed(request: web.Request, state: EmulatorState, org: str) -> web.Response:
        source = request.match_info.get("source")
        if source is not None:
            state.pushed_sources.add(source_name(state, source))
        return await handler(request, state, org)

    return gated(pushed, "push", lambda request: request.match_info["org"])


def gated(
    handler: CoveoHandler, api: CoveoApi, org_of: Callable[[web.Request], str]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Wrap ``handler`` in the gate every Coveo API shares, in this order: the key (401), the organization
    (``org_of``; 403 outside ``allowed_orgs``), ``logs_denied`` (the Logs API only: 403), the organization's quota
    (429, one window for all its Coveo APIs), the pause and ``--refuse`` (Push API only: they refuse deletes), then
    ``fail_rate`` (503). A ``CoveoError`` anywhere becomes Coveo's error body."""

    @functools.wraps(handler)
    async def endpoint(request: web.Request) -> web.Response:
        state = request.app[STATE_KEY]
        try:
            _check_key(request, state)
            org = org_of(request)
            _gate(state, org, api)
            return await handler(request, state, org)
        except CoveoError as exc:
            response = coveo_error(exc.status, exc.error_code, exc.message, **exc.extra)
            return throttled(response, state) if exc.status == 429 else response

    return endpoint


def _check_key(request: web.Request, state: EmulatorState) -> None:
    auth = request.headers.get("Authorization", "")
    scheme, _, key = auth.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise CoveoError(401, "UNAUTHORIZED", "Missing or malformed Authorization header (Bearer <key>).")
    if state.config.api_key is not None and key.strip() != state.config.api_key:
        raise CoveoError(401, "INVALID_TOKEN", "The provided access token is invalid or expired.")


def _gate(state: EmulatorState, org: str, api: CoveoApi) -> None:
    config = state.config
    if config.allowed_orgs is not None and org not in config.allowed_orgs:
        raise CoveoError(403, "ACCESS_DENIED", f"Access to organization {org!r} is denied.")
    if api == "logs" and config.logs_denied:
        raise CoveoError(403, "ACCESS_DENIED", "The API key lacks the privileges to view the logs (--logs-denied).")
    if not state.take_quota("coveo:" + org, state.now()):
        raise CoveoError(429, "TOO_MANY_REQUESTS", "Too many requests. Retry later.")
    if api == "push" and config.org_paused:
        raise CoveoError(400, "ORGANIZATION_IS_PAUSED", f"The organization {org!r} is paused.")
    if api == "push" and config.refuse is not None:
        status, code = config.refuse
        raise CoveoError(status, code, f"Refused: {code} (the emulator's --refuse).")
    if state.chance(config.fail_rate):
        state.stats.faults += 1
        raise CoveoError(503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable (injected fault).")


def _required_param(query: MultiMapping[str], name: str) -> str:
    raw = query.get(name)
    if not raw:
        raise CoveoError(400, "MISSING_PARAMETER", f"Required parameter {name} is missing.")
    return raw


def _int_param(query: MultiMapping[str], name: str, required: bool = False) -> int | None:
    raw = query.get(name)
    if raw is None:
        if required:
            _required_param(query, name)
        return None
    try:
        return int(raw)
    except ValueError:
        raise CoveoError(400, "INVALID_PARAMETER", f"Parameter {name} must be an integer (got {raw!r}).") from None


def _bool_param(query: MultiMapping[str], name: str) -> bool:
    raw = query.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise CoveoError(400, "INVALID_PARAMETER", f"Parameter {name} must be true or false (got {raw!r}).")
    return raw == "true"


def _check_daily(state: EmulatorState, org: str, items: int) -> None:
    if state.daily_exhausted(org):
        raise CoveoError(429, "TOO_MANY_DOCUMENTS_DAILY", "The daily quota of pushed items is exhausted.")
    state.count_items(org, items)


@coveo_endpoint
async def delete_document(request: web.Request, state: EmulatorState, org: str) -> web.Response:
    query = request.query
    doc_id = _required_param(query, "documentId")
    children = _bool_param(query, "deleteChildren")
    _int_param(query, "orderingId")
    _check_daily(state, org, 1)
    state.submit_delete(doc_id, children, org, request.match_info["source"], request_id(request))
    return null_response(202)


@coveo_endpoint
async def delete_older_than(request: web.Request, state: EmulatorState, org: str) -> web.Response:
    query = request.query
    ordering_id = _int_param(query, "orderingId", required=True)
    queue_delay = _int_param(query, "queueDelay")
    if queue_delay is not None and not 0 <= queue_delay <= 1440:
        raise CoveoError(400, "INVALID_PARAMETER", f"queueDelay must be 0 to 1440 minutes (got {queue_delay}).")
    source = request.match_info["source"]
    cleared = 0
    if state.config.olderthan_clears:
        cleared = state.documents.clear()
        state.stats.deleted += cleared
    state.olderthan.append(
        {
            "org": org,
            "source": source,
            "orderingId": ordering_id,
            "queueDelay": 15 if queue_delay is None else queue_delay,
            "cleared": cleared,
        }
    )
    return null_response(202)


@coveo_endpoint
async def set_status(request: web.Request, state: EmulatorState, org: str) -> web.Response:
    status_type = request.query.get("statusType", "")
    if status_type not in STATUS_TYPES:
        raise CoveoError(
            400,
            "INVALID_PARAMETER",
            f"statusType must be one of {sorted(STATUS_TYPES)} (got {status_type!r}).",
        )
    state.status_history.setdefault(request.match_info["source"], []).append(status_type)
    return null_response(201)


@coveo_endpoint
async def create_file(request: web.Request, state: EmulatorState, org: str) -> web.Response:
    file_id = secrets.token_hex(16)
    container = FileContainer(
        file_id=file_id,
        signature=secrets.token_hex(32),
        required_headers=dict(REQUIRED_HEADERS),
        expires_at=asyncio.get_running_loop().time() + UPLOAD_TTL_S,
    )
    state.files[file_id] = container
    base = f"{request.scheme}://{request.host}"
    upload_uri = (
        f"{base}/_emulator/upload/{file_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential=EMULATOR%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
        f"&X-Amz-Date=20240101T000000Z&X-Amz-Expires={int(UPLOAD_TTL_S)}"
        f"&X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-server-side-encryption"
        f"&X-Amz-Signature={container.signature}"
    )
    payload = {"uploadUri": upload_uri, "fileId": file_id, "requiredHeaders": container.required_headers}
    return json_response(payload, 201)


@coveo_endpoint
async def push_batch(request: web.Request, state: EmulatorState, org: str) -> web.Response:
    query = request.query
    file_id = _required_param(query, "fileId")
    ordering_id = _int_param(query, "orderingId")
    container = state.files.get(file_id)
    if container is None or container.body is None:
        raise CoveoError(404, "FILE_NOT_FOUND", f"No uploaded file container with fileId {file_id!r}.")
    adds, deletes = _parse_batch(container.body)
    _check_daily(state, org, len(adds) + len(deletes))
    source, rid = request.match_info["source"], request_id(request)
    name = source_name(state, source)  # the path holds the source's id, @source its name
    state.documents.add_many(DocSpec(doc_id, name) for doc_id in adds)
    # "removed": what took effect at once (nothing while --processing-delay holds the deletes back).
    removed = sum(state.submit_delete(doc_id, children, org, source, rid) for doc_id, children in deletes)
    container.pushes += 1
    state.batches.append(
        {
            "org": org,
            "source": source,
            "fileId": file_id,
            "orderingId": ordering_id,
            "addOrUpdate": len(adds),
            "delete": len(deletes),
            "removed": removed,
        }
    )
    return null_response(202)


def _parse_batch(body: bytes) -> tuple[list[str], list[tuple[str, bool]]]:
    """``{"addOrUpdate":[{"documentId"…}], "delete":[{"documentId","deleteChildren"}]}`` → (adds, deletes)."""
    try:
        doc: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise CoveoError(400, "INVALID_JSON", "The file container does not hold valid JSON.") from None
    if not isinstance(doc, dict):
        raise CoveoError(400, "INVALID_JSON", "The batch must be a JSON object.")
    adds = [_entry_id(entry) for entry in _entries(doc, "addOrUpdate")]
    deletes = []
    for entry in _entries(doc, "delete"):
        children = entry.get("deleteChildren", False)
        if not isinstance(children, bool):
            raise CoveoError(400, "INVALID_JSON", "deleteChildren must be a boolean.")
        deletes.append((_entry_id(entry), children))
    return adds, deletes


def _entries(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = doc.get(key) or []
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise CoveoError(400, "INVALID_JSON", f"{key} must be a list of objects.")
    return entries


def _entry_id(entry: dict[str, Any]) -> str:
    doc_id = entry.get("documentId")
    if not isinstance(doc_id, str) or not doc_id:
        raise CoveoError(400, "INVALID_JSON", "Every batch entry needs a documentId string.")
    return doc_id


def source_name(state: EmulatorState, source_id: str) -> str:
    """The name of the source whose id is ``source_id``: its ``--source-id NAME=ID`` pair, else the id itself."""
    return next((name for name, mapped in state.config.source_ids if mapped == source_id), source_id)


def add_routes(app: web.Application) -> None:
    sources = PREFIX + "/sources/{source}"
    app.router.add_delete(sources + "/documents", delete_document)
    app.router.add_delete(sources + "/documents/olderthan", delete_older_than)
    app.router.add_post(sources + "/status", set_status)
    app.router.add_put(sources + "/documents/batch", push_batch)
    app.router.add_post(PREFIX + "/files", create_file)
