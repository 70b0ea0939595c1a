"""The middleware every API request goes through: stats, latency, dropped connections, ``X-Request-ID``.

It also settles the Coveo deletes that came due (``EmulatorState.settle``) before the request is handled, and hands
the handler its request id (``request_id(request)``: the Logs API reports it for the deletes it accepted).

``/_emulator/*`` (stats, documents, the S3-like upload) bypasses it: not counted, no faults,
no auth, no quota.
Auth, quota and 503 faults are per API (they need the organization and the API's error body): see
``coveo.coveo_endpoint`` and ``velt``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from bulkdelete.emulator.responses import error_for_path
from bulkdelete.emulator.state import EmulatorState

STATE_KEY = web.AppKey("bulkdelete_emulator_state", EmulatorState)
ADMIN_PREFIX = "/_emulator/"
REQUEST_ID_KEY = web.RequestKey("bulkdelete_request_id", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    state = request.app[STATE_KEY]
    stats = state.stats
    stats.started(asyncio.get_running_loop().time())
    state.settle()
    status: int | None = None
    try:
        config = state.config
        if config.latency_ms:
            await asyncio.sleep(config.latency_ms / 1000.0)
        if state.chance(config.reset_rate):
            return _drop_connection(request)
        request[REQUEST_ID_KEY] = request_id = state.next_request_id()
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = error_for_path(request.path, exc.status, exc.reason)
        response.headers["X-Request-ID"] = request_id
        status = response.status
        return response
    finally:
        stats.finished(status)


def request_id(request: web.Request) -> str:
    """The ``X-Request-ID`` this request will be answered with."""
    return request[REQUEST_ID_KEY]


def _drop_connection(request: web.Request) -> web.Response:
    """Close the socket before anything is written: the client sees a disconnect, not an answer.

    aiohttp then fails to write the returned response and discards it quietly (``ConnectionError``).
    """
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response(status=204)
