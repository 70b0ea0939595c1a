"""Which proxy each request goes through: ``--proxy``, or ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` and ``NO_PROXY``.

The rules are curl's (and pip's), written out here rather than left to ``aiohttp``'s ``trust_env``, which differs from
both: it ignores ``ALL_PROXY``, matches ``NO_PROXY`` on the host alone through ``urllib.request.proxy_bypass`` (no
``host:port`` entries, no CIDR ranges), skips ``https://`` proxies with only a log warning, and also turns ``~/.netrc``
into credentials for the API host. So the session is built with ``trust_env=False`` and every request is given its
proxy explicitly.

- ``--proxy URL`` is used for every request; ``--proxy ''`` means no proxy at all, whatever the environment says.
- Otherwise an ``https://`` API URL takes ``https_proxy``/``HTTPS_PROXY``, an ``http://`` one ``http_proxy``/
  ``HTTP_PROXY``; either falls back to ``all_proxy``/``ALL_PROXY``. The lowercase name wins when both are set; an
  empty value counts as unset.
- ``NO_PROXY`` (either case; lowercase wins) lists hosts reached directly, whichever way the proxy was given (as curl):
  ``*`` (every host), a domain (``example.com`` and ``.example.com`` both match it and its subdomains), an IP address,
  a CIDR range (``10.0.0.0/8``, ``::1/128``), each optionally with ``:port``. Loopback is *not* bypassed by default
  (curl and pip do not either): put ``127.0.0.1,localhost`` in ``NO_PROXY`` to reach a local emulator directly.
- A proxy URL without a scheme is ``http://``; ``http://`` and ``https://`` proxies work, SOCKS does not (refused,
  exit 2, rather than silently connecting straight out where a proxy is mandatory).
- Credentials in a proxy URL (``http://user:pass@proxy:3128``) become a ``Proxy-Authorization`` header; the URL shown
  to people never carries them.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from yarl import URL

from bulkdelete.errors import ConfigError
from bulkdelete.secrets import Secret

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Proxy:
    """One proxy: its URL without credentials, the header carrying them (if any), and where it was configured."""

    url: URL
    headers: Mapping[str, str] | None
    origin: str
    credentials: Secret | None = None

    def __str__(self) -> str:
        """For people: ``http://proxy:3128 (from HTTPS_PROXY)``, credentials never shown."""
        return f"{self.url} (from {self.origin})"


@dataclass(frozen=True, slots=True)
class NoProxyRule:
    """One ``NO_PROXY`` entry: a domain suffix or an IP network, optionally for one port only."""

    domain: str | None
    network: IpNetwork | None
    port: int | None

    def matches(self, host: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None, port: int | None) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return ip is not None and ip.version == self.network.version and ip in self.network
        assert self.domain is not None
        # A domain matches itself and its subdomains; an IP address is never a "subdomain" (127.0.0.1 vs .0.0.1).
        return host == self.domain or (ip is None and host.endswith("." + self.domain))


@dataclass(frozen=True, slots=True)
class ProxyRoutes:
    """The proxy for each API scheme and the hosts that bypass it; ``for_url`` answers per request (cached per host)."""

    http: Proxy | None = None
    https: Proxy | None = None
    bypass_all: bool = False
    no_proxy: tuple[NoProxyRule, ...] = ()

    @property
    def enabled(self) -> bool:
        return not self.bypass_all and (self.http is not None or self.https is not None)

    @property
    def secrets(self) -> tuple[Secret, ...]:
        """Proxy credentials, for scrubbing any text shown to people."""
        found = (p.credentials for p in (self.http, self.https) if p is not None and p.credentials is not None)
        return tuple(dict.fromkeys(found))

    def for_url(self, url: URL) -> Proxy | None:
        """The proxy a request to ``url`` goes through, or None for a direct connection."""
        proxy = self.https if url.scheme == "https" else self.http
        if proxy is None or self.bypass_all:
            return None
        host = (url.host or "").lower().rstrip(".")
        if self.no_proxy and bypassed(host, url.port, self.no_proxy):
            return None
        return proxy


def bypassed(host: str, port: int | None, rules: tuple[NoProxyRule, ...]) -> bool:
    """True when ``NO_PROXY`` says ``host`` (lowercase, no brackets) on ``port`` is reached directly."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    return any(rule.matches(host, ip, port) for rule in rules)


def proxy_routes(option: str | None, environ: Mapping[str, str]) -> ProxyRoutes:
    """The routes from ``--proxy`` (None: not given) and the environment; raises ``ConfigError`` on a bad URL."""
    no_proxy_text = _env(environ, "no_proxy") or ""
    bypass_all, rules = parse_no_proxy(no_proxy_text)
    if option is not None:
        if not option.strip():
            return ProxyRoutes()
        proxy = parse_proxy(option, "--proxy")
        return ProxyRoutes(proxy, proxy, bypass_all, rules)
    fallback = _env_proxy(environ, "all_proxy")
    http = _env_proxy(environ, "http_proxy") or fallback
    https = _env_proxy(environ, "https_proxy") or fallback
    return ProxyRoutes(http, https, bypass_all, rules)


def _env(environ: Mapping[str, str], lower: str) -> str | None:
    """``lower`` or its uppercase twin, lowercase first (as curl and urllib); empty means unset."""
    for name in (lower, lower.upper()):
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def _env_proxy(environ: Mapping[str, str], lower: str) -> Proxy | None:
    for name in (lower, lower.upper()):
        value = environ.get(name, "").strip()
        if value:
            return parse_proxy(value, name)
    return None


def parse_proxy(text: str, origin: str) -> Proxy:
    """A proxy URL as curl reads it (no scheme: ``http://``); credentials split off into a header."""
    raw = text.strip()
    if "://" not in raw:
        raw = "http://" + raw
    try:
        url = URL(raw)
    except ValueError:
        url = None
    if url is None or not url.host:
        raise ConfigError(f"{origin}: not a proxy URL such as http://proxy.example.com:3128 (got {_redact(text)!r})")
    if url.scheme not in ("http", "https"):
        raise ConfigError(
            f"{origin}: {url.scheme}:// proxies are not supported, only http:// and https:// ones; "
            "pass --proxy http://HOST:PORT, or --proxy '' to connect directly"
        )
    headers, credentials = None, None
    if url.user is not None or url.password is not None:
        token = base64.b64encode(f"{url.user or ''}:{url.password or ''}".encode()).decode("ascii")
        headers = {"Proxy-Authorization": f"Basic {token}"}  # RFC 7617, UTF-8
        credentials = Secret(url.password or url.user or "")
    return Proxy(url.with_user(None).with_path("").with_query(None).with_fragment(None), headers, origin, credentials)


def _redact(text: str) -> str:
    """``text`` with any ``user:password@`` removed: it is shown in an error message."""
    scheme, sep, rest = text.rpartition("://")
    at = rest.rfind("@")
    return f"{scheme}{sep}****@{rest[at + 1 :]}" if at >= 0 else text


def parse_no_proxy(text: str) -> tuple[bool, tuple[NoProxyRule, ...]]:
    """``NO_PROXY`` → (every host bypassed, the rules). Entries are separated by commas or spaces; bad ones are
    skipped (curl ignores them too) rather than failing a job over a shared environment variable."""
    rules: list[NoProxyRule] = []
    for entry in text.replace(",", " ").split():
        if entry == "*":
            return True, ()
        rule = _rule(entry.lower())
        if rule is not None:
            rules.append(rule)
    return False, tuple(rules)


def _rule(entry: str) -> NoProxyRule | None:
    host, port = _split_port(entry)
    host = host.strip("[]").removeprefix("*").lstrip(".").rstrip(".")
    if not host:
        return None
    try:
        return NoProxyRule(None, ipaddress.ip_network(host, strict=False), port)
    except ValueError:
        return NoProxyRule(host, None, port)


def _split_port(entry: str) -> tuple[str, int | None]:
    """``host:port``, ``[v6]:port`` → (host, port); a bare IPv6 address or CIDR has no port."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        if port.isdigit():
            return host, int(port)
    return entry, None
