"""A plain REST API, as many search and document stores have one: ``DELETE /rest/{collection}/{id}``.

``204`` when the document was there (now deleted), ``404`` when it was not: what ``bulkdelete http delete`` is
rehearsed against. It shares the emulator's documents, stats, faults and quota with the other APIs:

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
    doc_id = request.match_info["id"]
    if not state.delete(doc_id):
        return rest_error(404, "document_not_found", f"No document {doc_id!r} in {collection!r}.")
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_delete(PATH, delete_document)
