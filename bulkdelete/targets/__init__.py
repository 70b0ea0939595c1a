"""The target kit: everything needed to add an API to bulkdelete, with no private import.

A target knows one API and nothing else. The engine owns pacing, concurrency, retries, pauses, budgets and
reporting; for each record (or batch) it calls ``target.send(transport, records)``, and the target sends its
request(s) through the ``Transport`` (which paces and counts every request) and returns one ``Verdict`` per record.

* ``Target``: the protocol (``name``, ``batch_size``, ``batch_bytes``, ``validate``, ``record_bytes``, ``send``);
* ``Transport``, ``Reply``: how a target sends, and the answer it gets back;
* ``Verdict``, ``Action``, ``Outcome``: what one attempt means for one record;
* ``answer_kind``, ``verdict_for``, ``http_verdict``, ``Answer``: the one classification of HTTP answers that every
  target composes (401/403 abort, 429 pauses every worker, 408/5xx retry, gone statuses are ok, other 4xx fail);
* ``describe_reply``, ``error_fields``, ``error_text``, ``parse_retry_after``: reading an error answer;
* ``quote_path_segment``, ``quote_query_value``, ``UrlTemplate``, ``UrlPrefix``: ids into URLs, exactly as read;
* ``Secret``, ``scrub``: credentials that never print;
* ``TargetPlugin``, ``PluginContext``: a target from another package, as ``bulkdelete <name> delete`` (``plugins``).

A whole per-item target, for an API that answers ``DELETE /items/{id}`` with 204, or 404 when already gone::

    class ItemsTarget:
        name, batch_size, batch_bytes = "items", 1, None

        def __init__(self, base_url: str, key: Secret) -> None:
            self._url = UrlTemplate(base_url + "/items/{id}")
            self._headers = {"Authorization": f"Bearer {key.reveal()}"}

        def validate(self, record_id: str) -> str | None:
            return None

        def record_bytes(self, record_id: str) -> int:
            return len(record_id)

        async def send(self, transport: Transport, records: Sequence[Record]) -> Sequence[Verdict]:
            reply = await transport.request("DELETE", self._url.url(records[0].id), headers=self._headers)
            return [http_verdict(reply, gone={404})]
"""

from bulkdelete.errors import ConfigError, TransportError
from bulkdelete.rate.backoff import parse_retry_after
from bulkdelete.records import Outcome, Record
from bulkdelete.secrets import Secret, scrub
from bulkdelete.targets.answers import (
    Answer,
    answer_kind,
    describe_reply,
    error_fields,
    error_text,
    http_verdict,
    verdict_for,
)
from bulkdelete.targets.base import Action, Reply, Target, Transport, Verdict
from bulkdelete.targets.plugins import PluginContext, TargetPlugin
from bulkdelete.targets.urls import UrlPrefix, UrlTemplate, quote_path_segment, quote_query_value

__all__ = [
    "Action",
    "Answer",
    "ConfigError",
    "Outcome",
    "PluginContext",
    "Record",
    "Reply",
    "Secret",
    "Target",
    "TargetPlugin",
    "Transport",
    "TransportError",
    "UrlPrefix",
    "UrlTemplate",
    "Verdict",
    "answer_kind",
    "describe_reply",
    "error_fields",
    "error_text",
    "http_verdict",
    "parse_retry_after",
    "quote_path_segment",
    "quote_query_value",
    "scrub",
    "verdict_for",
]
