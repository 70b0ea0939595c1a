"""Build the ``aiohttp.web`` application that serves both APIs from one ``EmulatorState``."""

from __future__ import annotations

from aiohttp import web

from bulkdelete.emulator import admin, coveo, rest, velt
from bulkdelete.emulator.faults import STATE_KEY, api_middleware
from bulkdelete.emulator.state import EmulatorState

_MIN_BODY_BYTES = 16 * 1024 * 1024


def build_app(state: EmulatorState) -> web.Application:
    """The application; uploads stream past ``client_max_size`` (they enforce their own cap)."""
    app = web.Application(middlewares=[api_middleware], client_max_size=_MIN_BODY_BYTES)
    app[STATE_KEY] = state
    coveo.add_routes(app)
    velt.add_routes(app)
    rest.add_routes(app)
    admin.add_routes(app)
    return app
