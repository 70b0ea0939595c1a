"""Response bodies, shaped like each real service answers: Coveo JSON, Velt JSON, S3 XML."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from bulkdelete.emulator.state import EmulatorState

JSON = "application/json"
NULL_BODY = b"null"

VELT_HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
}


def json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type=JSON)


def null_response(status: int) -> web.Response:
    """Coveo's success answer: the JSON literal ``null``, never an empty body."""
    return web.Response(body=NULL_BODY, status=status, content_type=JSON)


def coveo_error(status: int, error_code: str, message: str, **extra: Any) -> web.Response:
    return json_response({"statusCode": status, "errorCode": error_code, "message": message, **extra}, status)


def velt_error(status_name: str, message: str) -> web.Response:
    return json_response({"error": {"status": status_name, "message": message}}, VELT_HTTP_STATUS[status_name])


def s3_error(status: int, code: str, message: str) -> web.Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return web.Response(text=body, status=status, content_type="application/xml")


def throttled(response: web.Response, state: EmulatorState) -> web.Response:
    """Add ``Retry-After`` to a 429, only when the emulator was told to send one."""
    if state.config.retry_after is not None:
        response.headers["Retry-After"] = str(state.config.retry_after)
    return response


def error_for_path(path: str, status: int, reason: str) -> web.Response:
    """An aiohttp routing error (404, 405…) in the body shape of the API the path belongs to."""
    if path.startswith(("/push/", "/logs/", "/rest/search/", "/rest/organizations/")):
        return coveo_error(status, reason.upper().replace(" ", "_"), f"{reason}: {path}")
    if path.startswith("/rest/"):
        return json_response({"error": reason.lower().replace(" ", "_"), "message": f"{reason}: {path}"}, status)
    if status == 404:
        return velt_error("NOT_FOUND", f"No route for {path}")
    return json_response({"error": {"status": "INVALID_ARGUMENT", "message": f"{reason}: {path}"}}, status)
