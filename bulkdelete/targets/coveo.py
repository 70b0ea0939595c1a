"""The Coveo Push API: per-item DELETE, and how any Push API answer is classified.

Facts (SPEC §2.1): ``DELETE {base}/push/v1/organizations/{org}/sources/{src}/documents?documentId=<uri>
&deleteChildren=<bool>[&orderingId=<ms>]`` answers ``202`` (enqueued, hence the outcome ``accepted``). Errors are
``{"statusCode","errorCode","message"}`` with an ``X-Request-ID`` header. ``429 TOO_MANY_DOCUMENTS_DAILY`` is the
daily item quota: retrying cannot help, so the run aborts, as it does on 401/403.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from multidict import CIMultiDict, CIMultiDictProxy

from bulkdelete.input.reader import URI
from bulkdelete.records import Outcome, Record
from bulkdelete.secrets import Secret
from bulkdelete.targets.answers import Answer, answer_kind, error_fields, error_text, verdict_for
from bulkdelete.targets.base import Action, Reply, Transport, Verdict
from bulkdelete.targets.urls import UrlPrefix, quote_query_value

REGIONS = {
    "us": "https://api.cloud.coveo.com",
    "ca": "https://api-ca.cloud.coveo.com",
    "eu": "https://api-eu.cloud.coveo.com",
    "au": "https://api-au.cloud.coveo.com",
    "hipaa": "https://apihipaa.cloud.coveo.com",
}
STATUSES = ("REBUILD", "REFRESH", "INCREMENTAL", "IDLE")
_DONE = Action.DONE  # read per record: a global is ~10x cheaper than the enum member (CPython 3.11)
_FATAL_CODES = frozenset({"TOO_MANY_DOCUMENTS_DAILY", "ORGANIZATION_IS_PAUSED"})


@dataclass(frozen=True, slots=True)
class CoveoSettings:
    """Where and how to reach one Push source. ``ordering_id`` is epoch milliseconds, or None to let Coveo set it."""

    base_url: str
    org: str
    source: str
    api_key: Secret
    delete_children: bool = False
    ordering_id: int | None = None
    allow_site_children: bool = False

    @property
    def guards_sites(self) -> bool:
        """Whether a whole-site id must be refused: ``deleteChildren`` would take every item of the site with it."""
        return self.delete_children and not self.allow_site_children

    @property
    def org_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/push/v1/organizations/{quote(self.org, safe='')}"

    @property
    def source_url(self) -> str:
        return f"{self.org_url}/sources/{quote(self.source, safe='')}"

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key.reveal()}", "Accept": "application/json"}

    def describe(self, mode: str) -> dict[str, object]:
        """Where a run went, for its summary (SPEC §8): no secret in it."""
        return {"api": "coveo", "org": self.org, "source": self.source, "base_url": self.base_url, "mode": mode}


def describe_error(reply: Reply) -> tuple[str | None, str]:
    """``(errorCode, short text)`` of a Coveo error answer; the text names the X-Request-ID when given.

    Coveo's error body is ``{"statusCode","errorCode","message"}`` (``type`` or ``code`` in some older answers).
    """
    code, message = error_fields(reply.body)
    return code, error_text(reply.status, code, message, reply.request_id)


def classify(reply: Reply, *, ok: Outcome = Outcome.ACCEPTED, batch: str | None = None) -> Verdict:
    """What one Push API answer means for the records it carried: the shared classification (``answers``), plus
    the two error codes that no retry can fix and that would fail every record after them: the daily item quota
    (a 429 that must not be retried) and a paused organization."""
    status = reply.status
    if 200 <= status < 300:  # the common case, once per record: no body to read
        return Verdict(_DONE, ok, status, None, reply.latency_ms, batch)
    code, text = describe_error(reply)
    if code == "ORGANIZATION_IS_PAUSED":
        text += ": the organization is paused; resume it (Coveo Administration Console), then run again"
    kind = Answer.FATAL if code in _FATAL_CODES else answer_kind(status)
    return verdict_for(kind, reply, ok=ok, error=text, batch=batch)


_NOT_A_URI = "not a URI (<scheme>://…): Coveo document ids are URIs"
WHOLE_SITE = (
    "a whole site (no path beyond /): with --delete-children it would delete every item of that site;"
    " pass --allow-site-children if that is meant"
)
_is_uri = URI.fullmatch
_AUTHORITY_END = re.compile(r"[/?#]")


def validate_document_id(record_id: str, *, guard_sites: bool = False) -> str | None:
    """Why ``record_id`` cannot be sent to Coveo, or None. ``guard_sites``: refuse whole-site ids too."""
    if _is_uri(record_id) is None:  # `looks_like_uri`, one call less: this runs once per record
        return _NOT_A_URI
    if guard_sites and is_whole_site(record_id):
        return WHOLE_SITE
    return None


def is_whole_site(uri: str) -> bool:
    """True when ``uri`` (``<scheme>://<rest>``) has nothing but slashes after its authority.

    ``https://www.example.com``, ``https://www.example.com/``, ``file:///``: under ``deleteChildren`` Coveo
    deletes every id starting with ``<id>/``, which is every item of that site (or share, or file system).
    A query or fragment after the authority (``https://x.com/?p=1``) narrows the prefix: not a whole site.
    """
    rest = uri[uri.index("://") + 3 :]
    match = _AUTHORITY_END.search(rest)
    return match is None or not rest[match.start() :].strip("/")


class CoveoItemTarget:
    """One ``DELETE …/documents?documentId=`` per record."""

    name = "coveo"
    batch_size = 1
    batch_bytes: int | None = None

    def __init__(self, settings: CoveoSettings) -> None:
        self.settings = settings
        self._guard_sites = settings.guards_sites
        # Immutable, and already the type aiohttp works in: a plain dict would be copied into one per request.
        self._headers = CIMultiDictProxy(CIMultiDict(settings.auth_headers()))
        # Built once: per record only the quoted id changes (? & # + % and spaces encoded).
        self._documents = UrlPrefix(f"{settings.source_url}/documents")
        self._suffix = f"&deleteChildren={'true' if settings.delete_children else 'false'}"
        if settings.ordering_id is not None:
            self._suffix += f"&orderingId={settings.ordering_id}"

    def __repr__(self) -> str:
        return f"<CoveoItemTarget source={self.settings.source!r} children={self.settings.delete_children}>"

    def describe(self) -> dict[str, object]:
        return self.settings.describe("item")

    def validate(self, record_id: str) -> str | None:
        return validate_document_id(record_id, guard_sites=self._guard_sites)

    def record_bytes(self, record_id: str) -> int:
        return len(record_id)

    async def send(self, transport: Transport, records: Sequence[Record]) -> Sequence[Verdict]:
        (record,) = records
        url = self._documents.with_query(f"documentId={quote_query_value(record.id)}{self._suffix}")
        reply = await transport.request("DELETE", url, headers=self._headers)
        return [classify(reply)]
