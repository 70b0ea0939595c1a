"""The one classification of HTTP answers that every target composes.

An HTTP status alone says what kind of answer came back (SPEC §6)::

    2xx                    SUCCESS    the record is done, ok (the target names the outcome: accepted, deleted…)
    a "gone" status        GONE       the goal state already holds: ``not_found``, ok (none by default)
    401, 403               FATAL      the key is wrong or lacks the right: abort the run (exit 3)
    429                    THROTTLED  pause every worker (``Retry-After`` when given), then retry
    408, 5xx               TRANSIENT  retry this record after a backoff
    anything else          FINAL      ``failed``: no retry can change the answer (other 4xx, an unfollowed 3xx)

A target adds only what its API says beyond the status (Coveo's ``429 TOO_MANY_DOCUMENTS_DAILY`` is FATAL, Velt's
per-id bodies and gRPC status names), then turns the kind into a ``Verdict`` with ``verdict_for``.
``http_verdict`` does both steps for an API whose status says it all (the generic REST target).
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from typing import Any

import orjson

from bulkdelete.rate.backoff import parse_retry_after
from bulkdelete.records import Outcome
from bulkdelete.targets.base import Action, Reply, Verdict

__all__ = [
    "NO_GONE",
    "Answer",
    "answer_kind",
    "describe_reply",
    "error_fields",
    "error_text",
    "http_verdict",
    "verdict_for",
]

NO_GONE: frozenset[int] = frozenset()
_MAX_TEXT = 200
# Keys under which JSON error bodies commonly carry a code and a message (Coveo, Elasticsearch, Meilisearch, Typesense,
# Algolia, RFC 9457 problem details…), in the order they are tried.
_CODE_KEYS = ("errorCode", "code", "type", "error")
_MESSAGE_KEYS = ("message", "detail", "error_description", "reason", "title")


class Answer(StrEnum):
    """What kind of answer an HTTP reply is, before any API-specific reading of its body."""

    SUCCESS = "success"
    GONE = "gone"
    FATAL = "fatal"
    THROTTLED = "throttled"
    TRANSIENT = "transient"
    FINAL = "final"


def answer_kind(status: int, gone: Collection[int] = NO_GONE) -> Answer:
    """The kind of answer ``status`` is; ``gone`` lists the statuses that mean "already absent" (e.g. 404, 410).

    A gone status is checked after 2xx and before every other rule: it is the caller's explicit word for it.
    """
    if 200 <= status < 300:
        return Answer.SUCCESS
    if status in gone:
        return Answer.GONE
    if status == 401 or status == 403:
        return Answer.FATAL
    if status == 429:
        return Answer.THROTTLED
    if status == 408 or status >= 500:
        return Answer.TRANSIENT
    return Answer.FINAL


def verdict_for(
    kind: Answer,
    reply: Reply,
    *,
    ok: Outcome = Outcome.DELETED,
    error: str | None = None,
    batch: str | None = None,
) -> Verdict:
    """The verdict for one record that got ``reply``, classified as ``kind``.

    ``ok`` is the outcome of a SUCCESS (``deleted``, Coveo's ``accepted``…). ``error`` is the text a result line
    shows when the record is not ok (default: ``describe_reply(reply)``); it must hold no secret. A THROTTLED verdict
    carries the reply's ``Retry-After`` in seconds when it gave a readable one.
    """
    status, latency = reply.status, reply.latency_ms
    if kind is Answer.SUCCESS:
        return Verdict(Action.DONE, ok, status, None, latency, batch)
    if kind is Answer.GONE:
        return Verdict(Action.DONE, Outcome.NOT_FOUND, status, None, latency, batch)
    text = describe_reply(reply) if error is None else error
    if kind is Answer.FATAL:
        return Verdict(Action.ABORT, Outcome.FAILED, status, text, latency, batch)
    if kind is Answer.THROTTLED:
        retry_after = parse_retry_after(reply.headers.get("Retry-After"))
        return Verdict(Action.RETRY, Outcome.FAILED, status, text, latency, batch, True, retry_after)
    if kind is Answer.TRANSIENT:
        return Verdict(Action.RETRY, Outcome.FAILED, status, text, latency, batch)
    return Verdict(Action.DONE, Outcome.FAILED, status, text, latency, batch)


def http_verdict(
    reply: Reply,
    *,
    ok: Outcome = Outcome.DELETED,
    gone: Collection[int] = NO_GONE,
    error: str | None = None,
    batch: str | None = None,
) -> Verdict:
    """``verdict_for(answer_kind(reply.status, gone), reply, …)``: for an API whose status says it all."""
    return verdict_for(answer_kind(reply.status, gone), reply, ok=ok, error=error, batch=batch)


def error_text(status: int, code: str | None, message: str | None, request_id: str | None = None) -> str:
    """``"404 not_found: no such document (X-Request-ID abc)"``: the short reason a result line shows."""
    text = f"{status} {code or 'HTTP error'}"
    if message:
        text += f": {message[:_MAX_TEXT]}"
    if request_id:
        text += f" (X-Request-ID {request_id})"
    return text


def describe_reply(reply: Reply) -> str:
    """A short reason from any error answer: the code and message of its body (``error_fields``), the request id."""
    code, message = error_fields(reply.body)
    return error_text(reply.status, code, message, reply.request_id)


def json_object(reply: Reply) -> dict[str, Any] | None:
    """The JSON object a 2xx answer carries, or None (another status, a body that is not JSON, or not an object)."""
    if not 200 <= reply.status < 300:
        return None
    try:
        doc = orjson.loads(reply.body)
    except orjson.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


def error_fields(body: bytes) -> tuple[str | None, str | None]:
    """``(code, message)`` of an error body: from a JSON object, the first of the usual key names (also one level
    down, under ``error``); from anything else, no code and the start of the body as text."""
    try:
        doc: Any = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
        doc = doc["error"]  # {"error": {"code"/"status", "message"}} (Google APIs, Velt, Elasticsearch)
    if not isinstance(doc, dict):
        return None, body[:_MAX_TEXT].decode("utf-8", "replace").strip() or None
    code = _first_text(doc, _CODE_KEYS)
    status_name = doc.get("status")
    if code is None and isinstance(status_name, str) and status_name:
        code = status_name[:_MAX_TEXT]  # a gRPC-style status name ("RESOURCE_EXHAUSTED"), never the number
    return code, _first_text(doc, _MESSAGE_KEYS)


def _first_text(doc: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = doc.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)[:_MAX_TEXT]
    return None
