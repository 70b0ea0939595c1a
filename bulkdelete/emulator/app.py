"""Build the ``aiohttp.web`` application that serves every API from one ``EmulatorState``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from bulkdelete.emulator import admin, coveo, logs, rest, search, sources, velt
from bulkdelete.emulator.faults import STATE_KEY, api_middleware
from bulkdelete.emulator.state import EmulatorState

_MIN_BODY_BYTES = 16 * 1024 * 1024
_SETTLE_EVERY_S = 0.25


def build_app(state: EmulatorState) -> web.Application:
    """The application; uploads stream past ``client_max_size`` (they enforce their own cap)."""
    app = web.Application(middlewares=[api_middleware], client_max_size=_MIN_BODY_BYTES)
    app[STATE_KEY] = state
    coveo.add_routes(app)
    search.add_routes(app)
    sources.add_routes(app)
    logs.add_routes(app)
    velt.add_routes(app)
    rest.add_routes(app)
    admin.add_routes(app)
    if state.config.processing_delay_s > 0:
        app.cleanup_ctx.append(settler)
    return app


async def settler(app: web.Application) -> AsyncIterator[None]:
    """While the app runs, settle due deletes periodically: the documents change on time even when nobody asks
    (every request and stats read settles too; this task is for what tests read from ``state`` directly)."""
    state = app[STATE_KEY]
    interval = min(_SETTLE_EVERY_S, state.config.processing_delay_s / 4)

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            state.settle()

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
