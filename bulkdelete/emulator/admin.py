"""``/_emulator/*``: inspection and control routes. Not counted in stats; no auth, quota or faults."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from bulkdelete.emulator import s3
from bulkdelete.emulator.faults import ADMIN_PREFIX, STATE_KEY
from bulkdelete.emulator.responses import json_response
from bulkdelete.emulator.store import Doc, doc_from_json


async def stats(request: web.Request) -> web.Response:
    return json_response(request.app[STATE_KEY].snapshot())


async def reset_stats(request: web.Request) -> web.Response:
    """Zero the request counters (documents, statuses and batches stay)."""
    request.app[STATE_KEY].stats.reset()
    return json_response({"ok": True})


async def list_documents(request: web.Request) -> web.Response:
    """Remaining ids, sorted; ``?prefix=`` narrows, ``?limit=`` caps."""
    limit_text = request.query.get("limit")
    try:
        limit = None if limit_text is None else int(limit_text)
    except ValueError:
        return json_response({"error": f"limit must be an integer (got {limit_text!r})"}, 400)
    state = request.app[STATE_KEY]
    state.settle()
    ids = state.documents.ids(request.query.get("prefix", ""), limit)
    return json_response(ids)


async def add_documents(request: web.Request) -> web.Response:
    """Add documents from a JSON list of ids, or of objects shaped as ``--docs`` JSON lines (``{"id", "source"?,
    "date"?, "indexeddate"?, any field}``); each new one gets the next rowid."""
    try:
        items: Any = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        items = None
    if not isinstance(items, list):
        return json_response({"error": "body must be a JSON list of non-empty strings or document objects"}, 400)
    docs: list[Doc] = []
    for item in items:
        if isinstance(item, str) and item:
            docs.append(item)
            continue
        try:
            docs.append(doc_from_json(item))
        except ValueError as exc:
            return json_response({"error": f"body must be a JSON list of ids or document objects: {exc}"}, 400)
    state = request.app[STATE_KEY]
    added = state.documents.add_many(docs)
    return json_response({"added": added, "documents_left": len(state.documents)})


def add_routes(app: web.Application) -> None:
    app.router.add_get(ADMIN_PREFIX + "stats", stats)
    app.router.add_post(ADMIN_PREFIX + "reset-stats", reset_stats)
    app.router.add_get(ADMIN_PREFIX + "documents", list_documents)
    app.router.add_post(ADMIN_PREFIX + "documents", add_documents)
    app.router.add_put(ADMIN_PREFIX + "upload/{file_id}", s3.upload)
