"""Listing a Velt organization's documents (SPEC §13): ``POST {base}/v2/organizations/documents/get``, page tokens.

::

    {"data": {"organizationId": org, "pageSize": 1000, "pageToken": token?, "folderId": id?}}
    → {"result": {"status": "success", "data": [{"id", …}], "pageToken": next}}

Pages follow one another (each needs the token of the one before), each a call through the engine (paced, retried,
401/403 abort). The listing ends when ``pageToken`` is missing or empty, or ``data`` is empty. A token the API gave
before would loop for ever: the listing stops (``aborted``, exit 3) naming it. An id the API repeats is listed once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from bulkdelete.errors import TransportError
from bulkdelete.net.transport import HttpTransport
from bulkdelete.output.stats import RunStats
from bulkdelete.pipeline.dedupe import SeenIds
from bulkdelete.pipeline.ending import RunEnd, StopLatch, StopReason
from bulkdelete.pipeline.settings import EngineSettings
from bulkdelete.rate.control import RateControl
from bulkdelete.records import Outcome, Result
from bulkdelete.secrets import Secret, scrub
from bulkdelete.select.calls import Call, CallRunner
from bulkdelete.select.excepted import ExceptIds
from bulkdelete.select.items import Listed
from bulkdelete.select.paging import Paging, Turn
from bulkdelete.targets.base import Action, Transport, Verdict
from bulkdelete.targets.velt import VeltSettings, load_answer, request_verdict

PAGE_SIZE = 1000
_NOT_STARTED = RunEnd(StopReason.COMPLETED, "not started", 0)


class _VeltPage:
    """One page: after ``token`` (None: the first). ``items`` and ``next_token`` once read."""

    def __init__(self, listing: VeltListing, token: str | None) -> None:
        self.token = token
        self._listing = listing
        self.items: list[Listed] = []
        self.next_token: str | None = None

    async def send(self, transport: Transport) -> Verdict:
        return await self._listing.ask(transport, self)


class VeltListing:
    """Lists the documents of Velt organization ``org`` (``folder``: only that folder's)."""

    def __init__(
        self,
        base_url: str,
        org: str,
        api_key: Secret,
        auth_token: Secret,
        *,
        folder: str | None,
        excepted: ExceptIds | None = None,
    ) -> None:
        self._settings = VeltSettings(base_url=base_url, organization_id=org, api_key=api_key, auth_token=auth_token)
        self._url = f"{base_url.rstrip('/')}/v2/organizations/documents/get"
        self._secrets = (api_key, auth_token)
        self.org, self.folder, self.base_url = org, folder, base_url
        self._excepted = excepted
        self._seen_ids = SeenIds()
        self._tokens: set[str] = set()
        self._latch: StopLatch[CallRunner] = StopLatch()
        self._finished = False
        self.total_count: int | None = None  # Velt answers no count
        self.queries = 0
        self.listed = 0
        self.excepted = 0
        self.complete = False
        self.end = _NOT_STARTED

    def __repr__(self) -> str:
        return f"<VeltListing org={self.org!r} folder={self.folder!r} listed={self.listed} queries={self.queries}>"

    @property
    def finished(self) -> bool:
        return self._finished

    def describe(self) -> dict[str, object]:
        return {"api": "velt", "org": self.org, "folder": self.folder, "base_url": self.base_url, "mode": "list"}

    def stop(self, reason: StopReason, message: str | None = None) -> None:
        self._latch.stop(reason, message)

    async def count(
        self, transport: HttpTransport, rate: RateControl, settings: EngineSettings, stats: RunStats
    ) -> int | None:
        return None  # Get Documents answers no total: the count is unknown until the listing ends

    async def pages(
        self, transport: HttpTransport, rate: RateControl, settings: EngineSettings, stats: RunStats
    ) -> AsyncIterator[list[Listed]]:
        runner = self._latch.hold(CallRunner("velt", transport, rate, settings, stats))
        paging = Paging(runner, self, [_VeltPage(self, None)])
        async for items in paging:
            yield items
        assert paging.end is not None
        self.end = paging.end
        self.complete = self.end.reason is StopReason.COMPLETED and self._finished

    async def ask(self, transport: Transport, page: _VeltPage) -> Verdict:
        data: dict[str, object] = {"organizationId": self.org, "pageSize": PAGE_SIZE}
        if page.token is not None:
            data["pageToken"] = page.token
        if self.folder is not None:
            data["folderId"] = self.folder
        body = orjson.dumps({"data": data})
        try:
            reply = await transport.request("POST", self._url, headers=self._settings.headers(), data=body)
        except TransportError:
            self.queries += 1  # sent, no answer (a stopping run's StopSending was not sent: not counted)
            raise
        self.queries += 1
        read = _read(load_answer(reply.body)) if 200 <= reply.status < 300 else None
        if read is None:
            verdict = request_verdict(reply, load_answer(reply.body))
            return verdict._replace(error=scrub(verdict.error or "", self._secrets))
        page.items = [Listed(doc_id, folder=folder or self.folder) for doc_id, folder in read[0]]
        page.next_token = read[1]
        return Verdict(Action.DONE, Outcome.ACCEPTED, reply.status, None, reply.latency_ms)

    def turn(self, call: Call, result: Result) -> Turn:
        assert isinstance(call, _VeltPage)
        if not result.ok:
            self._finished = True
            self.stop(StopReason.ABORTED, f"a listing page failed, the listing cannot be complete: {result.error}")
            return [], []
        items = self._keep(call.items)
        token = call.next_token
        if not token or not call.items:
            self._finished = True
            return items, []
        if token in self._tokens or token == call.token:
            self._finished = True
            self.stop(StopReason.ABORTED, f"the Velt API gave pageToken {token!r} again: stopping rather than loop")
            return items, []
        self._tokens.add(token)
        return items, [_VeltPage(self, token)]

    def _keep(self, items: list[Listed]) -> list[Listed]:
        kept = [item for item in items if self._seen_ids.add(item.id)]
        if self._excepted is not None:
            left = [item for item in kept if item.id not in self._excepted]
            self.excepted += len(kept) - len(left)
            kept = left
        self.listed += len(kept)
        return kept


def _read(doc: Any) -> tuple[list[tuple[str, str | None]], str | None] | None:
    """``([(id, folder), …], next token)`` of a listing answer, or None when it is not one."""
    result = doc.get("result") if isinstance(doc, dict) else None
    data = result.get("data") if isinstance(result, dict) else None
    if not isinstance(data, list):
        return None
    found = []
    for entry in data:
        if isinstance(entry, dict):
            doc_id = entry.get("id", entry.get("documentId"))
            folder = entry.get("folderId", entry.get("folder"))
            if isinstance(doc_id, str):
                found.append((doc_id, folder if isinstance(folder, str) else None))
    token = result.get("pageToken") if isinstance(result, dict) else None
    return found, token if isinstance(token, str) else None
