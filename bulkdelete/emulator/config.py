"""The emulator's configuration: one frozen dataclass, validated once, shared by the app and the CLI."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

DEFAULT_MAX_UPLOAD_BYTES = 256 * 1000 * 1000
"""Coveo's file container limit: 256 MB."""

_RATES = ("fail_rate", "reset_rate", "upload_fail_rate", "upload_throttle_rate", "delete_fail_rate", "secured_rate")
_QUOTA_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([sm])\s*$")


@dataclass(frozen=True, slots=True)
class Quota:
    """At most ``limit`` requests started in any sliding window of ``window_s`` seconds, per organization."""

    limit: int
    window_s: float

    def __str__(self) -> str:
        return f"{self.limit}/{self.window_s:g}s"


def parse_quota(text: str) -> Quota:
    """Parse ``N/1s``, ``N/1m``, ``N/10s`` (the unit count defaults to 1: ``N/s``).

    Raises ``ValueError`` with a message a user can act on.
    """
    match = _QUOTA_RE.match(text)
    if match is None:
        raise ValueError(f"quota must look like 50/1s or 3000/1m (got {text!r})")
    limit, count, unit = int(match[1]), int(match[2] or "1"), match[3]
    if limit < 1 or count < 1:
        raise ValueError(f"quota needs a limit and a window >= 1 (got {text!r})")
    return Quota(limit, float(count * (60 if unit == "m" else 1)))


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Everything the emulator can be told. Times in seconds unless the name says otherwise.

    ``api_key``: when set, only that key is accepted (Coveo bearer, Velt
    ``x-velt-api-key``); else any non-empty one.
    ``quota``: sliding-window request quota per API and organization (429 past it).
    ``retry_after``: send ``Retry-After`` with every 429 (seconds).
    ``daily_items``: Coveo items (deletes, batch entries) per organization before
    ``TOO_MANY_DOCUMENTS_DAILY``.
    ``fail_rate``: fraction of Push API requests answered 503, and of Velt ids answered ``internal``.
    ``reset_rate``: fraction of API requests whose connection is dropped without any answer.
    ``latency_ms``: delay added to every API request. ``seed``: makes the faults repeatable.
    ``max_ids``: Velt ids per request (400 past it). ``max_upload_bytes``: file container cap (413 past it).
    ``velt_legacy_not_found``: absent Velt ids answer the older ``success: true, "Document does not exist"``.
    ``olderthan_clears``: ``documents/olderthan`` deletes every document (default: only recorded).
    ``allowed_orgs``: when set, other organizations get 403 (Coveo ``ACCESS_DENIED``, Velt
    ``PERMISSION_DENIED``).
    ``tls_cert``/``tls_key``: serve https with this certificate chain and key (PEM files), both or neither.
    ``refuse``: ``(status, code)``: every API request past auth and quota is refused with that final error, in the
    API's body shape (a wrong flag or source, as the client sees it: a run-wide refusal); the read APIs ``verify``
    uses (Coveo search and logs, Velt get) are not refused.
    ``org_paused``: every Coveo Push API request answers ``400 ORGANIZATION_IS_PAUSED``.
    ``upload_fail_rate``: fraction of file container uploads answered ``503 ServiceUnavailable``;
    ``upload_throttle_rate``: answered ``429 TooManyRequests`` (``Retry-After`` with ``retry_after``);
    ``upload_latency_ms``: delay before each upload is answered (above the client's timeout: a timeout).
    ``processing_delay_s``: a Coveo delete (per item, or a batch's delete entry) is answered 202 at once but takes
    effect in the documents this many seconds later (0: at once). ``delete_fail_rate``: fraction of those deletes
    that never take effect and are logged ``ERROR`` at task ``INDEXING`` by the Logs API (seeded).
    ``secured_rate``: fraction of the seeded documents that only a ``viewAllContent`` search sees (seeded).
    ``logs_denied``: the Coveo Logs API answers ``403 ACCESS_DENIED`` (the other APIs are unaffected).
    ``search_latency_ms``: delay before every Search API answer (SPEC §13: what bounds a sequential listing).
    ``response_cap``: a Search API answer whose JSON body would exceed this many bytes is refused with 400
    ``ResponseExceededMaximumSizeException`` (None: no cap).
    ``source_ids``: ``(name, id)`` pairs for the Sources API; any other source's id is its name.
    ``velt_repeat_token_after``: after this many Velt listing pages, a page asked with a ``pageToken`` answers that
    same token again (a fault: the client must stop, not loop); None: never.
    """

    host: str = "127.0.0.1"
    port: int = 0
    api_key: str | None = None
    quota: Quota | None = None
    retry_after: int | None = None
    daily_items: int | None = None
    fail_rate: float = 0.0
    reset_rate: float = 0.0
    latency_ms: float = 0.0
    seed: int | None = None
    max_ids: int = 30
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    velt_legacy_not_found: bool = False
    olderthan_clears: bool = False
    allowed_orgs: frozenset[str] | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    refuse: tuple[int, str] | None = None
    org_paused: bool = False
    upload_fail_rate: float = 0.0
    upload_throttle_rate: float = 0.0
    upload_latency_ms: float = 0.0
    processing_delay_s: float = 0.0
    delete_fail_rate: float = 0.0
    secured_rate: float = 0.0
    logs_denied: bool = False
    search_latency_ms: float = 0.0
    response_cap: int | None = None
    source_ids: tuple[tuple[str, str], ...] = ()
    velt_repeat_token_after: int | None = None

    def __post_init__(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both to serve https")
        if self.refuse is not None and not 400 <= self.refuse[0] < 500:
            raise ValueError(f"refuse needs a 4xx status (got {self.refuse[0]})")
        _check_min("upload_latency_ms", self.upload_latency_ms, 0)
        if not 0 <= self.processing_delay_s < math.inf:
            raise ValueError(f"processing_delay_s must be a finite number >= 0 (got {self.processing_delay_s})")
        rates = (
            "fail_rate",
            "reset_rate",
            "upload_fail_rate",
            "upload_throttle_rate",
            "delete_fail_rate",
            "secured_rate",
        )
        for name in rates:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1 (got {value})")
        _check_min("latency_ms", self.latency_ms, 0)
        self._check_listing()
        _check_min("max_ids", self.max_ids, 1)
        _check_min("max_upload_bytes", self.max_upload_bytes, 1)
        _check_min("port", self.port, 0)
        if self.retry_after is not None:
            _check_min("retry_after", self.retry_after, 0)
        if self.daily_items is not None:
            _check_min("daily_items", self.daily_items, 0)
        if self.api_key is not None and not self.api_key:
            raise ValueError("api_key must not be empty (use None to accept any key)")

    def _check_listing(self) -> None:
        """SPEC §13's settings."""
        _check_min("search_latency_ms", self.search_latency_ms, 0)
        if self.response_cap is not None:
            _check_min("response_cap", self.response_cap, 1)
        if self.velt_repeat_token_after is not None:
            _check_min("velt_repeat_token_after", self.velt_repeat_token_after, 0)
        ids = [source_id for _, source_id in self.source_ids]
        if len(set(ids)) != len(ids):
            raise ValueError(f"source_ids: each id names one source (got {ids})")

    def __repr__(self) -> str:
        # Never show the key itself.
        key = "set" if self.api_key else "any"
        return (
            f"EmulatorConfig(host={self.host!r}, port={self.port}, api_key={key}, quota={self.quota}, "
            f"fail_rate={self.fail_rate}, reset_rate={self.reset_rate}, latency_ms={self.latency_ms})"
        )


def parse_refusal(text: str) -> tuple[int, str]:
    """``400:INVALID_PARAMETER`` → ``(400, "INVALID_PARAMETER")``; raises ``ValueError`` with a usable message."""
    status, sep, code = text.partition(":")
    if not sep or not status.strip().isdigit() or not code.strip() or not 400 <= int(status) < 500:
        raise ValueError(f"refusal must look like 400:INVALID_PARAMETER, a 4xx status and a code (got {text!r})")
    return int(status), code.strip()


def parse_source_id(text: str) -> tuple[str, str]:
    """``NAME=ID`` → ``(name, id)``; raises ``ValueError`` with a usable message."""
    name, sep, source_id = text.partition("=")
    if not sep or not name.strip() or not source_id.strip():
        raise ValueError(f"a source id must look like NAME=ID, e.g. web=myorg-abc123 (got {text!r})")
    return name.strip(), source_id.strip()


def _check_min(name: str, value: float, minimum: float) -> None:
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum:g} (got {value})")
