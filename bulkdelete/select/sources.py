"""A Coveo source id to its name (``@source`` holds names): ``GET {platform}/rest/organizations/{org}/sources/{ID}``.

The answer is ``{"id", "name", "information": {"numberOfDocuments"}}``. The look-up is one call through the engine
(paced, retried, 401/403 abort, as every listing query); a 404 (or a 400: no such id) means the source is unknown,
a usage error (exit 2) before anything is listed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bulkdelete.errors import ConfigError
from bulkdelete.net.transport import HttpTransport
from bulkdelete.output.stats import RunStats
from bulkdelete.pipeline.ending import RunEnd
from bulkdelete.pipeline.settings import EngineSettings
from bulkdelete.rate.control import RateControl
from bulkdelete.records import Outcome
from bulkdelete.secrets import Secret
from bulkdelete.select.calls import CallRunner
from bulkdelete.targets.answers import Answer, answer_kind, describe_reply, json_object, verdict_for
from bulkdelete.targets.base import Action, Transport, Verdict

PLATFORM_HOSTS = {
    "us": "https://platform.cloud.coveo.com",
    "ca": "https://platform-ca.cloud.coveo.com",
    "eu": "https://platform-eu.cloud.coveo.com",
    "au": "https://platform-au.cloud.coveo.com",
    "hipaa": "https://platformhipaa.cloud.coveo.com",
}


def platform_base(region: str) -> str:
    """The Platform API root of ``region`` (``https://platform.cloud.coveo.com`` for us)."""
    return PLATFORM_HOSTS[region]


class SourceLookup:
    """One look-up call: ``name`` once an answer named the source; ``unknown`` when the API said it has none."""

    def __init__(self, platform_url: str, org: str, source_id: str, key: Secret) -> None:
        self.source_id = source_id
        self._url = (
            f"{platform_url.rstrip('/')}/rest/organizations/{quote(org, safe='')}/sources/{quote(source_id, safe='')}"
        )
        self._headers = {"Authorization": f"Bearer {key.reveal()}", "Accept": "application/json"}
        self.name: str | None = None
        self.unknown: str | None = None

    def __repr__(self) -> str:
        return f"<SourceLookup {self.source_id!r} name={self.name!r}>"

    async def send(self, transport: Transport) -> Verdict:
        reply = await transport.request("GET", self._url, headers=self._headers)
        kind = answer_kind(reply.status)
        if kind is Answer.SUCCESS:
            name = _name(json_object(reply))
            if name is None:
                return Verdict(Action.RETRY, Outcome.FAILED, reply.status, "the Sources API answer names no source")
            self.name = name
            return Verdict(Action.DONE, Outcome.ACCEPTED, reply.status, None, reply.latency_ms)
        if reply.status in (400, 404):
            self.unknown = describe_reply(reply)
        error = describe_reply(reply)
        if kind is Answer.FATAL:
            error += ": the key is refused by the Sources API (it needs View on Sources); or give --source-name NAME"
        return verdict_for(kind, reply, error=error)


async def resolve_source_name(
    transport: HttpTransport,
    rate: RateControl,
    settings: EngineSettings,
    stats: RunStats,
    *,
    platform_url: str,
    org: str,
    source_id: str,
    key: Secret,
) -> tuple[str | None, RunEnd]:
    """The name of source ``source_id``, or None with how the look-up ended (aborted, interrupted, …).

    Raises ``ConfigError`` when the API does not know the source (exit 2: nothing listed).
    """
    lookup = SourceLookup(platform_url, org, source_id, key)
    end, _ = await CallRunner("coveo", transport, rate, settings, stats).run_all([lookup])
    if lookup.unknown is not None:
        raise ConfigError(f"--source {source_id!r}: organization {org!r} has no such source ({lookup.unknown})")
    return lookup.name, end


def _name(doc: dict[str, Any] | None) -> str | None:
    name = doc.get("name") if doc is not None else None
    return name if isinstance(name, str) and name else None
