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
from aiohttp.connector import Connection

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
    ``Pacer.left_late`` (or ``SharedPacer.left_late``), told when each request got its connection
    (``LateAwareConnector``).
    """
    options: dict[str, Any] = {"limit": limit, "ttl_dns_cache": 300, "ssl": network.ssl_context}
    connector = (
        aiohttp.TCPConnector(**options)
        if left_late is None
        else LateAwareConnector(left_late, loop_clock(asyncio.get_running_loop()), **options)
    )
    return aiohttp.ClientSession(connector=connector, raise_for_status=False, trust_env=False)


NEW_CONNECTION_S = 0.001  # a connect that took longer opened a connection (a pooled one is handed out at once)


class LateAwareConnector(aiohttp.TCPConnector):
    """Tells the pacer when a request got its connection (issue 20).

    A request whose connection was dropped (a reset) must open a new one before it leaves: it reaches the server
    later than its start slot, and would bunch with the slots granted meanwhile. ``connect`` is aiohttp's documented
    connector method, run once per request just after its slot: this override reads the clock around it and, when the
    connection was not pooled (the call took over ``NEW_CONNECTION_S``), hands the start time to ``Pacer.left_late``,
    which takes one more slot when the request left later than the pacer's slack (``rate/pacing.py``; the slack is
    0 at R = 10: asking for every request would charge each a slot for the microseconds a pooled connection takes).
    Measured: two clock reads per request, where aiohttp's tracing hooks (a ``TraceConfig``) cost 64,000
    instructions per request on every paced run (benchmarks/RESULTS.md, issue 20).
    """

    def __init__(self, left_late: Callable[[float], object], clock: Callable[[], float], **options: Any) -> None:
        super().__init__(**options)
        self._left_late, self._clock = left_late, clock

    async def connect(
        self,
        req: aiohttp.ClientRequest,
        traces: list[Any],
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109
    ) -> Connection:
        started = self._clock()
        connection = await super().connect(req, traces, timeout)
        if self._clock() - started > NEW_CONNECTION_S:  # a pooled connection comes back in microseconds
            self._left_late(started)
        return connection
