"""Why is it not gone? Coveo's Logs API, read to turn silent downstream failures into ``failed`` verdicts (SPEC §11).

``POST {push base}/logs/v1/organizations/{org}?from=…&to=…&page=N&perPage=M`` with
``{"sourcesIds": [source], "operations": ["DELETE", "DELETE_AND_CHILDREN"], "results": ["ERROR", "REJECTED",
"WARNING"]}`` answers ``{"documentLogEntries": [...], "hasNextPage": bool}``. One windowed query per round (pages
followed), from the earliest ``ts`` of the input minus a minute (or ``--since``) to now, at most one round per
``--logs-interval`` (Coveo asks to avoid frequent calls), and always one last round before any id is called
``present``. Only the latest entry per id is kept, and only ERROR / REJECTED / WARNING entries are asked for.

The key needs *View* on Organizations and *View All* on Sources: a 401/403 here is one warning, and verification goes
on without logs. Other failures (429, 5xx, no answer) are retried with the run's backoff; a round that still fails
is a warning, and the next round tries again.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson

from bulkdelete.errors import TransportError
from bulkdelete.rate.backoff import BackoffPolicy, parse_retry_after
from bulkdelete.rate.control import RateControl
from bulkdelete.secrets import Secret
from bulkdelete.targets.answers import Answer, answer_kind, describe_reply, json_object
from bulkdelete.targets.base import Transport

MAX_WINDOW_S = 7 * 86400.0  # the Logs API's widest window
SKEW_S = 600.0  # the window ends this far past our clock: an entry stamped by a server clock ahead of ours still fits
PER_PAGE = 1000
MAX_PAGES = 1000
FAILURES = frozenset({"ERROR", "REJECTED"})
_KEPT = ("task", "result", "operation", "datetime", "meta", "requestId")


def w3c(epoch_s: float) -> str:
    """``2026-12-03T09:12:44.120Z``."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-4] + "Z"


def parse_w3c(text: str) -> float | None:
    """Seconds since the epoch of a W3C/ISO 8601 time (``Z`` or an offset), or None."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class CoveoLogs:
    """The latest ERROR / REJECTED / WARNING log entry of each document, refreshed a round at a time."""

    def __init__(
        self,
        push_base: str,
        org: str,
        source: str | None,
        key: Secret,
        *,
        since: float,
        warn: Callable[[str], None],
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._url = f"{push_base.rstrip('/')}/logs/v1/organizations/{quote(org, safe='')}"
        self._body = orjson.dumps(
            {
                **({"sourcesIds": [source]} if source else {}),
                "operations": ["DELETE", "DELETE_AND_CHILDREN"],
                "results": ["ERROR", "REJECTED", "WARNING"],
            }
        )
        self._headers = {"Authorization": f"Bearer {key.reveal()}", "Content-Type": "application/json"}
        self.since = since
        self._warn = warn
        self._wall = wall
        self.enabled = True
        self.rounds = 0
        self.last_round_at: float | None = None  # loop time of the last round (for --logs-interval)
        self._entries: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"<CoveoLogs enabled={self.enabled} rounds={self.rounds} entries={len(self._entries)}>"

    def failure(self, record_id: str) -> dict[str, Any] | None:
        """The ERROR / REJECTED entry of ``record_id``'s delete, if the logs hold one."""
        entry = self._entries.get(record_id)
        return entry if entry is not None and entry.get("result") in FAILURES else None

    def latest(self, record_id: str) -> dict[str, Any] | None:
        return self._entries.get(record_id)

    async def refresh(
        self, transport: Transport, rate: RateControl, backoff: BackoffPolicy, max_attempts: int, now: float
    ) -> None:
        """One round: every page of the window from ``since`` to now. Never raises for the API's answers."""
        if not self.enabled:
            return
        self.rounds += 1
        self.last_round_at = now
        until = self._wall() + SKEW_S
        since = max(self.since, until - MAX_WINDOW_S + 60.0)
        params = {"from": w3c(since), "to": w3c(until), "perPage": str(PER_PAGE)}
        for page in range(MAX_PAGES):
            doc = await self._page(transport, rate, backoff, max_attempts, {**params, "page": str(page)})
            if doc is None:
                return
            entries = doc.get("documentLogEntries")
            for entry in entries if isinstance(entries, list) else ():
                self._keep(entry)
            if doc.get("hasNextPage") is not True:
                return

    def _keep(self, entry: Any) -> None:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            return
        kept = {key: entry.get(key) for key in _KEPT}
        old = self._entries.get(entry["id"])
        if old is None or _rank(kept) >= _rank(old):  # a failure outranks a warning, then the newer entry wins
            self._entries[entry["id"]] = kept

    async def _page(
        self,
        transport: Transport,
        rate: RateControl,
        backoff: BackoffPolicy,
        max_attempts: int,
        params: dict[str, str],
    ) -> dict[str, Any] | None:
        rng = random.Random()
        problem = "no answer"
        for attempt in range(1, max_attempts + 1):
            try:
                reply = await transport.request(
                    "POST", self._url, params=params, headers=self._headers, data=self._body
                )
            except TransportError as exc:
                problem = str(exc)
                await asyncio.sleep(backoff.delay(attempt, rng))
                continue
            kind = answer_kind(reply.status)  # the classification every target composes (targets.answers)
            if kind is Answer.FATAL:
                self.enabled = False
                self._warn(
                    f"the Logs API refused the key ({describe_reply(reply)}): verifying without logs; the key "
                    "needs View on Organizations and View All on Sources to explain what is not gone"
                )
                return None
            doc = json_object(reply)
            if doc is not None:
                rate.on_success(reply.latency_ms)
                return doc
            problem = describe_reply(reply)
            if kind is Answer.THROTTLED:
                rate.on_throttle(reply.latency_ms, parse_retry_after(reply.headers.get("Retry-After")))
                continue
            if kind is not Answer.TRANSIENT:  # a final refusal, or a 2xx that is not a logs answer
                break
            await asyncio.sleep(backoff.delay(attempt, rng))
        self._warn(f"the Logs API could not be read this round ({problem}): trying again next round")
        return None


def _rank(entry: dict[str, Any]) -> tuple[bool, str]:
    return entry.get("result") in FAILURES, str(entry.get("datetime") or "")
