"""The one place HTTP requests are sent: paced, bounded, counted and timed.

Every request of every target goes through ``HttpTransport.request``: it honours a stop (abort, interrupt,
``--max-requests``), waits for a pacing slot, sends, reads the whole body, and records status and latency. A request
that gets no HTTP answer raises ``TransportError`` with a short reason and no secret. Each request goes through the
proxy ``ProxyRoutes`` picks for its URL (``net/proxy.py``). A certificate that does not verify raises
``UntrustedCertificate`` and a proxy that refuses raises ``ProxyRefused``: both stop the run (exit 3), never retried.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from contextvars import ContextVar

import aiohttp
from multidict import istr
from yarl import URL

from bulkdelete.errors import BulkDeleteError, ConnectError, ProxyRefused, TransportError
from bulkdelete.net.fd_limit import EXHAUSTED, is_fd_exhaustion
from bulkdelete.net.proxy import Proxy, ProxyRoutes
from bulkdelete.net.tls import describe_cert_error
from bulkdelete.output.stats import RunStats
from bulkdelete.rate.control import StartSlots
from bulkdelete.rate.pacing import loop_clock
from bulkdelete.targets.base import Reply

#: The X-Request-ID of the last answer a request got in the current task (None: no answer, or none given). Each
#: engine worker is a task that sends one job at a time: after ``target.send`` returns, this names the answer its
#: verdicts came from, whatever the target, without every target having to carry it through its verdicts.
last_request_id: ContextVar[str | None] = ContextVar("last_request_id", default=None)
_REQUEST_ID = istr("X-Request-ID")  # an istr key skips the case folding a str key costs on every lookup


class StopSending(BulkDeleteError):
    """The run is stopping: this request was not sent, so its records are left for ``--resume``."""


class ConnectionDropped(aiohttp.ClientConnectionError):
    """The connection broke before an answer came (the ``__cause__`` says how): raised in place of aiohttp's
    ``ServerDisconnectedError`` / ``ClientOSError``, so that aiohttp does not re-send the request itself."""


async def no_silent_resend(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """A client middleware (aiohttp's public API, 3.12+) that keeps aiohttp from re-sending a request.

    aiohttp re-sends an idempotent request (DELETE, PUT) once, silently, when its connection drops without an answer
    (RFC 9112 §9.3.1). That resend would escape the pacer (a quota breach) and the attempt count. aiohttp's retry
    loop catches exactly ``ClientOSError`` and ``ServerDisconnectedError`` around the middlewares: the same failure
    under another ``ClientConnectionError`` passes through it, and the engine retries with its own backoff. Errors
    opening a connection (``ClientConnectorError``, which aiohttp never retries) pass unchanged.
    """
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
        raise ConnectionDropped(describe_client_error(exc)) from exc


class HttpTransport:
    """Paced, counted HTTP over one ``aiohttp.ClientSession``.

    ``max_requests`` (``--max-requests``) is a hard budget: the request that would exceed it is not sent and the
    ``on_budget_spent`` callback asks the run to stop gracefully.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        rate: StartSlots,
        stats: RunStats,
        *,
        timeout: float,
        max_requests: int | None = None,
        proxies: ProxyRoutes | None = None,
    ) -> None:
        self._session = session
        self._proxies = proxies if proxies is not None and proxies.enabled else None
        self._proxy_for: dict[tuple[str, str | None, int | None], Proxy | None] = {}  # per scheme, host, port
        self._rate = rate
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
        if not essential and (self.stopping or stats.requests >= self._budget):  # `budget_spent`, inlined
            raise StopSending("the run is stopping")
        if not self._rate.try_acquire():
            await self._rate.acquire()
            # Checked again: the stop or the budget may have come while this request waited for its slot.
            if not essential and (self.stopping or self.budget_spent):
                raise StopSending("the run is stopping")
        stats.requests += 1
        self.inflight += 1
        target = URL(url, encoded=True) if isinstance(url, str) else url
        proxy = None if self._proxies is None else self._route(target)
        started = self._loop_time()
        try:
            # Awaited rather than entered with `async with`: the context manager's __aenter__/__aexit__ add four
            # coroutines per request and a frame that every suspension passes through. ``read()`` releases the
            # connection once the body is in, and closes it when reading fails or is cancelled: nothing to exit.
            response = await self._session.request(
                method,
                target,
                params=params,
                headers=headers,
                data=data,
                timeout=self._timeout,
                allow_redirects=False,
                proxy=None if proxy is None else proxy.url,
                proxy_headers=None if proxy is None else proxy.headers,
                middlewares=_MIDDLEWARES,
            )
            body = await response.read()
        except TimeoutError:
            stats.transport_errors += 1
            raise TransportError(f"timed out after {self._timeout.total:g} s") from None
        except aiohttp.ClientError as exc:
            stats.transport_errors += 1
            raise request_error(exc, proxy) from None
        finally:
            self.inflight -= 1
        latency_ms = (self._loop_time() - started) * 1000.0
        status = response.status
        if status == 407 and proxy is not None:  # the proxy's answer to a plain-http request, not the API's
            raise ProxyRefused(f"the proxy {proxy} refused the request: 407 Proxy Authentication Required", 407)
        stats.record_reply(status, latency_ms)
        last_request_id.set(response.headers.get(_REQUEST_ID))
        return Reply(status, body, response.headers, latency_ms)

    def _route(self, url: URL) -> Proxy | None:
        key = (url.scheme, url.raw_host, url.port)
        try:
            return self._proxy_for[key]
        except KeyError:
            assert self._proxies is not None
            proxy = self._proxy_for[key] = self._proxies.for_url(url)
            return proxy


def request_error(exc: aiohttp.ClientError, proxy: Proxy | None) -> BulkDeleteError:
    """The error a request without an HTTP answer raises: a run-wide refusal (certificate, proxy) or a retryable
    ``TransportError`` (``ConnectError`` when no connection could be opened)."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return describe_cert_error(exc.certificate_error, exc.host, exc.port)
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        message = f"the proxy {proxy} answered {exc.status} {exc.message} to CONNECT"
        if exc.status >= 500:  # the proxy could not reach the API (yet): retryable like any connect failure
            return ConnectError(message)
        return ProxyRefused(f"{message}: check the proxy URL and its credentials", exc.status)
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return ConnectError(f"cannot connect to the proxy {proxy}")
    if isinstance(exc, aiohttp.ClientConnectorSSLError):
        return ConnectError(f"TLS handshake with {exc.host}:{exc.port} failed ({_ssl_reason(exc)})")
    if isinstance(exc, aiohttp.ClientConnectorError):
        if is_fd_exhaustion(exc.os_error):  # a local limit, not the network: retried, never "unreachable"
            return TransportError(f"cannot open a connection: {EXHAUSTED}")
        return ConnectError(describe_client_error(exc))
    return TransportError(describe_client_error(exc))


def _ssl_reason(exc: aiohttp.ClientConnectorSSLError) -> str:
    cause = exc.os_error
    return str(getattr(cause, "reason", None) or type(cause).__name__)


def describe_client_error(exc: aiohttp.ClientError) -> str:
    """A short, secret-free reason for a failed request (exception texts can echo URLs and headers)."""
    if isinstance(exc, ConnectionDropped):
        return str(exc)  # already described, from its cause
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection closed by the server without a response"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port}"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "response body cut short"
    return f"connection error ({type(exc).__name__})"


_MIDDLEWARES = (no_silent_resend,)
