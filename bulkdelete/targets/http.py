"""Any REST API that deletes one item per request (SPEC §2.3): ``bulkdelete http delete --url TEMPLATE``.

``DELETE /indexes/{index}/documents/{id}``, ``DELETE /{index}/_doc/{id}``… one request per id, the id put into the
URL template exactly as read (``UrlTemplate``). The answer is read by its status alone, through the kit's shared
classification: 2xx ``deleted``; a gone status (default 404, 410) ``not_found``, ok; 401/403 abort the run; 429
pauses every worker (honouring ``Retry-After``); 408, 5xx and connection errors are retried; any other 4xx is
``failed``.

Header values may name environment variables, ``${VAR}``, so that tokens stay off the command line: an expanded
value is a ``Secret`` (scrubbed from every message) and is never sent over plain http to a non-loopback host.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from multidict import CIMultiDict, CIMultiDictProxy

from bulkdelete.errors import ConfigError
from bulkdelete.net.hosts import is_loopback_host
from bulkdelete.records import Outcome, Record
from bulkdelete.secrets import Secret, scrub
from bulkdelete.targets.answers import http_verdict
from bulkdelete.targets.base import Transport, Verdict
from bulkdelete.targets.urls import UrlTemplate

DEFAULT_GONE = frozenset({404, 410})
# Statuses that already mean something else: they cannot also mean "gone".
_NOT_GONE = frozenset({401, 403, 408, 429})
_METHOD = re.compile(r"[A-Za-z]+")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP field name (RFC 9110 §5.1)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class Header:
    """One request header. ``secrets`` are the values its ``${VAR}`` references expanded to."""

    name: str
    value: str
    secrets: tuple[Secret, ...] = ()

    def __repr__(self) -> str:
        return f"Header({self.name!r}, {'<secret>' if self.secrets else repr(self.value)})"


def parse_header(text: str, environ: Mapping[str, str] | None = None) -> Header:
    """``"Name: value"``, with each ``${VAR}`` in the value replaced by ``environ[VAR]`` (default: ``os.environ``).

    Raises ``ConfigError`` for a malformed header or a variable that is not set (or empty).
    """
    env = os.environ if environ is None else environ
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not _TOKEN.fullmatch(name):
        raise ConfigError(f"--header must look like 'Name: value' (got {text!r})")
    secrets: list[Secret] = []

    def expand(match: re.Match[str]) -> str:
        variable = match.group(1)
        found = env.get(variable, "")
        if not found:
            raise ConfigError(f"--header {name}: the environment variable {variable} is not set (or empty)")
        secrets.append(Secret(found))
        return found

    expanded = _VARIABLE.sub(expand, value)
    if "\r" in expanded or "\n" in expanded or "\0" in expanded:
        raise ConfigError(f"--header {name}: a header value cannot hold a line break or NUL")
    return Header(name, expanded, tuple(secrets))


def parse_gone_statuses(text: str) -> frozenset[int]:
    """``--gone-status``: comma-separated 4xx codes (``404,410``), or ``none``. Raises ``ConfigError``."""
    cleaned = text.strip().lower()
    if cleaned in ("", "none"):
        return frozenset()
    try:
        codes = frozenset(int(part) for part in cleaned.split(","))
    except ValueError:
        raise ConfigError(
            f"--gone-status must be HTTP codes separated by commas, e.g. 404,410 (got {text!r})"
        ) from None
    wrong = sorted(code for code in codes if not 400 <= code <= 499 or code in _NOT_GONE)
    if wrong:
        raise ConfigError(
            f"--gone-status takes 4xx codes other than 401, 403, 408 and 429, which mean something else (got {wrong})"
        )
    return codes


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Where and how to delete one id. ``gone`` lists the statuses that mean the item is already absent."""

    url: UrlTemplate
    method: str = "DELETE"
    headers: tuple[Header, ...] = ()
    gone: frozenset[int] = DEFAULT_GONE

    def __post_init__(self) -> None:
        if not _METHOD.fullmatch(self.method):
            raise ConfigError(f"--method must be an HTTP method such as DELETE or POST (got {self.method!r})")
        if self.secrets and self.url.scheme == "http" and not is_loopback_host(self.url.host):
            raise ConfigError(
                f"refusing to send a secret header in clear text to {self.url.host}: use https://, "
                "or plain http:// only for a loopback host (127.0.0.1)"
            )

    @property
    def secrets(self) -> tuple[Secret, ...]:
        return tuple(secret for header in self.headers for secret in header.secrets)


class HttpTarget:
    """One request per id: ``method`` on ``url.url(id)`` with ``headers``; the status decides."""

    name = "http"
    batch_size = 1
    batch_bytes: int | None = None

    def __init__(self, settings: HttpSettings) -> None:
        self.settings = settings
        self._url = settings.url
        self._method = settings.method.upper()
        # Immutable, and already the type aiohttp works in: a plain dict would be copied into one per request.
        self._headers = CIMultiDictProxy(CIMultiDict((h.name, h.value) for h in settings.headers))
        self._gone = settings.gone
        self._secrets = settings.secrets

    def __repr__(self) -> str:
        return f"<HttpTarget {self._method} {self._url.template!r} gone={sorted(self._gone)}>"

    def describe(self) -> dict[str, object]:
        """Where a run went, for its summary: the template and the header names, never a header value."""
        s = self.settings
        headers = [h.name for h in s.headers]
        return {"api": "http", "url": s.url.template, "method": self._method, "headers": headers, "mode": "item"}

    def validate(self, record_id: str) -> str | None:
        return None  # any id: the template encodes every byte that could be read as URL syntax

    def record_bytes(self, record_id: str) -> int:
        return len(record_id)

    async def send(self, transport: Transport, records: Sequence[Record]) -> Sequence[Verdict]:
        (record,) = records
        reply = await transport.request(self._method, self._url.url(record.id), headers=self._headers)
        verdict = http_verdict(reply, ok=Outcome.DELETED, gone=self._gone)
        if verdict.error is not None and self._secrets:
            # An API may echo a request header in its error text: make sure no credential rides along.
            verdict = verdict._replace(error=scrub(verdict.error, self._secrets))
        return (verdict,)


def http_settings(url: str, method: str = "DELETE", headers: Iterable[str] = (), gone: str = "404,410") -> HttpSettings:
    """``HttpSettings`` from the command line's text; raises ``ConfigError`` with a message for people."""
    try:
        template = UrlTemplate(url)
    except ValueError as exc:
        raise ConfigError(f"--url: {exc}") from None
    return HttpSettings(
        url=template,
        method=method.strip().upper(),
        headers=tuple(parse_header(text) for text in headers),
        gone=parse_gone_statuses(gone),
    )


class HttpCheck(HttpTarget):
    """Is an item really gone? One ``GET`` (or ``HEAD``) of its verify URL per id (SPEC §11): a gone status
    (``--gone-status``, default 404, 410) is ``gone``, a 2xx ``present``, the rest as any answer (§6)."""

    def __init__(self, settings: HttpSettings) -> None:
        super().__init__(settings)
        self.evidence = f"{self._method} answered {{status}}"  # formatted with the answer's status

    def __repr__(self) -> str:
        return f"<HttpCheck {self._method} {self._url.template!r} gone={sorted(self._gone)}>"

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "mode": "check"}

    async def send(self, transport: Transport, records: Sequence[Record]) -> Sequence[Verdict]:
        (record,) = records
        reply = await transport.request(self._method, self._url.url(record.id), headers=self._headers)
        verdict = http_verdict(reply, ok=Outcome.PRESENT, gone=self._gone)
        if verdict.outcome is Outcome.NOT_FOUND:
            return (verdict._replace(outcome=Outcome.GONE),)
        if verdict.outcome is Outcome.PRESENT:
            return (verdict._replace(error=f"{self._method} answered {reply.status}: still there"),)
        if verdict.error is not None and self._secrets:
            verdict = verdict._replace(error=scrub(verdict.error, self._secrets))
        return (verdict,)
