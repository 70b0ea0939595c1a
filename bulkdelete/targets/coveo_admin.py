"""Source-level Coveo calls: set the source status, delete old items (``olderthan``).

``StatusLifecycle`` brackets a run: an active status (REBUILD / REFRESH / INCREMENTAL) before the first delete and
``IDLE`` after the last, always, also on failure, abort or interrupt, as Coveo asks of every content update.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bulkdelete.errors import AbortRun, TransportError
from bulkdelete.net.transport import HttpTransport
from bulkdelete.rate.backoff import BackoffPolicy, parse_retry_after
from bulkdelete.targets.base import Reply
from bulkdelete.targets.coveo import CoveoSettings, describe_error

STATUS_ATTEMPTS = 5
STATUS_BACKOFF = BackoffPolicy(base=0.25, cap=2.0, retry_after_cap=10.0)


async def set_status(
    transport: HttpTransport, settings: CoveoSettings, status: str, *, backoff: BackoffPolicy = STATUS_BACKOFF
) -> Reply:
    """``POST …/status?statusType=STATUS``; raises ``AbortRun`` unless Coveo answers 2xx.

    A 429, a 5xx or no answer is retried (up to ``STATUS_ATTEMPTS`` in all, honouring ``Retry-After``): the ``IDLE``
    after a run must not be lost to one transient error (seen: a single injected 503 left the source in REFRESH).
    """
    for attempt in range(1, STATUS_ATTEMPTS + 1):
        last = attempt == STATUS_ATTEMPTS
        try:
            reply = await transport.request(
                "POST",
                f"{settings.source_url}/status?statusType={status}",
                headers=settings.auth_headers(),
                essential=True,
            )
        except TransportError:
            if last:
                raise
            await asyncio.sleep(backoff.delay(attempt))
            continue
        if 200 <= reply.status < 300:
            return reply
        if last or not (reply.status == 429 or reply.status >= 500):
            raise AbortRun(f"setting the source status to {status} failed: {describe_error(reply)[1]}", reply.status)
        retry_after = parse_retry_after(reply.headers.get("Retry-After"))
        await asyncio.sleep(backoff.pause_for(retry_after, attempt) if reply.status == 429 else backoff.delay(attempt))
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


async def delete_older_than(
    transport: HttpTransport, settings: CoveoSettings, ordering_id: int, queue_delay: int | None
) -> Reply:
    """``DELETE …/documents/olderthan?orderingId=N[&queueDelay=M]``; raises ``AbortRun`` unless 2xx."""
    url = f"{settings.source_url}/documents/olderthan?orderingId={ordering_id}"
    if queue_delay is not None:
        url += f"&queueDelay={queue_delay}"
    reply = await transport.request("DELETE", url, headers=settings.auth_headers(), essential=True)
    if not 200 <= reply.status < 300:
        raise AbortRun(f"delete old items failed: {describe_error(reply)[1]}", reply.status)
    return reply


@dataclass(frozen=True, slots=True)
class StatusLifecycle:
    """Set ``status`` before the run and ``IDLE`` after it."""

    settings: CoveoSettings
    status: str

    async def before(self, transport: HttpTransport) -> None:
        await set_status(transport, self.settings, self.status)

    async def after(self, transport: HttpTransport) -> None:
        await set_status(transport, self.settings, "IDLE")
