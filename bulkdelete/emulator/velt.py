"""Velt REST API: ``POST /v1|v2/organizations/documents/delete`` and ``…/documents/get``.

Get Documents answers ``{"result": {"status": "success", "message", "data": [{"id", "documentId",
"documentName", "disabled", "accessType"}]}}`` with only the requested ids that exist (``id`` is the document id).

v2 answers 200 when every id was deleted, else HTTP 500 ``INTERNAL`` with per-id ``details`` (succeeded ids
included). v1 answers 200 with per-id entries (absent ids ``success: false, code: "not-found"``, or the older
``success: true, "Document does not exist"`` with ``velt_legacy_not_found``). ``fail_rate`` makes ids of an
otherwise good request fail with ``code: "internal"`` (they are not deleted).
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from aiohttp import web

from bulkdelete.emulator.faults import STATE_KEY
from bulkdelete.emulator.responses import json_response, throttled, velt_error
from bulkdelete.emulator.state import EmulatorState
from bulkdelete.emulator.velt_list import VeltError, document, list_page

OK_MESSAGE = "Document(s) deleted successfully."
GET_MESSAGE = "Document(s) retrieved successfully."


async def delete_v1(request: web.Request) -> web.Response:
    return await _delete(request, "v1")


async def delete_v2(request: web.Request) -> web.Response:
    return await _delete(request, "v2")


async def _delete(request: web.Request, version: str) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        _org, ids = await _admit(request, state)
        if state.config.refuse is not None:
            status, code = state.config.refuse
            error = {"error": {"status": code, "message": f"Refused: {code} (the emulator's --refuse)."}}
            return json_response(error, status)
    except VeltError as exc:
        return _error(exc, state)
    results = {doc_id: _delete_one(state, doc_id) for doc_id in dict.fromkeys(ids)}
    if version == "v1":
        return json_response(_success(_v1_entries(results, state.config.velt_legacy_not_found)))
    if all(entry["success"] for entry in results.values()):
        return json_response(_success(results))
    details = {"status": "INTERNAL", "message": "Failed to delete some documents.", "details": results}
    return json_response({"error": details}, 500)


async def get_documents(request: web.Request) -> web.Response:
    """Get Documents (v1 and v2 alike): with ``documentIds``, the requested ids that exist, in request order (absent
    ones left out); without, a page of the organization's documents (``velt_list.list_page``).

    ``fail_rate`` answers the whole request 503 ``UNAVAILABLE``; ``--refuse`` concerns deletes only.
    """
    state = request.app[STATE_KEY]
    try:
        _org, data = await _admit(request, state, listing=True)
        state.stats.gets += 1
        if state.chance(state.config.fail_rate):
            state.stats.faults += 1
            raise VeltError("UNAVAILABLE", "The service is temporarily unavailable (injected fault).")
        if "documentIds" not in data:
            return json_response({"result": list_page(state, data)})
    except VeltError as exc:
        return _error(exc, state)
    documents = state.documents
    found = [document(state, doc_id) for doc_id in dict.fromkeys(data["documentIds"]) if doc_id in documents]
    return json_response({"result": {"status": "success", "message": GET_MESSAGE, "data": found}})


async def _admit(request: web.Request, state: EmulatorState, listing: bool = False) -> tuple[str, Any]:
    """Auth, body, organization access and quota, in that order: ``(org, ids)`` (with ``listing``: ``(org,
    data)``, ids checked when given) or a ``VeltError``."""
    _check_auth(request, state)
    org, data = _parse(await request.read())
    if not listing or "documentIds" in data:
        ids = _ids(data, state.config.max_ids)
    if state.config.allowed_orgs is not None and org not in state.config.allowed_orgs:
        raise VeltError("PERMISSION_DENIED", f"Access to organization {org!r} is denied.")
    if not state.take_quota("velt:" + org, state.now()):
        raise VeltError("RESOURCE_EXHAUSTED", "Rate limit exceeded. Retry later.")
    return org, data if listing else ids


def _error(exc: VeltError, state: EmulatorState) -> web.Response:
    response = velt_error(exc.status_name, exc.message)
    return throttled(response, state) if exc.status_name == "RESOURCE_EXHAUSTED" else response


def _check_auth(request: web.Request, state: EmulatorState) -> None:
    key = request.headers.get("x-velt-api-key", "")
    if not key or not request.headers.get("x-velt-auth-token", ""):
        raise VeltError("UNAUTHENTICATED", "Missing x-velt-api-key or x-velt-auth-token header.")
    if state.config.api_key is not None and key != state.config.api_key:
        raise VeltError("UNAUTHENTICATED", "Invalid API key.")


def _parse(body: bytes) -> tuple[str, dict[str, Any]]:
    try:
        doc: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise VeltError("INVALID_ARGUMENT", "The request body is not valid JSON.") from None
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, dict):
        raise VeltError("INVALID_ARGUMENT", "The request body needs a data object.")
    org = data.get("organizationId")
    if not isinstance(org, str) or not org:
        raise VeltError("INVALID_ARGUMENT", "data.organizationId is required.")
    return org, data


def _ids(data: dict[str, Any], max_ids: int) -> list[str]:
    ids = data.get("documentIds")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise VeltError("INVALID_ARGUMENT", "data.documentIds must be a non-empty list of strings.")
    if len(ids) > max_ids:
        raise VeltError("INVALID_ARGUMENT", f"At most {max_ids} documentIds per request (got {len(ids)}).")
    return ids


def _velt_id(doc_id: str) -> str:
    """A stable numeric-looking internal id, as Velt returns one per document."""
    return str(1_000_000_000_000 + zlib.crc32(doc_id.encode("utf-8", "surrogatepass")))


def _delete_one(state: EmulatorState, doc_id: str) -> dict[str, Any]:
    vid = _velt_id(doc_id)
    if state.chance(state.config.fail_rate):
        state.stats.faults += 1
        return {
            "success": False,
            "id": vid,
            "message": "Internal error (injected fault).",
            "code": "internal",
        }
    if state.delete(doc_id):
        return {"success": True, "id": vid, "message": "Deleted Successfully"}
    return {"success": False, "id": vid, "message": "Document not found.", "code": "not-found"}


def _v1_entries(results: dict[str, dict[str, Any]], legacy: bool) -> dict[str, dict[str, Any]]:
    if not legacy:
        return results
    return {
        doc_id: {"success": True, "id": entry["id"], "message": "Document does not exist"}
        if entry.get("code") == "not-found"
        else entry
        for doc_id, entry in results.items()
    }


def _success(data: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"result": {"status": "success", "message": OK_MESSAGE, "data": data}}


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/organizations/documents/delete", delete_v1)
    app.router.add_post("/v2/organizations/documents/delete", delete_v2)
    app.router.add_post("/v1/organizations/documents/get", get_documents)
    app.router.add_post("/v2/organizations/documents/get", get_documents)
