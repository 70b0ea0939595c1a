"""How the run reaches the API: the ``Network`` (TLS trust + proxy routes) and the one HTTP session built from it.

``Network.from_env`` reads ``--proxy``/``--ca-bundle`` and the environment once, before anything is sent, so a bad
proxy URL or CA file is a configuration error (exit 2). ``open_session`` is the only place an ``aiohttp`` session is
created, for the engine and for Coveo's single calls alike.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aiohttp

from bulkdelete.net.proxy import ProxyRoutes, proxy_routes
from bulkdelete.net.tls import client_context
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
    network: Network, *, limit: int = 100, trace_configs: Sequence[aiohttp.TraceConfig] = ()
) -> aiohttp.ClientSession:
    """A session that verifies certificates with ``network``'s trust and never reads proxies or ``.netrc`` itself.

    ``trust_env=False``: proxies are chosen per request by ``ProxyRoutes`` (curl's rules, not aiohttp's), and
    aiohttp's ``trust_env`` would also send ``~/.netrc`` credentials to the API host. ``trace_configs``: aiohttp's
    tracing hooks (a paced run's ``transport.connect_trace()``).
    """
    connector = aiohttp.TCPConnector(limit=limit, ttl_dns_cache=300, ssl=network.ssl_context)
    return aiohttp.ClientSession(
        connector=connector, raise_for_status=False, trust_env=False, trace_configs=list(trace_configs) or None
    )
