"""The Velt REST API: one ``POST {base}/{v1|v2}/organizations/documents/delete`` deletes a batch of ids.

Facts (SPEC §2.2): headers ``x-velt-api-key``, ``x-velt-auth-token``; body
``{"data":{"organizationId":…,"documentIds":[…]}}``. Answers come in several shapes, all accepted:

* v2, every id ok: ``200 {"result":{"data":{"<id>":{"success":true,…}}}}``;
* v2, partial failure: **HTTP 500**
  ``{"error":{"status":"INTERNAL","details":{"<id>":{"success",…,"code"}}}}``, where ``code`` is
  ``not-found`` (final: the goal state holds) or ``internal`` (retry that id only);
* v1: ``200`` with ``success:false, code:"not-found"`` entries, or the older ``success:true,
  message:"Document does not exist"``;
* whole-request errors: ``{"error":{"status":"RESOURCE_EXHAUSTED"|"UNAVAILABLE"|"INVALID_ARGUMENT"|…}}``.

The outcome is read per id from the body, never from the HTTP code alone: a 500 usually carries ids that
*were* deleted, and re-sending them would spend quota to learn ``not-found``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from bulkdelete.records import Outcome, Record
from bulkdelete.secrets import Secret, scrub
from bulkdelete.targets.answers import Answer, answer_kind, error_text, verdict_for
from bulkdelete.targets.base import Action, Reply, Transport, Verdict

DEFAULT_BASE_URL = "https://api.velt.dev"
API_VERSIONS = ("v1", "v2")
DEFAULT_BATCH_SIZE = 30
MAX_BATCH_SIZE = 30  # the API answers 400 INVALID_ARGUMENT past 30 ids
# Velt runs on Google Cloud Functions (gRPC status names, 10 MB request cap): stay far below it.
MAX_BATCH_BYTES = 1_000_000

# Velt's whole-request status names (gRPC's) that say more than the HTTP code they come with.
_NAMED_KINDS = {
    "RESOURCE_EXHAUSTED": Answer.THROTTLED,
    "UNAUTHENTICATED": Answer.FATAL,
    "PERMISSION_DENIED": Answer.FATAL,
    "UNAVAILABLE": Answer.TRANSIENT,
    "DEADLINE_EXCEEDED": Answer.TRANSIENT,
    "INTERNAL": Answer.TRANSIENT,
    "ABORTED": Answer.TRANSIENT,
}
_PRECEDENCE = (Answer.THROTTLED, Answer.FATAL, Answer.TRANSIENT, Answer.FINAL)
_NOT_FOUND_CODES = frozenset({"not-found", "not_found", "NOT_FOUND"})


@dataclass(frozen=True, slots=True, kw_only=True)
class VeltSettings:
    """Where and how to reach one Velt organization. ``batch_size`` is ids per request (1..30)."""

    base_url: str = DEFAULT_BASE_URL
    organization_id: str
    api_key: Secret
    auth_token: Secret
    api_version: str = "v2"
    batch_size: int = DEFAULT_BATCH_SIZE

    def __post_init__(self) -> None:
        if self.api_version not in API_VERSIONS:
            raise ValueError(f"api_version must be v1 or v2 (got {self.api_version!r})")
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size must be 1..{MAX_BATCH_SIZE} (got {self.batch_size})")

    @property
    def delete_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/{self.api_version}/organizations/documents/delete"

    def headers(self) -> dict[str, str]:
        return {
            "x-velt-api-key": self.api_key.reveal(),
            "x-velt-auth-token": self.auth_token.reveal(),
            "Content-Type": "application/json",
            "Accept": "application/json",
        }


class VeltTarget:
    """Batches of ids, one ``documents/delete`` request per batch, one verdict per id read from the answer."""

    name = "velt"
    batch_bytes: int | None = MAX_BATCH_BYTES

    def __init__(self, settings: VeltSettings) -> None:
        self.settings = settings
        self.batch_size = settings.batch_size
        self._url = settings.delete_url
        self._headers = settings.headers()
        self._secrets = (settings.api_key, settings.auth_token)

    def __repr__(self) -> str:
        s = self.settings
        return f"<VeltTarget org={s.organization_id!r} api={s.api_version} batch_size={s.batch_size}>"

    def describe(self) -> dict[str, object]:
        """Where a run went, for its summary (SPEC §8): no secret in it."""
        s = self.settings
        return {
            "api": "velt",
            "org": s.organization_id,
            "source": None,
            "base_url": s.base_url,
            "mode": "batch",
            "batch_size": s.batch_size,
            "api_version": s.api_version,
        }

    def validate(self, record_id: str) -> str | None:
        # Any non-empty id is a Velt document id; the reader already refused control characters and > 8 KiB.
        return None

    def record_bytes(self, record_id: str) -> int:
        """The id's JSON string in ``documentIds`` plus its comma."""
        return len(orjson.dumps(record_id)) + 1

    async def send(self, transport: Transport, records: Sequence[Record]) -> Sequence[Verdict]:
        ids = [record.id for record in records]
        body = orjson.dumps({"data": {"organizationId": self.settings.organization_id, "documentIds": ids}})
        reply = await transport.request("POST", self._url, headers=self._headers, data=body)
        verdicts = classify(reply, ids)
        if any(v.error for v in verdicts):
            # The API's messages are echoed into result lines: make sure no credential rides along.
            return [v if v.error is None else _scrubbed(v, self._secrets) for v in verdicts]
        return verdicts


def classify(reply: Reply, ids: Sequence[str]) -> list[Verdict]:
    """One verdict per id of ``ids`` (in order) from one ``documents/delete`` answer."""
    doc = load_answer(reply.body)
    status = reply.status
    if 200 <= status < 300 or status >= 500:
        entries = _per_id_entries(doc)
        if entries is not None:
            return [_id_verdict(entries.get(doc_id), reply) for doc_id in ids]
        if 200 <= status < 300 and _says_success(doc):
            # A success answer without per-id data: the API vouches for the whole request.
            return [Verdict(Action.DONE, Outcome.DELETED, status, latency_ms=reply.latency_ms)] * len(ids)
    return [request_verdict(reply, doc)] * len(ids)


def load_answer(body: bytes) -> Any:
    """A Velt answer's JSON, or None (an empty or unreadable body)."""
    try:
        return orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None


def _per_id_entries(doc: Any) -> Mapping[str, Any] | None:
    """``result.data`` (200) or ``error.details`` (v2's 500) when it maps ids to entries, else None.

    An empty mapping is no per-id answer: the request is then judged as a whole (its status name and code).
    """
    if not isinstance(doc, dict):
        return None
    for outer, inner in (("result", "data"), ("error", "details")):
        section = doc.get(outer)
        entries = section.get(inner) if isinstance(section, dict) else None
        if isinstance(entries, dict) and entries and all(isinstance(e, dict) for e in entries.values()):
            return entries
    return None


def _says_success(doc: Any) -> bool:
    result = doc.get("result") if isinstance(doc, dict) else None
    return isinstance(result, dict) and str(result.get("status", "")).lower() == "success"


def _id_verdict(entry: Any, reply: Reply) -> Verdict:
    status, latency = reply.status, reply.latency_ms
    if entry is None:
        error = f"{status}: the API did not report this id"
        return Verdict(Action.RETRY, status=status, error=error, latency_ms=latency)
    message = str(entry.get("message") or "")
    code = entry.get("code")
    if entry.get("success") is True:
        # The older v1 shape reports an absent id as a "success" whose message says so.
        absent = "does not exist" in message.lower()
        return Verdict(Action.DONE, Outcome.NOT_FOUND if absent else Outcome.DELETED, status, latency_ms=latency)
    if code in _NOT_FOUND_CODES:
        return Verdict(Action.DONE, Outcome.NOT_FOUND, status, latency_ms=latency)
    # "internal" and any code we do not know: this id failed this time only; the attempt cap bounds retries.
    error = error_text(status, str(code) if code else "failed", message)
    return Verdict(Action.RETRY, status=status, error=error, latency_ms=latency)


def request_verdict(reply: Reply, doc: Any) -> Verdict:
    """What a whole-request answer (no per-id entries) means for every id it carried.

    The shared classification of its HTTP status, and Velt's status name in the body where it says more
    (``RESOURCE_EXHAUSTED`` throttles whatever the code); of a status and a name that disagree, the first of
    ``_PRECEDENCE`` wins. A 2xx lands here only when its body was unreadable: nothing says what happened, and a
    delete is idempotent, so it is retried.
    """
    status = reply.status
    error = doc.get("error") if isinstance(doc, dict) else None
    name = str(error.get("status") or "") if isinstance(error, dict) else ""
    message = str(error.get("message") or "") if isinstance(error, dict) else ""
    if doc is None and reply.body:
        message = "unreadable answer: " + reply.body[:80].decode("utf-8", "replace")
    by_status = answer_kind(status)
    kinds = {Answer.TRANSIENT if by_status is Answer.SUCCESS else by_status, _NAMED_KINDS.get(name, Answer.FINAL)}
    kind = next(k for k in _PRECEDENCE if k in kinds)
    return verdict_for(kind, reply, error=error_text(status, name or "HTTP error", message))


def _scrubbed(verdict: Verdict, secrets: Sequence[Secret]) -> Verdict:
    return verdict._replace(error=scrub(verdict.error or "", secrets))
