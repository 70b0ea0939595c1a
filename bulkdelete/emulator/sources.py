"""Coveo Sources API, the look-up ``list --source ID`` makes: ``GET /rest/organizations/{org}/sources/{id}``.

Answer: ``{"id", "name", "sourceType": "PUSH", "information": {"numberOfDocuments": n}}`` (``n``: the source's
live documents). Source ids: a ``source_ids`` pair (``--source-id NAME=ID``) maps an id to its name; any other id is
the name of the source it names. A source exists when documents were loaded or added in it, a Push API request
addressed it, or ``--source-id`` names it; ``demo-source`` always does. Any other id: 404 in Coveo's body
(``SOURCE_NOT_FOUND``). Same gate as the Search API (key, organization, quota, faults; not ``--refuse``).
"""

from __future__ import annotations

from aiohttp import web

from bulkdelete.emulator.coveo import CoveoError, gated, source_name
from bulkdelete.emulator.responses import json_response
from bulkdelete.emulator.state import EmulatorState
from bulkdelete.emulator.store import DEFAULT_SOURCE

ROUTE = "/rest/organizations/{org}/sources/{source_id}"


def source_id(state: EmulatorState, name: str) -> str:
    return next((mapped for known, mapped in state.config.source_ids if known == name), name)


async def get_source(request: web.Request, state: EmulatorState, org: str) -> web.Response:
    state.stats.source_lookups += 1
    wanted = request.match_info["source_id"]
    name = source_name(state, wanted)
    counts = state.documents.sources()
    mapped = any(mapped == wanted for _, mapped in state.config.source_ids)
    if name not in counts and name not in state.pushed_sources and name != DEFAULT_SOURCE and not mapped:
        raise CoveoError(404, "SOURCE_NOT_FOUND", f"The source {wanted!r} does not exist in organization {org!r}.")
    if source_id(state, name) != wanted:  # a mapped name is not its own id
        raise CoveoError(404, "SOURCE_NOT_FOUND", f"The source {wanted!r} does not exist in organization {org!r}.")
    return json_response(
        {
            "id": wanted,
            "name": name,
            "sourceType": "PUSH",
            "information": {"numberOfDocuments": counts.get(name, 0)},
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get(ROUTE, gated(get_source, "sources", lambda request: request.match_info["org"]))
