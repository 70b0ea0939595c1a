"""Coveo batch mode: many deletes per file container, three requests per batch instead of one per item.

Steps (SPEC §2.1), each sent through the engine's ``Transport``, so each is paced, counted and stoppable:

1. ``POST {org}/files`` → ``201 {"uploadUri","fileId","requiredHeaders"}``;
2. ``PUT uploadUri`` with exactly ``requiredHeaders`` (a presigned S3 URL: the query string is the credential,
   and the Coveo ``Authorization`` header must never go there) and the body
   ``{"addOrUpdate":[],"delete":[{"documentId":…,"deleteChildren":…},…]}``;
3. ``PUT {source}/documents/batch?fileId=<id>[&orderingId=<ms>]`` → ``202``: every record is ``batched``.

The upload is not a Push API call and does not count against Coveo's request quota, but it still takes a
pacing slot: one slot per batch costs nothing that matters (a batch carries thousands of ids), and keeping
every request on one path means ``--max-requests``, stops and the ``requests`` count cover the whole run. So a
batch costs three paced requests, two of them against the Push API quota.

A failed step fails the whole batch. Steps 1 and 3 are classified like any Push API answer (429: throttled
retry; 401/403, daily quota: abort; 5xx: retry). A failed upload is retried (403 expired/signature, 400, 5xx),
never final on its first attempt, except 413: the payload is over the container's cap and only a smaller
``--batch-bytes`` helps. A throttled upload (429, or S3's ``503 SlowDown``) pauses every worker as any 429 does.
Retried records are re-batched by the engine, so every retry starts from a fresh container.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from bulkdelete.rate.backoff import parse_retry_after
from bulkdelete.records import Outcome, Record
from bulkdelete.targets.base import Action, Reply, Transport, Verdict
from bulkdelete.targets.coveo import CoveoSettings, classify, describe_error, validate_document_id
from bulkdelete.targets.urls import quote_query_value

DEFAULT_BATCH_BYTES = 5 * 1024 * 1024
MAX_BATCH_BYTES = 256_000_000
# Records per batch. The engine holds up to batch_size * (concurrency + 1) records in memory, so this bounds
# memory (~250 B per record held: 20,000 * 17 ≈ 85 MB at the default concurrency) as it bounds a batch.
DEFAULT_MAX_RECORDS = 20_000

_ENTRY_BEFORE_ID = len(b'{"documentId":')
_ENTRY_AFTER_ID = {True: len(b',"deleteChildren":true}'), False: len(b',"deleteChildren":false}')}
# The payload's fixed envelope minus one comma: n entries need n - 1 separators, record_bytes counts n.
_ENVELOPE = len(b'{"addOrUpdate":[],"delete":[]}') - 1
_S3_FIELD = re.compile(rb"<(Code|Message)>([^<]{0,200})</")


def batch_payload(ids: Sequence[str], delete_children: bool) -> bytes:
    """The file container body; its length is ``_ENVELOPE + sum(record_bytes(id))`` exactly."""
    entries = [{"documentId": doc_id, "deleteChildren": delete_children} for doc_id in ids]
    return orjson.dumps({"addOrUpdate": [], "delete": entries})


class CoveoBatchTarget:
    """Deletes through file containers. ``batch_bytes`` caps each uploaded payload, envelope included."""

    name = "coveo"

    def __init__(
        self,
        settings: CoveoSettings,
        *,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
        max_records: int = DEFAULT_MAX_RECORDS,
    ) -> None:
        if not _ENVELOPE + 64 <= batch_bytes <= MAX_BATCH_BYTES:
            raise ValueError(f"batch_bytes must be {_ENVELOPE + 64}..{MAX_BATCH_BYTES} (got {batch_bytes})")
        self.settings = settings
        self._guard_sites = settings.guards_sites
        self.max_payload_bytes = batch_bytes
        # The engine sums record_bytes; the envelope is ours to subtract so the payload never exceeds the cap.
        self.batch_bytes: int | None = batch_bytes - _ENVELOPE
        self.batch_size = max_records
        self._headers = settings.auth_headers()
        self._entry_overhead = _ENTRY_BEFORE_ID + _ENTRY_AFTER_ID[settings.delete_children] + 1  # + comma
        self._files_url = f"{settings.org_url}/files"
        self._batch_url = f"{settings.source_url}/documents/batch?fileId="
        self._push_suffix = "" if settings.ordering_id is None else f"&orderingId={settings.ordering_id}"

    def __repr__(self) -> str:
        return (
            f"<CoveoBatchTarget source={self.settings.source!r} children={self.settings.delete_children}"
            f" batch_bytes={self.max_payload_bytes} max_records={self.batch_size}>"
        )

    def describe(self) -> dict[str, object]:
        return self.settings.describe("batch")

    def validate(self, record_id: str) -> str | None:
        return validate_document_id(record_id, guard_sites=self._guard_sites)

    def record_bytes(self, record_id: str) -> int:
        """Exact bytes this id's entry adds to the payload, its comma included."""
        return len(orjson.dumps(record_id)) + self._entry_overhead

    async def send(self, transport: Transport, records: Sequence[Record]) -> Sequence[Verdict]:
        """One batch: create a container, upload, push. One verdict, shared by every record of the batch."""
        return [await self._send_batch(transport, [r.id for r in records])] * len(records)

    async def _send_batch(self, transport: Transport, ids: Sequence[str]) -> Verdict:
        # Built before the container exists: an uploadUri is only valid for a limited time (60 min at Coveo).
        payload = batch_payload(ids, self.settings.delete_children)
        created = await transport.request("POST", self._files_url, headers=self._headers)
        if not 200 <= created.status < 300:
            return classify(created)
        container = _read_container(created)
        if isinstance(container, Verdict):
            return container
        upload_uri, file_id, required_headers = container
        uploaded = await transport.request("PUT", upload_uri, headers=required_headers, data=payload)
        if not 200 <= uploaded.status < 300:
            return upload_verdict(uploaded, len(payload))
        push_url = f"{self._batch_url}{quote_query_value(file_id)}{self._push_suffix}"
        pushed = await transport.request("PUT", push_url, headers=self._headers)
        return classify(pushed, ok=Outcome.BATCHED, batch=file_id)


def _read_container(reply: Reply) -> tuple[str, str, dict[str, str]] | Verdict:
    """``(uploadUri, fileId, requiredHeaders)`` from step 1's answer, or a retry verdict if it is unusable."""
    try:
        doc: Any = orjson.loads(reply.body)
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict):
        uri, file_id, headers = doc.get("uploadUri"), doc.get("fileId"), doc.get("requiredHeaders") or {}
        if isinstance(uri, str) and uri and isinstance(file_id, str) and file_id and _str_map(headers):
            return uri, file_id, dict(headers)
    _, text = describe_error(reply)
    error = f"{text}: the file container answer lacks uploadUri/fileId"
    return Verdict(Action.RETRY, status=reply.status, error=error, latency_ms=reply.latency_ms)


def _str_map(value: object) -> bool:
    return isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def upload_verdict(reply: Reply, payload_bytes: int) -> Verdict:
    """A failed upload to the file container: retried from a new container, unless the payload is too big."""
    fields = dict(_S3_FIELD.findall(reply.body[:4096]))
    code = fields.get(b"Code", b"").decode("utf-8", "replace") or "HTTP error"
    message = fields.get(b"Message", b"").decode("utf-8", "replace")
    text = f"{reply.status} {code}: upload to the file container failed" + (f": {message}" if message else "")
    if reply.status == 413:
        text += f" ({payload_bytes:,} bytes): lower --batch-bytes"
        return Verdict(Action.DONE, Outcome.FAILED, reply.status, text, reply.latency_ms)
    if reply.status == 429 or (reply.status == 503 and code == "SlowDown"):
        # A throttle like any other (S3 says it with 503 SlowDown): every worker pauses, honouring Retry-After.
        retry_after = parse_retry_after(reply.headers.get("Retry-After"))
        return Verdict(
            Action.RETRY, status=reply.status, error=text, latency_ms=reply.latency_ms, throttled=True,
            retry_after=retry_after,
        )  # fmt: skip
    return Verdict(Action.RETRY, status=reply.status, error=text, latency_ms=reply.latency_ms)
