"""A plain REST API, as many search and document stores have one: ``DELETE /rest/{collection}/{id}``.

``204`` when the document was there (now deleted), ``404`` when it was not: what ``bulkdelete http delete`` is
rehearsed against; ``GET`` (or ``HEAD``) of the same path answers 200 while the document is there, 404 once it is
gone (``bulkdelete http verify``). It shares the emulator's documents, stats, faults and quota with the other APIs:

* auth: ``Authorization: Bearer <key>`` (with ``--api-key``, only that key), else ``401``;
* quota: the sliding window per collection, ``429`` (``Retry-After`` only with ``--retry-after``);
* ``--refuse STATUS:CODE``: that final error for every request;
* ``--fail-rate``: ``503``; ``--reset-rate`` and ``--latency-ms``: the middleware, as for every API.

The id is the path segment as the router decodes it: ``/rest/c/a%2Fb%20c`` deletes ``a/b c``. Errors are JSON
``{"error": CODE, "message": TEXT}``.
"""

from __future__ import annotations

from aiohttp import web

from bulkdelete.emulator.faults import STATE_KEY
from bulkdelete.emulator.responses import json_response, throttled

PATH = "/rest/{collection}/{id}"


def rest_error(status: int, code: str, message: str) -> web.Response:
    return json_response({"error": code, "message": message}, status)


async def delete_document(request: web.Request) -> web.Response:
    refused = _gate(request)
    if refused is not None:
        return refused
    state = request.app[STATE_KEY]
    doc_id, collection = request.match_info["id"], request.match_info["collection"]
    if not state.delete(doc_id):
        return rest_error(404, "document_not_found", f"No document {doc_id!r} in {collection!r}.")
    return web.Response(status=204)


async def get_document(request: web.Request) -> web.Response:
    """``GET`` (and ``HEAD``) of one document: 200 with it while it is there, 404 once it is gone (``http verify``)."""
    refused = _gate(request)
    if refused is not None:
        return refused
    state = request.app[STATE_KEY]
    doc_id, collection = request.match_info["id"], request.match_info["collection"]
    if doc_id not in state.documents:
        return rest_error(404, "document_not_found", f"No document {doc_id!r} in {collection!r}.")
    return json_response({"id": doc_id, "collection": collection}, 200)


def _gate(request: web.Request) -> web.Response | None:
    """Auth, quota, ``--refuse`` and 503 faults, in that order: the refusing answer, or None to go on."""
    state = request.app[STATE_KEY]
    config = state.config
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return rest_error(401, "unauthorized", "Missing or malformed Authorization header (Bearer <key>).")
    if config.api_key is not None and key.strip() != config.api_key:
        return rest_error(401, "invalid_token", "The provided key is invalid.")
    collection = request.match_info["collection"]
    if not state.take_quota("rest:" + collection, state.now()):
        return throttled(rest_error(429, "too_many_requests", "Too many requests. Retry later."), state)
    if config.refuse is not None:
        status, code = config.refuse
        return rest_error(status, code, f"Refused: {code} (the emulator's --refuse).")
    if state.chance(config.fail_rate):
        state.stats.faults += 1
        return rest_error(503, "unavailable", "The service is temporarily unavailable (injected fault).")
    return None


def add_routes(app: web.Application) -> None:
    app.router.add_delete(PATH, delete_document)
    app.router.add_get(PATH, get_document)  # aiohttp answers HEAD from a GET route
