"""A verification round that lists the whole source instead of asking for each id (SPEC §13.1, ``--check scan``).

::

    pending spool ─► digests (id_key of each pending id, ~100 B each) ─► the listing, page by page
                                                                                 │
         gone: not listed ◄── decided per record (the spool read again) ◄────────┘ listed: still present
                                                                                   listed below ID/: children left

One round lists every item of the source (Coveo: ``@source=="NAME"`` only, whatever selected the ids, with
``viewAllContent`` and no cache; Velt: the organization, or ``--folder``) through the verifier's own transport, rate,
settings and stats, so its queries are paced, retried, counted and refused run-wide as per-id checks are. Only a
listing that reached its end decides: an id it did not return was not in the source at some moment of the listing
(§13: an item held from its start to its end is listed exactly once), so it is ``gone``; a listing that stopped
early decides nothing that round (its ids wait for the next one; in the last round they are ``unknown``), and one
stopped by a fatal answer (401/403, a run-wide refusal) stops the verification.

``--children``: a listed uri below a pending id (``ID/…``, byte for byte, as ``@uri*="ID/*"`` compares) means
descendants are left. Each listed uri's ``/``-prefixes are looked up among the pending digests: no query per id.
"""

from __future__ import annotations

from collections.abc import Callable

from bulkdelete.net.transport import HttpTransport
from bulkdelete.output.stats import RunStats
from bulkdelete.pipeline.dedupe import id_key
from bulkdelete.pipeline.ending import RunEnd, StopReason
from bulkdelete.pipeline.settings import EngineSettings
from bulkdelete.rate.control import RateControl
from bulkdelete.records import Outcome, Record, Result
from bulkdelete.select.listing import Listing
from bulkdelete.verify.spool import Spool

Settle = Callable[[Result], None]
CallArgs = tuple[HttpTransport, RateControl, EngineSettings, RunStats]  # what a listing runs with
_REFUSED = (401, 403)  # a key refused: the verification stops there, as a per-id check's would


class ScanRound:
    """One scan round over the pending records of a spool; ``stop()`` at any time sends nothing new.

    ``count()`` (``auto``) and ``run()`` use one listing: a count asked first is the one its ranges are cut by.
    """

    def __init__(
        self,
        listing: Listing,
        where: str,
        args: CallArgs,
        *,
        children: bool = False,
        view_all: bool = True,
    ) -> None:
        self._listing = listing
        self._where, self._children, self._view_all = where, children, view_all
        self._transport, self._stats = args[0], args[3]
        self._args = args
        self._stopping: tuple[StopReason, str | None] | None = None
        self.listed = 0
        self.evidence = self._evidence()
        self.children_left: dict[str, int] = {}  # id -> descendants listed, for its line (taken by the verifier)

    def __repr__(self) -> str:
        return f"<ScanRound {self._where} listed={self.listed:,} stopping={self._stopping}>"

    def _evidence(self) -> str:
        """A gone line's evidence: ``scan: not in source NAME (N items listed, viewAllContent)``."""
        return f"scan: not in {self._where} ({self.listed} items listed{', viewAllContent' if self._view_all else ''})"

    def stop(self, reason: StopReason, message: str | None = None) -> None:
        if self._stopping is None:
            self._stopping = (reason, message)
        self._listing.stop(reason, message)

    async def count(self) -> tuple[int | None, RunEnd | None]:
        """The source's item count (one query), or None when it could not be had (the round then asks for the
        ids); and how the verification must stop, when it must (a refused key, a stop)."""
        refused = refused_answers(self._stats)
        total = await self._listing.count(*self._args)
        if total is not None:
            return total, None
        return None, self._stop_for(refused, 0)

    async def run(self, spool: Spool, settle: Settle, wait: Callable[[Record], None], *, last: bool) -> RunEnd:
        """List the source, then decide each record of ``spool``: ``settle`` gets its result (gone, present, or
        invalid/unknown); ``wait`` takes the records a listing that stopped early could not decide."""
        refused = refused_answers(self._stats)
        seen, below = await self._list(spool)
        if self._listing.complete:
            self.evidence = self._evidence()
            await self._decide(spool, seen, below, settle)
            return RunEnd(StopReason.COMPLETED, None, 0)
        stop = self._stop_for(refused, len(spool))
        if stop is not None:
            return stop
        await _left(spool, settle, wait, last=last, why=self._incomplete(self._listing.end))
        return RunEnd(StopReason.COMPLETED, None, 0)

    async def _list(self, spool: Spool) -> tuple[set[int], dict[int, int]]:
        """Every page of the listing, read against the pending digests: the digests it listed, and the
        descendants it listed per pending id (``--children``; keyed by the id's digest without trailing ``/``)."""
        children = self._children
        pending, slashed = await _digests(spool, children=children)
        seen: set[int] = set()
        below: dict[int, int] = {}
        async for page in self._listing.pages(*self._args):
            for item in page:
                key = id_key(item.id)
                if key in pending:
                    pending.discard(key)
                    seen.add(key)
                if children:
                    count_below(item.id, pending, slashed, below)
            self.listed += len(page)
        return seen, below

    def _stop_for(self, refused_before: int, pending: int) -> RunEnd | None:
        """How the verification ends after a listing that did not complete, or None when it goes on: only a stop,
        a refused key or a refused query (``input-error``) end it; a query that failed after its attempts (or an
        API that did not answer) leaves the ids for the next round."""
        end = self._listing.end
        if self._stopping is not None:
            return RunEnd(self._stopping[0], self._stopping[1], pending)
        if end.reason not in (StopReason.COMPLETED, StopReason.ABORTED):
            return RunEnd(end.reason, end.message, pending)
        if refused_answers(self._stats) > refused_before:
            return RunEnd(StopReason.ABORTED, end.message, pending)
        self._transport.stopping = False  # the listing's engine stopped the shared transport as it stopped itself
        return None

    async def _decide(self, spool: Spool, seen: set[int], below: dict[int, int], settle: Settle) -> None:
        where = self._where
        async for chunk in spool.chunks():
            for record in chunk:
                if record.problem is not None:
                    settle(Result(record, Outcome.INVALID, error=record.problem))
                elif id_key(record.id) in seen:
                    settle(Result(record, Outcome.PRESENT, 200, 1, f"scan: still in {where}"))
                elif left := below.get(id_key(record.id.rstrip("/")), 0):
                    self.children_left[record.id] = left
                    settle(Result(record, Outcome.PRESENT, 200, 1, f"scan: {left} children left in {where}"))
                else:
                    settle(Result(record, Outcome.GONE, 200, 1))

    def _incomplete(self, end: RunEnd) -> str:
        because = f": {end.message}" if end.message else ""
        return f"scan: the listing of {self._where} stopped after {self.listed} items{because}"


def refused_answers(stats: RunStats) -> int:
    """The 401/403 answers ``stats`` counted: more after a listing than before means a refused key."""
    codes = stats.status_codes
    return sum(codes[status] for status in _REFUSED)


async def _digests(spool: Spool, *, children: bool) -> tuple[set[int], set[int]]:
    """The pending ids' digests; with ``children``, also those of ids ending in ``/`` without it (``ID/``'s
    descendants are ``ID/…`` too). Records that are not checked (``problem``) are left out."""
    pending: set[int] = set()
    slashed: set[int] = set()
    async for chunk in spool.chunks():
        for record in chunk:
            if record.problem is None:
                pending.add(id_key(record.id))
                if children and record.id.endswith("/"):
                    slashed.add(id_key(record.id.rstrip("/")))
    return pending, slashed


def count_below(uri: str, pending: set[int], slashed: set[int], below: dict[int, int]) -> None:
    """Count ``uri`` as a descendant of each pending id it lies below: every prefix ``P`` of it followed by a ``/``
    (and not itself ending in one) is ``ID.rstrip("/")`` for a pending ``ID`` whose descendants start ``P/``."""
    start = uri.find("/", 1)
    while start > 0:
        if uri[start - 1] != "/":
            key = id_key(uri[:start])
            if key in pending or key in slashed:
                below[key] = below.get(key, 0) + 1
        start = uri.find("/", start + 1)


async def _left(spool: Spool, settle: Settle, wait: Callable[[Record], None], *, last: bool, why: str) -> None:
    """A listing that stopped early decides nothing: each record waits for the next round (the last round: it
    could not be checked, ``unknown`` with the reason)."""
    async for chunk in spool.chunks():
        for record in chunk:
            if record.problem is not None:
                settle(Result(record, Outcome.INVALID, error=record.problem))
            elif last:
                settle(Result(record, Outcome.FAILED, None, 1, why))
            else:
                wait(record)
