"""Is a Velt document really gone? Velt's Get Documents, in batches of at most 30 ids (SPEC §11).

``POST {base}/v2/organizations/documents/get`` with the delete's headers and body shape answers
``{"result": {"status": "success", "data": [{"id": …}, …]}}``: an id absent from ``data`` is gone (the console's
"advanced queries" must be on, or the API returns nothing useful). Ids are compared byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from bulkdelete.records import Outcome, Record
from bulkdelete.secrets import scrub
from bulkdelete.targets.base import Action, Reply, Transport, Verdict
from bulkdelete.targets.velt import MAX_BATCH_SIZE, VeltSettings, load_answer, request_verdict

GONE_EVIDENCE = "get documents: not returned"


class VeltGetCheck:
    """Checks batches of ids with Get Documents. A ``Target`` whose verdicts are ``gone`` or ``present``."""

    name = "velt"
    batch_bytes: int | None = None
    evidence = GONE_EVIDENCE

    def __init__(self, settings: VeltSettings) -> None:
        self.settings = settings
        self.batch_size = min(settings.batch_size, MAX_BATCH_SIZE)
        self._url = f"{settings.base_url.rstrip('/')}/{settings.api_version}/organizations/documents/get"
        self._headers = settings.headers()
        self._secrets = (settings.api_key, settings.auth_token)

    def __repr__(self) -> str:
        return f"<VeltGetCheck {self._url} org={self.settings.organization_id!r}>"

    def describe(self) -> dict[str, object]:
        s = self.settings
        return {"api": "velt", "org": s.organization_id, "base_url": s.base_url, "mode": "get"}

    def validate(self, record_id: str) -> str | None:
        return None

    def record_bytes(self, record_id: str) -> int:
        return len(record_id)

    async def send(self, transport: Transport, records: Sequence[Record]) -> Sequence[Verdict]:
        ids = [record.id for record in records]
        body = orjson.dumps({"data": {"organizationId": self.settings.organization_id, "documentIds": ids}})
        reply = await transport.request("POST", self._url, headers=self._headers, data=body)
        found = _returned_ids(reply)
        if found is None:
            verdict = request_verdict(reply, load_answer(reply.body))
            if verdict.error is not None:
                verdict = verdict._replace(error=scrub(verdict.error, self._secrets))
            return [verdict] * len(ids)
        status, latency = reply.status, reply.latency_ms
        present = Verdict(Action.DONE, Outcome.PRESENT, status, "get documents: still returned", latency)
        gone = Verdict(Action.DONE, Outcome.GONE, status, None, latency)
        return [present if record_id in found else gone for record_id in ids]


def _returned_ids(reply: Reply) -> set[str] | None:
    """The ids a Get Documents answer returns, or None when the reply is not such an answer."""
    if not 200 <= reply.status < 300:
        return None
    doc = load_answer(reply.body)
    result = doc.get("result") if isinstance(doc, dict) else None
    data = result.get("data") if isinstance(result, dict) else None
    if isinstance(data, dict):  # a mapping id -> document, as the delete answers
        data = [{"id": key, **value} if isinstance(value, dict) else {"id": key} for key, value in data.items()]
    if not isinstance(data, list):
        return None
    found: set[str] = set()
    for entry in data:
        if isinstance(entry, dict):
            for key in ("id", "documentId"):
                if isinstance(entry.get(key), str):
                    found.add(entry[key])
    return found
