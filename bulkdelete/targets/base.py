"""The extension point: what a target API must provide to the engine.

The engine owns pacing, concurrency, retries, pauses and reporting. A target only knows its API: how to turn a group
of records into HTTP request(s) (through the engine's ``Transport``, which paces and counts every request) and how to
classify the answer *per record* into a ``Verdict``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import NamedTuple, Protocol

from yarl import URL

from bulkdelete.records import Outcome, Record


class Reply(NamedTuple):
    """An HTTP answer as the engine saw it. ``latency_ms`` runs from the request start to the body read.

    ``Reply`` and ``Verdict`` are built once per request / per record on the hot path: immutable ``NamedTuple``s,
    four times cheaper to build than frozen dataclasses (see ``records``).
    """

    status: int
    body: bytes
    headers: Mapping[str, str]
    latency_ms: float

    @property
    def request_id(self) -> str | None:
        return self.headers.get("X-Request-ID")


class Action(Enum):
    DONE = "done"  # final; ``outcome`` says which (ok or not)
    RETRY = "retry"  # transient: send this record again after a backoff
    ABORT = "abort"  # fatal for the whole run (401/403, daily quota): this record failed, send nothing new


class Verdict(NamedTuple):
    """How one record fared in one attempt.

    ``throttled`` marks an answer that asks every worker to pause (429, Velt ``RESOURCE_EXHAUSTED``);
    ``retry_after`` is the server's ``Retry-After`` in seconds when it gave one.
    """

    action: Action
    outcome: Outcome = Outcome.FAILED
    status: int | None = None
    error: str | None = None
    latency_ms: float | None = None
    batch: str | None = None
    throttled: bool = False
    retry_after: float | None = None


class Transport(Protocol):
    """Sends one paced, counted HTTP request. Raises ``TransportError`` when no answer came."""

    async def request(
        self,
        method: str,
        url: str | URL,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
    ) -> Reply: ...


class Target(Protocol):
    """One target API. ``batch_size`` is 1 for per-item targets; ``batch_bytes`` bounds a batch's payload."""

    # Read-only members: a plain class attribute satisfies them (``batch_bytes = None`` included).
    @property
    def name(self) -> str: ...

    @property
    def batch_size(self) -> int: ...

    @property
    def batch_bytes(self) -> int | None: ...

    def validate(self, record_id: str) -> str | None:
        """Why this id can never be sent to this API (becomes an ``invalid`` line), or None."""
        ...

    def record_bytes(self, record_id: str) -> int:
        """Bytes this id adds to a batch payload (for ``batch_bytes``)."""
        ...

    async def send(self, transport: Transport, records: Sequence[Record]) -> Sequence[Verdict]:
        """Send one attempt for ``records``; return one verdict per record, in order."""
        ...
