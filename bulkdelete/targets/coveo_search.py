"""Is a Coveo document really gone? The Search API, asked the way that could see it (SPEC §11).

A check is a target call like a delete: the engine batches, paces, retries and refuses it run-wide. One query per
batch of at most 100 ids::

    POST {search}/rest/search/v2?organizationId={org}&viewAllContent=true
    {"aq": "@uri==(\\"ID1\\",\\"ID2\\")", "numberOfResults": n, "firstResult": 0, "fieldsToInclude": ["uri"],
     "maximumAge": 0}

``viewAllContent=true`` (the key needs *Search – View all content*) makes secured items visible: without it they
would look gone. ``maximumAge: 0`` bypasses the query cache: a cached answer from before the delete took effect would
say present, one from before the item was re-pushed would say gone. The index may match ``==`` loosely (case, for
one): an id is present only when a returned ``uri`` equals it byte for byte; every other id of the query is gone.
An id holding ``"`` or ``\\`` cannot be quoted safely in the query language: it is never asked (``unknown``).

``children``: a gone id is also asked for descendants (``@uri*="ID/*"``); any left makes it present, with
``children_left`` on its line.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

import orjson

from bulkdelete.errors import ConnectError, TransportError
from bulkdelete.records import Outcome, Record
from bulkdelete.secrets import Secret
from bulkdelete.targets.answers import Answer, answer_kind, describe_reply, json_object, verdict_for
from bulkdelete.targets.base import Action, Reply, Transport, Verdict

SEARCH_HOSTS = {
    "us": "https://{org}.org.coveo.com",
    "ca": "https://{org}.orgca.coveo.com",
    "eu": "https://{org}.orgeu.coveo.com",
    "au": "https://{org}.orgau.coveo.com",
    "hipaa": "https://{org}.orghipaa.coveo.com",
}
MAX_IDS_PER_QUERY = 100
MAX_RESULTS = 1000  # the Search API's numberOfResults cap (SPEC §13: a page is at most 1,000)
MAX_PAGES = 5  # the 5,000-result window in pages; a query answering more look-alikes cannot settle its ids: retried
GONE_EVIDENCE = "search: not found (viewAllContent)"
_UNQUOTABLE = "holds a double quote or a backslash: the query language cannot express it exactly (never asked)"


def search_base(region: str, org: str) -> str:
    """The Search API root of ``org`` in ``region`` (``https://{org}.org.coveo.com`` for us)."""
    return SEARCH_HOSTS[region].format(org=quote(org, safe=""))


def search_endpoint(search_url: str, org: str, key: Secret) -> tuple[str, dict[str, str], dict[str, str]]:
    """The Search API's URL, query parameters and headers, as every query of ours asks: ``viewAllContent=true``
    (secured items are seen: the key needs *Search - View all content*), JSON in and out."""
    url = f"{search_url.rstrip('/')}/rest/search/v2"
    params = {"organizationId": org, "viewAllContent": "true"}
    headers = {
        "Authorization": f"Bearer {key.reveal()}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    return url, params, headers


def quoted(record_id: str) -> str:
    return f'"{record_id}"'


class CoveoSearchCheck:
    """Checks batches of ids against the Coveo index. A ``Target`` whose verdicts are ``gone`` or ``present``."""

    name = "coveo"
    batch_bytes: int | None = None
    evidence = GONE_EVIDENCE

    def __init__(
        self,
        search_url: str,
        org: str,
        key: Secret,
        *,
        children: bool = False,
        batch_size: int = 100,
        key_name: str = "COVEO_SEARCH_API_KEY",
    ) -> None:
        if not 1 <= batch_size <= MAX_IDS_PER_QUERY:
            raise ValueError(f"batch_size must be 1..{MAX_IDS_PER_QUERY} (got {batch_size})")
        self.batch_size = batch_size
        self.children = children
        self._key_name = key_name
        self._org = org
        self._base = search_url.rstrip("/")
        self._url, self._params, self._headers = search_endpoint(search_url, org, key)
        self.children_left: dict[str, int] = {}  # id -> descendants seen, for its line (taken by the verifier)

    def __repr__(self) -> str:
        return f"<CoveoSearchCheck {self._url} org={self._org!r} children={self.children}>"

    def describe(self) -> dict[str, object]:
        return {"api": "coveo", "org": self._org, "search_url": self._base, "mode": "search"}

    def validate(self, record_id: str) -> str | None:
        if '"' in record_id or "\\" in record_id:
            return _UNQUOTABLE
        return None

    def record_bytes(self, record_id: str) -> int:
        return len(record_id)

    async def send(self, transport: Transport, records: Sequence[Record]) -> Sequence[Verdict]:
        ids = [record.id for record in records]
        answer = await self._uris(transport, f"@uri==({','.join(quoted(i) for i in ids)})", len(ids))
        if isinstance(answer, Verdict):  # no settled answer: every id of the query shares that verdict
            return [answer] * len(ids)
        found, reply = answer
        status, latency = reply.status, reply.latency_ms
        verdicts = []
        for record_id in ids:
            if record_id in found:
                verdicts.append(Verdict(Action.DONE, Outcome.PRESENT, status, "search: still in the index", latency))
            elif not self.children:
                verdicts.append(Verdict(Action.DONE, Outcome.GONE, status, None, latency))
            else:
                verdicts.append(await self._children(transport, record_id))
        return verdicts

    async def _uris(self, transport: Transport, aq: str, asked: int) -> tuple[set[str], Reply] | Verdict:
        """Every ``uri`` the query answers (paged) and the last reply, or the verdict of a reply that settled
        nothing (an error, an answer that is not a search answer)."""
        found: set[str] = set()
        per_page = min(MAX_RESULTS, max(asked, 10))
        first = 0
        for _ in range(MAX_PAGES):
            reply = await self._query(transport, aq, per_page, first)
            page = _results(reply)
            if page is None:
                return self._failure(reply)
            total, uris = page
            found.update(uris)
            first += len(uris)
            if first >= total or not uris:
                return found, reply
        text = f"the query matched more than {first:,} look-alike uris: its ids cannot be told apart"
        return Verdict(Action.DONE, Outcome.FAILED, reply.status, text, reply.latency_ms)

    async def _children(self, transport: Transport, record_id: str) -> Verdict:
        """``gone``, or ``present`` when descendants (``ID/…``, byte for byte) are still in the index.

        A child query that gets no answer makes this id alone retried (the batch's other ids keep their verdicts).
        The wildcard query matches a superset (case, and a ``*`` or ``?`` of the id itself matching more): every
        match is fetched and compared byte for byte; more matches than can be paged count as descendants left.
        """
        prefix = record_id.rstrip("/") + "/"
        try:
            answer = await self._uris(transport, f"@uri*={quoted(prefix + '*')}", MAX_RESULTS)
        except ConnectError:
            raise  # the API unreachable: the engine counts it for the whole query
        except TransportError as exc:  # one id's children went unanswered: that id is asked again, not the query's
            return Verdict(Action.RETRY, Outcome.FAILED, None, f"children query: {exc}")
        if isinstance(answer, Verdict):
            if answer.action is Action.DONE and answer.outcome is Outcome.FAILED:  # too many look-alikes to page
                self.children_left[record_id] = MAX_RESULTS * MAX_PAGES
                return answer._replace(outcome=Outcome.PRESENT)
            return answer
        found, reply = answer
        left = sum(1 for uri in found if uri.startswith(prefix))
        if left:
            self.children_left[record_id] = left
            text = f"search: {left} children left"
            return Verdict(Action.DONE, Outcome.PRESENT, reply.status, text, reply.latency_ms)
        return Verdict(Action.DONE, Outcome.GONE, reply.status, None, reply.latency_ms)

    async def _query(self, transport: Transport, aq: str, count: int, first: int) -> Reply:
        body = {
            "aq": aq,
            "numberOfResults": count,
            "firstResult": first,
            "fieldsToInclude": ["uri"],
            "maximumAge": 0,
        }
        return await transport.request(
            "POST", self._url, params=self._params, headers=self._headers, data=orjson.dumps(body)
        )

    def _failure(self, reply: Reply) -> Verdict:
        kind = answer_kind(reply.status)
        if kind is Answer.SUCCESS:  # a 2xx that is not a search answer: nothing proven, retried
            kind = Answer.TRANSIENT
        error = describe_reply(reply)
        if kind is Answer.FATAL:  # 401/403
            error += (
                f": the search key ({self._key_name}) is refused; it needs Search - Execute queries and"
                " Search - View all content"
            )
        return verdict_for(kind, reply, error=error)


def _results(reply: Reply) -> tuple[int, list[str]] | None:
    """``(totalCount, [uri, …])`` of a search answer, or None when it is not one."""
    doc = json_object(reply)
    if doc is None or not isinstance(doc.get("results"), list):
        return None
    uris = [r["uri"] for r in doc["results"] if isinstance(r, dict) and isinstance(r.get("uri"), str)]
    total = doc.get("totalCount")
    return (total if isinstance(total, int) else len(uris)), uris
