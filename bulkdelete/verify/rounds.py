"""Verification rounds: every record checked until it is gone or ``--wait`` runs out (SPEC §11).

::

    input ─► first sight (not_deleted, duplicate) ─► round 0 ─► gone / unknown: a line now
                                                        │
                                                        └─► still present ─► spool ─► round 1 (after --interval) ─► …
                                                                                          │
                           last logs round ─► failed (ERROR/REJECTED) or present ◄────────┘ (--wait ran out)

A round is one run of the delete engine (``pipeline.engine.Engine``) over the records still pending, with a check
as its target: the same batching, pacing (one ``RateControl`` for every round), retries, pauses on 429 and run-wide
refusals as deletes. A check that keeps failing becomes ``failed`` in the engine, ``unknown`` here. Records still
present wait in a spool file, not in memory; what stays in memory per distinct id is one digest and its verdict
(de-duplication: one query per distinct id however often it occurs, one line per record, a duplicate's line
copying the verdict of the id's first record once that is final).

Coveo's logs explain what is not gone: a record a check still sees whose delete the logs report ERROR or REJECTED is
``failed`` at once (with that entry); after the last round, one last logs round decides between ``failed`` and
``present`` (which carries a WARNING entry when there is one).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bulkdelete.input.formats import NOT_OK_RESULT, ResultLines
from bulkdelete.net.transport import HttpTransport
from bulkdelete.output.stats import RunStats
from bulkdelete.output.timestamps import utc_stamp
from bulkdelete.pipeline.dedupe import id_key
from bulkdelete.pipeline.ending import RunEnd, StopReason
from bulkdelete.pipeline.engine import Engine
from bulkdelete.pipeline.settings import EngineSettings
from bulkdelete.rate.control import RateControl
from bulkdelete.records import Outcome, Record, Result
from bulkdelete.targets.base import Target
from bulkdelete.verify.lines import VerdictKind, VerdictLine
from bulkdelete.verify.logs import CoveoLogs, parse_w3c
from bulkdelete.verify.scan import ScanRound
from bulkdelete.verify.scanning import ScanChoice, ScanPlan, spool_all
from bulkdelete.verify.spool import Spool

MAX_INTERVAL_S = 300.0


class Check(Target, Protocol):
    """A target whose verdicts say ``gone`` or ``present``; ``evidence`` is what a gone line shows (``{status}`` is
    replaced by the answer's status)."""

    @property
    def evidence(self) -> str: ...


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """How long and how often to look (seconds). ``wait_s`` 0: one pass. ``logs_interval_s``: at most one logs
    round that often. ``children``: a gone Coveo id is also asked for descendants (set on the check itself)."""

    interval_s: float = 30.0
    wait_s: float = 900.0
    logs_interval_s: float = 120.0
    max_interval_s: float = MAX_INTERVAL_S

    def __post_init__(self) -> None:
        if not self.interval_s > 0:
            raise ValueError(f"interval_s must be > 0 (got {self.interval_s})")
        if not self.wait_s >= 0 or not self.logs_interval_s >= 0:
            raise ValueError("wait_s and logs_interval_s must be >= 0")


_PENDING = None  # the digest map's value for an id whose verdict is not final yet
Pending = AsyncIterable[Sequence[Record]] | Spool  # a round's records: the input (round 0), else a spool


class VerdictWriter(Protocol):
    """Where each final verdict line goes."""

    def __call__(self, line: VerdictLine) -> None: ...


class Verifier:
    """Decides one verdict per record of a source; ``stop()`` at any time sends nothing new."""

    def __init__(
        self,
        check: Check,
        transport: HttpTransport,
        rate: RateControl,
        settings: EngineSettings,
        stats: RunStats,
        options: VerifyOptions,
        write: VerdictWriter,
        *,
        logs: CoveoLogs | None = None,
        clock: Callable[[], float] | None = None,
        input_lines: ResultLines | None = None,
        parked: Callable[[int], None] | None = None,
        on_round: Callable[[Verifier, int, float], None] | None = None,
        scan: ScanPlan | None = None,
    ) -> None:
        self._check = check
        self._transport = transport
        self._rate = rate
        # De-duplication is ours: a duplicate's line waits for the verdict of its id.
        self._settings = dataclasses.replace(settings, dedupe=False)
        self._stats = stats
        self._options = options
        self._write = write
        self._logs = logs
        self._input_lines = input_lines  # the earliest ts of the input's result lines opens the logs window
        self._clock = clock or asyncio.get_running_loop().time
        self._parked = parked or _ignore  # records moved to (+n) or read back from (-n) a spool
        self._on_round = on_round  # (verifier, ids not gone yet, seconds to the next round) after each round
        self._verdicts: dict[int, VerdictKind | None] = {}
        self._duplicates = Spool()
        self._next: Spool | None = None
        self._engine: Engine | None = None
        self._wake: asyncio.Future[None] | None = None
        self._stopping: tuple[StopReason, str | None] | None = None
        # --check scan|auto (SPEC §13.1); None: every round asks for the ids.
        self._scan = ScanChoice(scan, (transport, rate, self._settings, stats)) if scan and scan.lists else None
        self._scanned: ScanRound | None = None  # the round in progress is a scan: its evidence and children counts
        self.rounds = 0  # rounds begun: a record decided in this one has been checked this many times
        self.counts: dict[str, int] = {}
        self.checks: dict[str, int] = {}  # rounds per check they used: "ids", "scan"

    def __repr__(self) -> str:
        return f"<Verifier rounds={self.rounds} decided={sum(self.counts.values())} stopping={self._stopping}>"

    @property
    def stopping(self) -> bool:
        return self._stopping is not None

    def stop(self, reason: StopReason, message: str | None = None) -> None:
        """Check nothing new: the current round's requests in flight complete; undecided records get no line."""
        if self._stopping is None:
            self._stopping = (reason, message)
        if self._engine is not None:
            self._engine.stop(reason, message)
        if self._scan is not None:
            self._scan.stop(reason, message)
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def run(self, source: AsyncIterable[Sequence[Record]]) -> RunEnd:
        start = self._clock()
        deadline = start + self._options.wait_s
        interval = self._options.interval_s
        pending: Pending = self._first_sight(source)
        round_start = start
        try:
            while True:
                last = round_start >= deadline
                end = await self._one_round(pending, last)
                if end.reason is not StopReason.COMPLETED or self._next is None or not len(self._next):
                    return end
                spool, self._next = self._next, None
                pending = spool
                round_start = min(round_start + interval, deadline)
                interval = min(interval * 2, self._options.max_interval_s)
                if self._on_round is not None:
                    self._on_round(self, len(spool), max(round_start - self._clock(), 0.0))
                if not await self._sleep_until(round_start):
                    return self._stopped(end)
        finally:
            for left in (self._next, pending):
                if isinstance(left, Spool):
                    left.close()
            await self._finish_duplicates()
            self._duplicates.close()

    async def _one_round(self, pending: Pending, last: bool) -> RunEnd:
        if self._stopping is not None:
            return self._stopped(RunEnd(StopReason.COMPLETED, None, 0))
        await self._refresh_logs(force=False)
        self.rounds += 1
        emit = self._settle_last if last else self._settle
        scan: ScanRound | None = None
        if self._scan is not None:  # a scan reads its records twice, a count needs how many: spooled first
            if not isinstance(pending, Spool):
                pending = await spool_all(pending, self._park, lambda: self._stopping is not None)
            scan, end = await self._scan.choose(len(pending))
            if end is not None:  # the count query met a refused key, or a stop
                return self._stopped(end)
        self._next = Spool()
        if scan is not None:
            end = await self._scan_round(scan, pending, emit, last)
        else:
            end = await self._ids_round(pending, emit)
        if last and end.reason is StopReason.COMPLETED:
            await self._decide_present(self._next)
            self._next.close()
            self._next = None
        return end

    async def _ids_round(self, pending: Pending, emit: Callable[[Result], None]) -> RunEnd:
        """The check asked for the pending ids, through the engine."""
        self.checks["ids"] = self.checks.get("ids", 0) + 1
        self._scanned = None
        engine = self._engine = Engine(self._check, self._transport, self._rate, self._settings, self._stats, emit)
        if self._stopping is not None:  # stopped while the logs were read
            engine.stop(*self._stopping)
        end = await engine.run(self._draining(pending) if isinstance(pending, Spool) else pending)
        self._engine = None
        return end

    async def _scan_round(self, scan: ScanRound, spool: Pending, emit: Callable[[Result], None], last: bool) -> RunEnd:
        """The whole source listed once (``verify.scan``); each record read back from its spool is decided."""
        assert isinstance(spool, Spool) and self._next is not None
        self.checks["scan"] = self.checks.get("scan", 0) + 1
        self._scanned = scan
        later = self._next

        def settle(result: Result) -> None:
            self._parked(-1)
            emit(result)

        def wait(record: Record) -> None:
            self._parked(-1)
            self._park(later, record)

        if self._stopping is not None:
            scan.stop(*self._stopping)
        try:
            return await scan.run(spool, settle, wait, last=last)
        finally:
            spool.close()

    def _stopped(self, end: RunEnd) -> RunEnd:
        if self._stopping is None:
            return end
        return RunEnd(self._stopping[0], self._stopping[1], end.abandoned)

    async def _sleep_until(self, when: float) -> bool:
        """Wait for the next round; False when stopped meanwhile."""
        delay = when - self._clock()
        if self._stopping is not None:
            return False
        if delay > 0:
            self._wake = asyncio.get_running_loop().create_future()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake, delay)
            self._wake = None
        return self._stopping is None

    async def _refresh_logs(self, *, force: bool) -> None:
        logs = self._logs
        if logs is None or not logs.enabled:
            return
        now = self._clock()
        if not force and logs.last_round_at is not None and now - logs.last_round_at < self._options.logs_interval_s:
            return
        earliest = self._input_lines.earliest_ts if self._input_lines is not None else None
        started = parse_w3c(earliest) if earliest is not None else None
        if started is not None:  # the deletes began then: their log entries cannot be older (a minute of skew)
            logs.since = min(logs.since, started - 60.0)
        settings = self._settings
        await logs.refresh(self._transport, self._rate, settings.backoff, settings.max_attempts, now)

    # -- first sight of each input record --------------------------------------------------------------------

    async def _first_sight(self, source: AsyncIterable[Sequence[Record]]) -> AsyncIterator[list[Record]]:
        """The input's records to check: a not-ok delete line is ``not_deleted`` at once, a duplicate waits for its
        id's verdict, the rest go on (invalid ones too: the engine makes them ``unknown``, with the reason)."""
        verdicts = self._verdicts
        async for chunk in source:
            send: list[Record] = []
            for record in chunk:
                problem = record.problem
                if problem is not None and problem.startswith(NOT_OK_RESULT):
                    self._emit(VerdictLine(record, VerdictKind.NOT_DELETED, error=problem[len(NOT_OK_RESULT) :]))
                    continue
                key = id_key(record.id)
                if key in verdicts:
                    known = verdicts[key]
                    if known is _PENDING:
                        self._park(self._duplicates, record)
                    else:
                        self._emit(_duplicate(record, known))
                    continue
                verdicts[key] = _PENDING
                send.append(record)
            if send:
                yield send

    async def _finish_duplicates(self) -> None:
        """Each duplicate whose id got its verdict gets a line (ids left undecided by a stop give theirs none)."""
        async for chunk in self._duplicates.chunks():
            self._parked(-len(chunk))
            for record in chunk:
                known = self._verdicts.get(id_key(record.id))
                if known is not None:
                    self._emit(_duplicate(record, known))

    # -- what each check found -------------------------------------------------------------------------------

    def _settle(self, result: Result) -> None:
        """The engine decided one check: a verdict now, or wait for the next round (descendants left included:
        their deletes take time too)."""
        record = result.record
        if result.outcome is not Outcome.PRESENT:
            self._emit(self._final(result))
            return
        self._children_left(record, forget=True)
        entry = self._logs.failure(record.id) if self._logs is not None else None
        if entry is not None:
            self._emit(VerdictLine(record, VerdictKind.FAILED, self.rounds, log=entry, error=_log_error(entry)))
            return
        assert self._next is not None
        self._park(self._next, record)

    def _settle_last(self, result: Result) -> None:
        """In the last round, a record still present waits for the last logs round (``_decide_present``); one with
        descendants left is present now."""
        if result.outcome is Outcome.PRESENT and self._children_left(result.record) is None:
            assert self._next is not None
            self._park(self._next, result.record)
            return
        self._emit(self._final(result))

    def _children_left(self, record: Record, *, forget: bool = False) -> int | None:
        """How many descendants of ``record`` the check saw (``--children``), if any."""
        scanned = self._scanned
        children = scanned.children_left if scanned is not None else getattr(self._check, "children_left", None)
        if not isinstance(children, dict):
            return None
        left = children.pop(record.id, None) if forget else children.get(record.id)
        return left if isinstance(left, int) else None

    def _final(self, result: Result) -> VerdictLine:
        record, outcome, status = result.record, result.outcome, result.status
        checks = self.rounds if result.attempts else 0
        if outcome is Outcome.GONE:
            shown = self._scanned.evidence if self._scanned is not None else self._check.evidence
            evidence = shown.replace("{status}", str(status))
            return VerdictLine(record, VerdictKind.GONE, checks, evidence=evidence)
        if outcome is Outcome.PRESENT:  # descendants left (--children), in the last round
            left = self._children_left(record, forget=True)
            log = self._logs.latest(record.id) if self._logs is not None else None
            return VerdictLine(record, VerdictKind.PRESENT, checks, log=log, error=result.error, children_left=left)
        reason = result.error or "could not be checked"
        if outcome is Outcome.INVALID:
            reason = f"not checked: {reason}"
        return VerdictLine(record, VerdictKind.UNKNOWN, checks, error=reason)

    async def _decide_present(self, spool: Spool) -> None:
        """After the last round: one last logs round, then ``failed`` or ``present`` for each record still seen."""
        if not len(spool):
            return
        await self._refresh_logs(force=True)
        checks = self.rounds
        async for chunk in spool.chunks():
            self._parked(-len(chunk))
            for record in chunk:
                failure = self._logs.failure(record.id) if self._logs is not None else None
                if failure is not None:
                    self._emit(VerdictLine(record, VerdictKind.FAILED, checks, log=failure, error=_log_error(failure)))
                    continue
                log = self._logs.latest(record.id) if self._logs is not None else None
                error = f"still there after {checks} check{'' if checks == 1 else 's'} (--wait ran out)"
                self._emit(VerdictLine(record, VerdictKind.PRESENT, checks, log=log, error=error))

    async def _draining(self, spool: Spool) -> AsyncIterator[list[Record]]:
        try:
            async for chunk in spool.chunks():
                self._parked(-len(chunk))
                yield chunk
        finally:
            spool.close()

    def _park(self, spool: Spool, record: Record) -> None:
        spool.add(record)
        self._parked(1)

    def _emit(self, line: VerdictLine) -> None:
        line = line._replace(ts=utc_stamp())
        key = id_key(line.record.id)
        if self._verdicts.get(key, _PENDING) is _PENDING and line.verdict is not VerdictKind.NOT_DELETED:
            self._verdicts[key] = line.verdict
        self.counts[line.verdict.value] = self.counts.get(line.verdict.value, 0) + 1
        self._write(line)


def _ignore(_: int) -> None:
    return None


def _duplicate(record: Record, verdict: VerdictKind) -> VerdictLine:
    """A later record of an id already checked: that id's verdict, without a query of its own."""
    text = "the same id as an earlier record, whose verdict this is"
    return VerdictLine(record, verdict, 0, evidence=text if verdict.ok else None, error=None if verdict.ok else text)


def _log_error(entry: dict[str, object]) -> str:
    """``the Logs API reports its delete ERROR at INDEXING: <the reason in meta>``."""
    meta = entry.get("meta")
    if isinstance(meta, dict):
        reason = "; ".join(
            str(value) if key in ("error", "reason", "message") else f"{key}: {value}" for key, value in meta.items()
        )
    else:
        reason = str(meta or "")
    return f"the Logs API reports its delete {entry.get('result')} at {entry.get('task')}" + (
        f": {reason}" if reason else ""
    )
