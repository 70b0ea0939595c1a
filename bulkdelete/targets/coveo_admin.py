"""Source-level Coveo calls: set the source status, delete old items (``olderthan``).

``StatusLifecycle`` brackets a run: an active status (REBUILD / REFRESH / INCREMENTAL) before the first delete and
``IDLE`` after the last, always, also on failure, abort or interrupt, as Coveo asks of every content update.
"""

from __future__ import annotations

from dataclasses import dataclass

from bulkdelete.errors import AbortRun
from bulkdelete.net.transport import HttpTransport
from bulkdelete.targets.base import Reply
from bulkdelete.targets.coveo import CoveoSettings, describe_error


async def set_status(transport: HttpTransport, settings: CoveoSettings, status: str) -> Reply:
    """``POST …/status?statusType=STATUS``; raises ``AbortRun`` unless Coveo answers 2xx."""
    reply = await transport.request(
        "POST",
        f"{settings.source_url}/status?statusType={status}",
        headers=settings.auth_headers(),
        essential=True,
    )
    if not 200 <= reply.status < 300:
        raise AbortRun(f"setting the source status to {status} failed: {describe_error(reply)[1]}", reply.status)
    return reply


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
