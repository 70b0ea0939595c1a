"""The fleet's schedule in Redis: one GCRA state per key, advanced by one atomic Lua script (SPEC §12).

``RateStore`` is what the user configures (``--rate-store URL``, ``--rate-key KEY``); ``open_grants`` connects to it
(raising ``ConfigError`` when it cannot: exit 2, nothing sent) and gives the ``GrantStore`` that ``SharedPacer`` asks.

The state is one hash per key, in microseconds of **Redis's** clock (``TIME``), so the machines' clocks never meet:
``tat`` (the theoretical arrival time: the next free slot) and ``pause`` (the end of the shared pause). The script
(``GRANT_SCRIPT``) extends the pause, then takes ``count`` slots:
``first = max(tat, now - tolerance, pause)`` (no ``tat`` yet: ``max(now, pause)``, no credit, no start-up burst),
``tat = first + count·interval``, and returns ``{now, first, count, pause}``. The key expires a minute after the
later of ``tat`` and ``pause``: a fleet that is gone leaves nothing behind, and a key never expires while a slot or a
pause it granted lies ahead.

redis-py (``bulkdelete[redis]``) is imported only here, and only when a store is configured.
"""

from __future__ import annotations

import importlib.util
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, unquote, urlsplit

from bulkdelete.errors import ConfigError
from bulkdelete.rate.shared import Grant, StoreUnavailable
from bulkdelete.secrets import Secret

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["DEFAULT_OUTAGE_S", "GRANT_SCRIPT", "RateStore", "RedisGrants", "open_grants"]

DEFAULT_OUTAGE_S = 30.0
_IDLE_TTL_MS = 60_000  # how long a key outlives the last slot or pause it granted
_TIMEOUT_S = 2.0  # per connect and per command: a store slower than this counts as away

GRANT_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local count = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local pause_for = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tat', 'pause')
local tat = tonumber(state[1])
local pause = tonumber(state[2]) or 0
if pause_for > 0 and now + pause_for > pause then
  pause = now + pause_for
  redis.call('HSET', KEYS[1], 'pause', string.format('%.0f', pause))
end
local first = now
if count > 0 then
  if tat ~= nil then first = math.max(tat, now - tolerance) end
  first = math.max(first, pause)
  tat = first + count * interval
  redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat))
end
local last = math.max(tat or 0, pause, now)
redis.call('PEXPIRE', KEYS[1], math.ceil((last - now) / 1000) + tonumber(ARGV[5]))
return {now, math.floor(first), count, pause}
"""
"""KEYS[1]: the state. ARGV: count (0: none), interval and tolerance (µs), pause (µs, 0: none), idle TTL (ms).
Returns integers, µs on Redis's clock: {now, first slot, count, end of the shared pause (0: never paused)}."""


@dataclass(frozen=True, slots=True)
class RateStore:
    """A Redis store shared by a fleet: ``url`` without its password, ``key`` for this quota, ``password`` apart.

    ``outage_s``: how long a store that stops answering mid-run is waited for before the run stops (exit 3).
    ``tls``: the trust for ``rediss://`` (the run's: the OS store plus ``--ca-bundle``); None: the OS store.
    """

    url: str
    key: str
    password: Secret | None = None
    outage_s: float = DEFAULT_OUTAGE_S
    tls: ssl.SSLContext | None = dataclass_field(default=None, repr=False, compare=False)

    @classmethod
    def from_url(cls, url: str, key: str, *, outage_s: float = DEFAULT_OUTAGE_S) -> RateStore:
        """Parse ``redis://[user:password@]host:port/db`` (or ``rediss://``); ``ConfigError`` when malformed."""
        parts = _split(url)
        password = Secret(unquote(parts.password)) if parts.password else None
        netloc = parts.netloc.rpartition("@")[2]
        user = f"{parts.username}@" if parts.username else ""
        return cls(f"{parts.scheme}://{user}{netloc}{parts.path}", key, password, outage_s)

    @property
    def where(self) -> str:
        """``redis://host:port/db``: the store as messages name it (never the user nor the password)."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/{_db(parts)}"


def has_password(url: str) -> bool:
    """Whether ``url`` carries a password (a secret: never from the command line)."""
    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False


def _split(url: str) -> SplitResult:
    shown = redact(url)
    usage = f"--rate-store must be redis://[user:password@]host:port/db or rediss://… (got {shown!r})"
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ConfigError(usage) from None
    if parts.scheme not in ("redis", "rediss") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(usage)
    if port == 0 or (parts.path not in ("", "/") and not parts.path.strip("/").isdigit()):
        raise ConfigError(usage)
    return parts


def redact(url: str) -> str:
    """``url`` without its user and password: what a message about a malformed ``--rate-store`` may show."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url.rpartition("@")[2]
    netloc, slash, path = rest.partition("/")
    return f"{scheme}://{netloc.rpartition('@')[2]}{slash}{path}"


def _db(parts: SplitResult) -> int:
    return int(parts.path.strip("/") or 0)


class RedisGrants:
    """The ``GrantStore`` over one Redis connection pool: one ``EVALSHA`` of ``GRANT_SCRIPT`` per grant."""

    def __init__(self, client: Redis, store: RateStore) -> None:
        self._client = client
        self._store = store
        self._script: AsyncScript = client.register_script(GRANT_SCRIPT)
        self.calls = 0  # grant scripts answered
        self.errors = 0  # grant calls that got no answer (bulkdelete_rate_store_errors_total)

    def __repr__(self) -> str:
        return f"<RedisGrants {self._store.where} key={self._store.key!r} calls={self.calls}>"

    @property
    def where(self) -> str:
        return self._store.where

    @property
    def outage_s(self) -> float:
        return self._store.outage_s

    async def grant(self, count: int, interval_s: float, tolerance_s: float, pause_s: float) -> Grant:
        from redis.exceptions import RedisError

        args: list[str | int] = [
            count,
            f"{interval_s * 1e6:.3f}",
            f"{tolerance_s * 1e6:.3f}",
            f"{pause_s * 1e6:.0f}",
            _IDLE_TTL_MS,
        ]
        try:
            reply: list[int] = await self._script(keys=[self._store.key], args=args)
        except (RedisError, OSError) as exc:  # down, restarted, timed out, loading: the store is away
            self.errors += 1
            raise StoreUnavailable(_reason(exc)) from None
        self.calls += 1
        now, first, granted, pause = (int(value) for value in reply)
        return Grant(now / 1e6, first / 1e6, granted, pause / 1e6)


@asynccontextmanager
async def open_grants(store: RateStore) -> AsyncIterator[RedisGrants]:
    """Connect to ``store`` and check it answers the script (``ConfigError`` naming the store when not: exit 2)."""
    if importlib.util.find_spec("redis") is None:
        raise ConfigError("--rate-store needs the redis client: pip install 'bulkdelete[redis]'")
    from redis.asyncio import Redis
    from redis.asyncio.connection import ConnectionPool
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import AuthenticationError, RedisError, ResponseError

    parts = urlsplit(store.url)
    options: dict[str, Any] = {
        "host": parts.hostname,
        "port": parts.port or 6379,
        "db": _db(parts),
        "username": unquote(parts.username) if parts.username else None,
        "password": store.password.reveal() if store.password else None,
        "socket_timeout": _TIMEOUT_S,
        "socket_connect_timeout": _TIMEOUT_S,
        "retry": Retry(NoBackoff(), 0),  # SharedPacer decides when to ask again, and for how long
        "max_connections": 4,
    }
    if parts.scheme == "rediss":
        options.update(connection_class=_trusted_tls_class(), tls=store.tls or ssl.create_default_context())
    client = Redis.from_pool(ConnectionPool(**options))  # the client owns the pool: aclose() closes it
    grants = RedisGrants(client, store)
    try:
        try:
            await client.script_load(GRANT_SCRIPT)
        except AuthenticationError:
            raise ConfigError(
                f"the rate store {store.where} refused the credentials: check BULKDELETE_RATE_STORE"
            ) from None
        except ResponseError as exc:  # NOAUTH, NOPERM (an ACL without EVALSHA), a cluster's MOVED
            reason = _reason(exc)
            raise ConfigError(f"the rate store {store.where} refused the grant script: {reason}") from None
        except (RedisError, OSError) as exc:
            raise ConfigError(f"the rate store {store.where} is unreachable: {_reason(exc)}") from None
        yield grants
    finally:
        await client.aclose()


def _reason(exc: BaseException) -> str:
    """A short reason (redis-py's messages name host and port, never the password)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _trusted_tls_class() -> type:
    from redis.asyncio.connection import SSLConnection

    class TrustedTLS(SSLConnection):
        """A TLS connection verifying with the run's trust (``tls``) rather than a context of redis-py's making."""

        def __init__(self, *, tls: ssl.SSLContext, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.ssl_context.context = tls  # redis-py's RedisSSLContext hands out this one once set

    return TrustedTLS
