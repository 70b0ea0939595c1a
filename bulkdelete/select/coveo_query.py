"""One Coveo listing query, as SPEC §13 writes it, and its answer read exactly.

::

    POST {search}/rest/search/v2?organizationId={org}&viewAllContent=true
    {"aq": "(EXPR) @source==\\"NAME\\" @rowid>LAST @rowid<=B", "sortCriteria": "@rowid ascending",
     "numberOfResults": 1000, "firstResult": 0, "fieldsToInclude": ["rowid", "uri", "source", "date"],
     "maximumAge": 0, "timezone": "UTC"}

``viewAllContent=true`` (secured items are listed too: the key needs *Search – View all content*), ``maximumAge: 0``
(no cached answer: an item deleted or added a minute ago counts as it is now), at most 1,000 a page (the API's cap)
and always ``firstResult`` 0 (the 5,000-result window never applies: the keyset moves instead). Each result's
``uri`` is the Push ``documentId``; ``raw.rowid`` is read as the exact integer orjson parses (a value that is not
an integer makes the answer unreadable, never rounded). An answer over the response cap (400
``ResponseExceededMaximumSizeException``) is asked again at once with half the page, which that range keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from bulkdelete.errors import ConfigError, TransportError
from bulkdelete.records import Outcome
from bulkdelete.secrets import Secret
from bulkdelete.select.items import Listed
from bulkdelete.targets.answers import Answer, answer_kind, describe_reply, error_fields, json_object, verdict_for
from bulkdelete.targets.base import Action, Reply, Transport, Verdict
from bulkdelete.targets.coveo_search import search_endpoint

PAGE_SIZE = 1000  # the Search API's cap for numberOfResults with keyset paging
FIELDS = ["rowid", "uri", "source", "date"]
TOO_LARGE = "ResponseExceededMaximumSizeException"
ASCENDING, DESCENDING = "@rowid ascending", "@rowid descending"


@dataclass(frozen=True, slots=True)
class Page:
    """A listing answer read: ``totalCount`` and the items, in the order given."""

    total: int
    items: list[Listed]


def selection(aq: str | None, source: str | None) -> str:
    """``(EXPR) @source=="NAME"``: what is listed, without the keyset terms (``""``: the whole org)."""
    terms = []
    if aq is not None and aq.strip():
        terms.append(f"({aq})")
    if source is not None:
        if '"' in source or "\\" in source:
            raise ConfigError(f"source name {source!r} holds a quote or a backslash: the query language cannot hold it")
        terms.append(f'@source=="{source}"')
    return " ".join(terms)


class CoveoQuery:
    """Sends listing queries for one selection; counts every query sent (``queries``)."""

    def __init__(self, search_url: str, org: str, key: Secret, where: str, *, key_name: str) -> None:
        self.where = where
        self.key_name = key_name
        self.queries = 0
        self._url, self._params, self._headers = search_endpoint(search_url, org, key)

    def __repr__(self) -> str:
        return f"<CoveoQuery {self._url} where={self.where!r} queries={self.queries}>"

    def aq(self, after: int | None = None, upper: int | None = None) -> str:
        terms = [self.where] if self.where else []
        if after is not None:
            terms.append(f"@rowid>{after}")
        if upper is not None:
            terms.append(f"@rowid<={upper}")
        return " ".join(terms) or "@rowid>0"  # an empty aq is not a query: every rowid is above 0

    async def ask(self, transport: Transport, aq: str, count: int, sort: str = ASCENDING) -> Reply:
        body = {
            "aq": aq,
            "sortCriteria": sort,
            "numberOfResults": count,
            "firstResult": 0,
            "fieldsToInclude": FIELDS,
            "maximumAge": 0,
            "timezone": "UTC",
        }
        try:
            reply = await transport.request(
                "POST", self._url, params=self._params, headers=self._headers, data=orjson.dumps(body)
            )
        except TransportError:
            self.queries += 1  # sent, no answer (a stopping run's StopSending was not sent: not counted)
            raise
        self.queries += 1
        return reply

    async def page(self, transport: Transport, aq: str, size: int, sort: str = ASCENDING) -> tuple[Page | Verdict, int]:
        """The answer of one page (asked again with half the page while it is over the response cap), and the
        page size that held; or the verdict of an answer that settled nothing."""
        while True:
            reply = await self.ask(transport, aq, size, sort)
            if size > 1 and too_large(reply):
                size = max(1, size // 2)
                continue
            page = read_page(reply)
            return (page if page is not None else self.failure(reply)), size

    def failure(self, reply: Reply) -> Verdict:
        """The verdict of an answer that is not a listing page: the shared classification (401/403 abort, 429
        pauses, 5xx retried, other 4xx final: the API's message); a 2xx that cannot be read is retried."""
        kind = answer_kind(reply.status)
        error = describe_reply(reply)
        if kind is Answer.SUCCESS:
            return Verdict(Action.RETRY, Outcome.FAILED, reply.status, f"unreadable search answer: {error}")
        if kind is Answer.FATAL:
            error += f": the search key ({self.key_name}) is refused; it needs Search - Execute queries and View all"
        return verdict_for(kind, reply, error=error)


def too_large(reply: Reply) -> bool:
    """A 400 saying the answer was over the response cap (not a bad query): ask for less."""
    if reply.status != 400:
        return False
    code, message = error_fields(reply.body)
    return TOO_LARGE in (code or "") or TOO_LARGE in (message or "")


def read_page(reply: Reply) -> Page | None:
    """The page of a 2xx search answer, or None when it is not one (a result without ``uri`` or an exact integer
    ``raw.rowid`` included: its keyset could not move on)."""
    doc = json_object(reply)
    results = doc.get("results") if doc is not None else None
    if doc is None or not isinstance(results, list):
        return None
    items = []
    for result in results:
        item = _item(result)
        if item is None:
            return None
        items.append(item)
    total = doc.get("totalCount")
    return Page(total if isinstance(total, int) and not isinstance(total, bool) else len(items), items)


def _item(result: Any) -> Listed | None:
    if not isinstance(result, dict) or not isinstance(result.get("uri"), str):
        return None
    raw: dict[str, Any] = result["raw"] if isinstance(result.get("raw"), dict) else {}
    rowid = raw.get("rowid")
    if isinstance(rowid, str) and rowid.isdigit():
        rowid = int(rowid)
    if not isinstance(rowid, int) or isinstance(rowid, bool):
        return None
    source = raw.get("source")
    date = raw.get("date")
    return Listed(
        result["uri"],
        source=source if isinstance(source, str) else None,
        rowid=rowid,
        date=date if isinstance(date, int) and not isinstance(date, bool) else None,
    )
