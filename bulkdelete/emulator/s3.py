"""The S3 side of a Coveo file container: ``PUT`` to the presigned ``uploadUri`` the emulator handed out.

Like S3: the presigned query string is the credential, so an ``Authorization`` header is refused (400), every
required header must be sent with its exact value (else 403 ``SignatureDoesNotMatch``), and errors are XML.
Not counted as an API request and not subject to the Push API's quota, faults or auth; it has faults of its own
(``upload_latency_ms``, ``upload_throttle_rate``: 429, ``upload_fail_rate``: 503), drawn after the signature checks
and counted in ``upload_faults``.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from bulkdelete.emulator.faults import STATE_KEY
from bulkdelete.emulator.responses import s3_error, throttled
from bulkdelete.emulator.state import EmulatorState

_CHUNK = 1 << 20


async def upload(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    state.stats.uploads += 1
    container = state.files.get(request.match_info["file_id"])
    if container is None or request.query.get("X-Amz-Signature") != container.signature:
        return s3_error(403, "SignatureDoesNotMatch", "The request signature does not match.")
    if "Authorization" in request.headers:
        return s3_error(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter...",
        )
    if asyncio.get_running_loop().time() > container.expires_at:
        return s3_error(403, "AccessDenied", "Request has expired")
    for name, value in container.required_headers.items():
        if request.headers.get(name) != value:
            return s3_error(403, "SignatureDoesNotMatch", f"Header {name} is missing or differs from the signed one.")
    cap = state.config.max_upload_bytes
    if request.content_length is not None and request.content_length > cap:
        return _too_large(cap)
    body = await _read_capped(request, cap)
    if body is None:
        return _too_large(cap)
    fault = await _fault(state)  # after the body is read: a client that timed out is then simply not answered
    if fault is not None:
        return fault
    container.body = body
    return web.Response(status=200, headers={"ETag": f'"{container.file_id}"'})


async def _fault(state: EmulatorState) -> web.Response | None:
    """The upload's injected delay, then its injected answer (429 or 503), or None to go on."""
    config = state.config
    if config.upload_latency_ms:
        await asyncio.sleep(config.upload_latency_ms / 1000.0)
    if state.chance(config.upload_throttle_rate):
        state.stats.upload_faults += 1
        return throttled(s3_error(429, "TooManyRequests", "Please reduce your request rate."), state)
    if state.chance(config.upload_fail_rate):
        state.stats.upload_faults += 1
        return s3_error(503, "ServiceUnavailable", "Service is unable to handle the request (injected fault).")
    return None


async def _read_capped(request: web.Request, cap: int) -> bytes | None:
    """The request body, or ``None`` once it grows past ``cap`` bytes."""
    data = bytearray()
    async for chunk in request.content.iter_chunked(_CHUNK):
        data += chunk
        if len(data) > cap:
            return None
    return bytes(data)


def _too_large(cap: int) -> web.Response:
    return s3_error(413, "EntityTooLarge", f"Your proposed upload exceeds the maximum allowed size ({cap} bytes).")
