"""How the run reaches the API: the ``Network`` (TLS trust + proxy routes) and the one HTTP session built from it.

``Network.from_env`` reads ``--proxy``/``--ca-bundle`` and the environment once, before anything is sent, so a bad
proxy URL or CA file is a configuration error (exit 2). ``open_session`` is the only place an ``aiohttp`` session is
created, for the engine and for Coveo's single calls alike.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler
from aiohttp.tracing import Trace

from bulkdelete.net.proxy import ProxyRoutes, proxy_routes
from bulkdelete.net.tls import client_context
from bulkdelete.rate.pacing import loop_clock
from bulkdelete.secrets import Secret


@dataclass(frozen=True, slots=True)
class Network:
    """TLS trust and proxy routes for every request of a run."""

    ssl_context: ssl.SSLContext
    proxies: ProxyRoutes

    @classmethod
    def from_env(
        cls, proxy: str | None = None, ca_bundle: str | None = None, environ: Mapping[str, str] | None = None
    ) -> Network:
        """From ``--proxy`` (None: from the environment; ``''``: none) and ``--ca-bundle``; raises ``ConfigError``."""
        env = os.environ if environ is None else environ
        return cls(client_context(ca_bundle, env), proxy_routes(proxy, env))

    @property
    def secrets(self) -> tuple[Secret, ...]:
        """Proxy credentials: scrubbed from everything shown to people."""
        return self.proxies.secrets


def open_session(
    network: Network, *, limit: int = 100, left_late: Callable[[float], object] | None = None
) -> aiohttp.ClientSession:
    """A session that verifies certificates with ``network``'s trust and never reads proxies or ``.netrc`` itself.

    ``trust_env=False``: proxies are chosen per request by ``ProxyRoutes`` (curl's rules, not aiohttp's), and
    aiohttp's ``trust_env`` would also send ``~/.netrc`` credentials to the API host. ``left_late``: a paced run's
    ``Pacer.left_late`` (or ``SharedPacer.left_late``), told when a request had to open a new connection
    (``LateAwareConnector``).
    """
    options: dict[str, Any] = {"limit": limit, "ttl_dns_cache": 300, "ssl": network.ssl_context}
    connector = (
        aiohttp.TCPConnector(**options)
        if left_late is None
        else LateAwareConnector(left_late, loop_clock(asyncio.get_running_loop()), **options)
    )
    return aiohttp.ClientSession(connector=connector, raise_for_status=False, trust_env=False)


class LateAwareConnector(aiohttp.TCPConnector):
    """Tells the pacer when a request had to open a new connection (issue 20).

    A request whose connection was dropped (a reset) must open a new one before it leaves: it reaches the server
    later than its start slot (a TCP and TLS handshake), and would bunch with the slots granted meanwhile. aiohttp
    calls ``_create_connection`` for exactly those requests, just after their slot (a pooled connection never gets
    there): this override reads the clock around it and hands the start time to the pacer's ``left_late``, which
    takes one more slot when the request left later than the pacer's slack (``rate/pacing.py``, ``rate/shared.py``).

    ``_create_connection`` is aiohttp's own hook for a connector's kind of connection (``TCPConnector`` and
    ``UnixConnector`` implement it), not its documented API: reaching into it pays for itself. Overriding the
    documented ``connect`` instead cost every request a coroutine and two clock reads, 5,800-7,800 instructions per
    id (+1.3-1.7%) on every paced run; this costs nothing on a pooled request (benchmarks/RESULTS.md §14, §15). Should a
    release of aiohttp rename it, ``tests/test_pacing.py`` fails (a new connection is no longer reported).
    """

    def __init__(self, left_late: Callable[[float], object], clock: Callable[[], float], **options: Any) -> None:
        super().__init__(**options)
        self._left_late, self._clock = left_late, clock

    async def _create_connection(
        self,
        req: aiohttp.ClientRequest,
        traces: list[Trace],
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109
    ) -> ResponseHandler:
        started = self._clock()
        protocol = await super()._create_connection(req, traces, timeout)
        self._left_late(started)
        return protocol
