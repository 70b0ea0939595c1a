"""The one place HTTP requests are sent: paced, bounded, counted and timed.

Every request of every target goes through ``HttpTransport.request``: it honours a stop (abort, interrupt,
``--max-requests``), waits for a pacing slot, sends, reads the whole body, and records status and latency. A request
that gets no HTTP answer raises ``TransportError`` with a short reason and no secret.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping

import aiohttp
from yarl import URL

from bulkdelete.errors import BulkDeleteError, ConnectError, TransportError
from bulkdelete.output.stats import RunStats
from bulkdelete.rate.pacing import Pacer, loop_clock
from bulkdelete.records import fast_new
from bulkdelete.targets.base import Reply


class StopSending(BulkDeleteError):
    """The run is stopping: this request was not sent, so its records are left for ``--resume``."""


class HttpTransport:
    """Paced, counted HTTP over one ``aiohttp.ClientSession``.

    ``max_requests`` (``--max-requests``) is a hard budget: the request that would exceed it is not sent and the
    ``on_budget_spent`` callback asks the run to stop gracefully.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        pacer: Pacer,
        stats: RunStats,
        *,
        timeout: float,
        max_requests: int | None = None,
    ) -> None:
        self._session = session
        # aiohttp silently re-sends an idempotent request (DELETE) once when a kept-alive connection drops. That
        # resend would escape the pacer (a quota breach) and the attempt count; the engine's own retry does it right.
        # There is no public switch for it (aiohttp 3.9-3.14), hence the private attribute.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        self._pacer = pacer
        self._stats = stats
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_requests = max_requests
        self._budget = max_requests if max_requests is not None else sys.maxsize  # one int compare per request
        self._loop_time = loop_clock(asyncio.get_running_loop())
        self.stopping = False
        self.inflight = 0

    def __repr__(self) -> str:
        return f"<HttpTransport sent={self._stats.requests} inflight={self.inflight} stopping={self.stopping}>"

    @property
    def budget_spent(self) -> bool:
        return self._stats.requests >= self._budget

    async def request(
        self,
        method: str,
        url: str | URL,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        essential: bool = False,
    ) -> Reply:
        """Send one request. ``essential`` requests (resetting the source status) go out even while stopping.

        ``url`` is already percent-encoded: a ``str`` is parsed as such, a ``URL`` (e.g. from ``UrlPrefix``) is sent
        as it is.
        """
        stats = self._stats
        if not essential and (self.stopping or self.budget_spent):
            raise StopSending("the run is stopping")
        if not self._pacer.try_acquire():
            await self._pacer.acquire()
            # Checked again: the stop or the budget may have come while this request waited for its slot.
            if not essential and (self.stopping or self.budget_spent):
                raise StopSending("the run is stopping")
        stats.requests += 1
        self.inflight += 1
        started = self._loop_time()
        try:
            async with self._session.request(
                method,
                URL(url, encoded=True) if isinstance(url, str) else url,
                params=params,
                headers=headers,
                data=data,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                body = await response.read()
        except TimeoutError:
            stats.transport_errors += 1
            raise TransportError(f"timed out after {self._timeout.total:g} s") from None
        except aiohttp.ClientConnectorError as exc:
            stats.transport_errors += 1
            raise ConnectError(describe_client_error(exc)) from None
        except aiohttp.ClientError as exc:
            stats.transport_errors += 1
            raise TransportError(describe_client_error(exc)) from None
        finally:
            self.inflight -= 1
        latency_ms = (self._loop_time() - started) * 1000.0
        status = response.status
        stats.record_reply(status, latency_ms)
        return fast_new(Reply, (status, body, response.headers, latency_ms))  # Reply(...) without a Python frame


def describe_client_error(exc: aiohttp.ClientError) -> str:
    """A short, secret-free reason for a failed request (exception texts can echo URLs and headers)."""
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection closed by the server without a response"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port}"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "response body cut short"
    return f"connection error ({type(exc).__name__})"
