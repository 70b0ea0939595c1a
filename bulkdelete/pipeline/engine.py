"""The pipeline: records in, one final ``Result`` out per record.

::

    chunks of records ─► pre-decide (invalid / duplicate / skipped / planned) ─► capacity ─► [batcher] ─► ready jobs
                                                                                      ▲                     │
                                                    retry after backoff ──────────────┴── verdicts ◄── workers ◄┘

Capacity (a count checked *before* a record enters the pipeline) bounds the records in flight, ready, forming a
batch or waiting for a retry, so memory never grows with the input. Workers *pull* the next job from the ready
queue as they finish one: at full speed no task waits on another per record (a feed task woken per record costs
as much CPU as the engine's whole bookkeeping). A worker sends one job (one record, or one batch) at a time, so
``concurrency`` workers bound the requests in flight. Retries wait on timers, never in a worker, so a failing record
does not hold back the others. A stop (abort, interrupt, budget) sends nothing new: ready and retry-waiting records
are *abandoned* (no line: ``--resume`` picks them up) while requests already in flight complete and are reported.

Around the engine: ``settings`` (``EngineSettings``, the error budget), ``ending`` (``StopReason``, ``RunEnd``),
``unanswered`` (what a job whose request got no answer becomes), ``refusals`` (a run-wide refusal), ``batcher``.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import AsyncIterable, Callable, Sequence

from bulkdelete.errors import ConfigError
from bulkdelete.net.transport import HttpTransport, last_request_id
from bulkdelete.output.stats import RunStats
from bulkdelete.output.timestamps import utc_stamp
from bulkdelete.pipeline.batcher import Batcher, Job, Pending
from bulkdelete.pipeline.dedupe import SeenIds
from bulkdelete.pipeline.ending import RunEnd, StopReason
from bulkdelete.pipeline.refusals import RefusalWatch
from bulkdelete.pipeline.settings import EngineSettings
from bulkdelete.pipeline.unanswered import UnansweredJobs
from bulkdelete.rate.control import RateControl
from bulkdelete.records import Outcome, Record, Result
from bulkdelete.targets.base import Action, Target, Verdict

# Read per record: an enum member read through its class costs ~100 ns on CPython 3.11 (measured), a global ~10 ns.
_DONE, _ABORT = Action.DONE, Action.ABORT


class Engine:
    """Runs one deletion: ``await Engine(...).run(records)``; ``stop()`` may be called at any time."""

    def __init__(
        self,
        target: Target,
        transport: HttpTransport | None,
        rate: RateControl,
        settings: EngineSettings,
        stats: RunStats,
        emit: Callable[[Result], None],
        *,
        done_ids: SeenIds | None = None,
    ) -> None:
        if transport is None and not settings.dry_run:
            raise ValueError("a transport is needed unless dry_run")
        self._target = target
        self._transport = transport
        self._rate = rate
        self._settings = settings
        self._stats = stats
        self._emit = emit
        self._done_ids = done_ids
        self._seen = SeenIds() if settings.dedupe else None
        self._rng = random.Random(settings.seed)
        batching = target.batch_size > 1
        if batching:
            self._capacity = target.batch_size * (settings.concurrency + 1) + settings.concurrency
            room_step = target.batch_size  # the feed wakes once a whole batch fits again
        else:
            self._capacity = settings.concurrency * 4
            room_step = settings.concurrency  # the feed wakes once per `concurrency` records, not per record
        self._room_at = self._capacity - room_step
        self._room: asyncio.Future[None] | None = None  # the feed, waiting for capacity
        # Jobs waiting for a worker, and workers waiting for a job: asyncio.Queue's own design (a deque of items, a
        # deque of getter futures), hand-made because the Queue's Python-level put_nowait/get_nowait/empty calls cost
        # 2,735 more instructions per id (473,258 vs 470,523, callgrind, benchmarks/instructions.py method, 2026-12-02)
        # on the path every record takes; closing wakes the idle workers instead of queueing one end mark per worker.
        self._ready: deque[Job] = deque()
        self._idle: deque[asyncio.Future[None]] = deque()
        self._batcher = (
            Batcher(target, self, linger_s=settings.linger_s, max_age_s=settings.max_batch_age_s) if batching else None
        )
        self._timers: dict[Pending, asyncio.TimerHandle] = {}
        self._outstanding = 0
        self._abandoned = 0
        self._input_done = False
        self._closed = False
        self._stopping = False
        self._reason = StopReason.COMPLETED
        self._message: str | None = None
        self._unanswered = UnansweredJobs(transport, stats, unreachable_after=max(2 * settings.concurrency, 8))
        self._refusals = RefusalWatch()
        self._feeder: asyncio.Task[None] | None = None
        self._failure: Exception | None = None  # what the records' source raised: `run` raises it once it has ended
        self._batching: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return (
            f"<Engine outstanding={self._outstanding} ready={len(self._ready)} retrying={len(self._timers)}"
            f" decided={self._stats.records} stopping={self._stopping}>"
        )

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def more_may_come(self) -> bool:
        """More records may still reach the batcher: input goes on, or a retry is waiting (``JobSink``)."""
        return not (self._input_done and not self._timers)

    def push_job(self, job: Job) -> None:
        """A formed batch, ready for a worker (``JobSink``)."""
        self._push(job)

    async def run(self, chunks: AsyncIterable[Sequence[Record]]) -> RunEnd:
        """Decide every record of ``chunks`` (lists of records, in input order), or stop early.

        When iterating ``chunks`` raises (``ConfigError`` aside: that stops the run as ``input-error``), the input
        ends there: the records read before it are decided as usual, then that very exception is raised. An exception
        escaping a task of the engine (a bug) is raised as itself too; only several at once are an ``ExceptionGroup``.
        """
        try:
            async with asyncio.TaskGroup() as group:
                self._feeder = group.create_task(self._feed(chunks), name="bulkdelete-feed")
                if self._batcher is not None:
                    self._batching = group.create_task(self._batcher.run(), name="bulkdelete-batcher")
                for n in range(0 if self._settings.dry_run else self._settings.concurrency):
                    group.create_task(self._work(), name=f"bulkdelete-worker-{n}")
        except ExceptionGroup as group_error:  # the TaskGroup is ours: a caller sees the error, not how we ran
            if self._failure is not None:
                group_error.exceptions[0].add_note(f"the records' source had raised {self._failure!r} before")
            if len(group_error.exceptions) > 1:
                raise
            failure: Exception = group_error.exceptions[0]
        else:
            if self._failure is None:
                return RunEnd(self._reason, self._message, self._abandoned)
            failure = self._failure
        raise failure  # outside the `except`: its context is not the group it came in

    def stop(self, reason: StopReason, message: str | None = None) -> None:
        """Send nothing new; let in-flight requests complete. The first reason given wins."""
        if self._stopping:
            return
        self._stopping = True
        self._reason, self._message = reason, message
        if self._transport is not None:
            self._transport.stopping = True
        for task in (self._feeder, self._batching):
            if task is not None:
                task.cancel()
        for pending in self._drain():
            self._abandon(pending)
        self._maybe_close()

    # -- feeding -------------------------------------------------------------------------------------------------

    async def _feed(self, chunks: AsyncIterable[Sequence[Record]]) -> None:
        batcher, ready, idle = self._batcher, self._ready, self._idle
        try:
            async for chunk in chunks:
                for record in self._to_send(chunk):
                    if self._stopping:
                        return
                    if self._outstanding >= self._capacity:
                        await self._wait_for_room()
                    self._outstanding += 1
                    if batcher is None:  # `_submit`, inlined: once per record
                        ready.append((Pending(record),))
                        if idle:
                            self._wake_one()
                    else:
                        batcher.put(Pending(record))
                if self._stopping:
                    return
        except ConfigError as exc:  # an input that cannot be read (CSV without the id column, corrupt gzip, ...)
            self.stop(StopReason.INPUT_ERROR, str(exc))
            return
        except Exception as exc:  # the source itself failed (a library caller's ids, a bug): `run` raises it at the end
            self._failure = exc
        self._input_done = True
        self._maybe_close()

    def _to_send(self, chunk: Sequence[Record]) -> list[Record]:
        """Decide the records of ``chunk`` that need no request (invalid, duplicate, skipped, planned); return the
        others, in order. One call per chunk: this loop runs once per input record."""
        validate, seen, done_ids = self._target.validate, self._seen, self._done_ids
        dry_run = self._settings.dry_run
        send: list[Record] = []
        ts = utc_stamp()  # once per chunk: its records are decided within the same loop turn
        for record in chunk:
            if self._stopping:  # decided inside this chunk (--max-errors on invalid ids)
                break
            record_id, _, _, problem = record
            early = None
            if problem is not None or (problem := validate(record_id)) is not None:
                early = Result(record, Outcome.INVALID, error=problem, ts=ts)
            elif done_ids is not None and record_id in done_ids:  # first: done earlier, every repeat is skipped too
                early = Result(record, Outcome.SKIPPED, ts=ts)
            elif seen is not None and not seen.add(record_id):
                early = Result(record, Outcome.DUPLICATE, ts=ts)
            elif dry_run:
                early = Result(record, Outcome.PLANNED, ts=ts)
            if early is None:
                send.append(record)
            else:
                self._decide(early)
        return send

    async def _wait_for_room(self) -> None:
        """Wait until ``room_step`` records have been released. Not an ``asyncio.Semaphore``: that wakes the feed once
        per record (workers pulling jobs instead of a feed task handing them over through a Semaphore and a Queue took
        526,065 down to 498,666 instructions per id, benchmarks/RESULTS.md)."""
        self._room = asyncio.get_running_loop().create_future()
        try:
            await self._room
        finally:
            self._room = None

    def _submit(self, pending: Pending) -> None:
        if self._batcher is not None:
            self._batcher.put(pending)
        else:
            self._push((pending,))

    def _push(self, job: Job) -> None:
        self._ready.append(job)
        self._wake_one()

    def _wake_one(self) -> None:
        """Wake one idle worker (a waiter already done, e.g. cancelled, wakes nobody: it is skipped)."""
        while self._idle:
            waiter = self._idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    # -- sending -------------------------------------------------------------------------------------------------

    async def _work(self) -> None:
        """One worker: send the next ready job, settle its records, again; end once the engine is closed.

        The send is inlined here rather than awaited as a method: every time a request suspends and resumes, each
        coroutine frame between the task and aiohttp is passed through, and this loop runs once per request.
        """
        ready, target, transport = self._ready, self._target, self._transport
        assert transport is not None
        while True:
            if not ready:
                if not await self._wait_for_job():
                    return
                continue
            job = ready.popleft()
            last_request_id.set(None)  # the transport sets it from each answer this worker's job gets
            try:
                verdicts = await target.send(transport, (job[0].record,) if len(job) == 1 else [p.record for p in job])
            except Exception as exc:  # a bug in a target must cost its records a 'failed' line, never the whole run
                unsent = self._unsent(job, exc)
                if unsent is None:
                    continue
                verdicts = unsent
            self._conclude(job, verdicts)

    async def _wait_for_job(self) -> bool:
        """Wait, idle, until a job may be ready; False once the engine is closed (the worker ends)."""
        if self._closed:
            return False
        waiter = asyncio.get_running_loop().create_future()
        self._idle.append(waiter)
        await waiter
        return True

    def _conclude(self, job: Job, verdicts: Sequence[Verdict]) -> None:
        """Count the attempt, let the verdicts pace the run, settle each record, watch for a run-wide refusal."""
        request_id = last_request_id.get()  # the answer's X-Request-ID: set in this task by the transport
        if len(job) == 1:  # per-item targets: one record, one verdict (the path every record takes, kept flat)
            pending, verdict = job[0], verdicts[0]
            if pending.attempts:
                self._stats.retries += 1
            pending.attempts += 1
            if verdict.throttled:
                self._rate.on_throttle(verdict.latency_ms, verdict.retry_after)
            else:
                self._rate.on_success(verdict.latency_ms)
            self._settle(pending, verdict, request_id)
        else:
            if any(pending.attempts for pending in job):
                self._stats.retries += 1
            for pending in job:
                pending.attempts += 1
            self._pace_after(verdicts)
            for pending, verdict in zip(job, verdicts, strict=True):
                self._settle(pending, verdict, request_id)
        if (refused := self._refusals.observe(verdicts)) is not None:  # every request refused alike: stop (exit 3)
            self.stop(StopReason.ABORTED, refused)

    def _unsent(self, job: Job, exc: Exception) -> list[Verdict] | None:
        """The verdicts of a job whose request got no answer; None when it was not sent (its records abandoned)."""
        verdicts, stop = self._unanswered.judge(exc, len(job))
        if stop is not None:
            self.stop(*stop)
        if verdicts is None:
            for pending in job:
                self._abandon(pending)
        return verdicts

    def _pace_after(self, verdicts: Sequence[Verdict]) -> None:
        """Tell the rate control how the request fared: one throttle among its verdicts, or a success."""
        for verdict in verdicts:
            if verdict.throttled:
                self._rate.on_throttle(verdict.latency_ms, verdict.retry_after)
                return
        self._rate.on_success(verdicts[0].latency_ms if verdicts else None)

    def _settle(self, pending: Pending, verdict: Verdict, request_id: str | None) -> None:
        """Decide the record (done, aborting, out of attempts), or leave it (stopping), or send it again later.

        ``request_id``: the API's X-Request-ID of the last answer to this attempt, for the result line."""
        action, outcome, status, error, latency_ms, batch, _, _ = verdict
        if action is _DONE:
            pass
        elif action is _ABORT:
            outcome = Outcome.FAILED
        elif pending.attempts >= self._settings.max_attempts:
            outcome, error = Outcome.FAILED, f"gave up after {pending.attempts} attempts: {error}"
        elif self._stopping:
            self._abandon(pending)
            return
        else:
            self._retry_later(pending, verdict)
            return
        error = None if outcome.ok else (error or "failed")
        self._decide(
            Result(pending.record, outcome, status, pending.attempts, error, latency_ms, batch, utc_stamp(), request_id)
        )
        self._release()
        if action is _ABORT:
            self.stop(StopReason.ABORTED, verdict.error)

    def _retry_later(self, pending: Pending, verdict: Verdict) -> None:
        # A throttled record needs no delay of its own: the global pause already holds every request back.
        delay = 0.0 if verdict.throttled else self._settings.backoff.delay(pending.attempts, self._rng)
        if delay <= 0:
            self._submit(pending)
            return
        loop = asyncio.get_running_loop()
        self._timers[pending] = loop.call_later(delay, self._resubmit, pending)

    def _resubmit(self, pending: Pending) -> None:
        del self._timers[pending]
        self._submit(pending)

    # -- deciding ------------------------------------------------------------------------------------------------

    def _decide(self, result: Result) -> None:
        self._stats.record_result(result)
        self._emit(result)
        if not result.outcome.ok and self._settings.too_many_errors(self._stats):
            self.stop(StopReason.MAX_ERRORS, f"--max-errors reached ({self._stats.not_ok} records not ok)")

    def _abandon(self, pending: Pending) -> None:
        self._abandoned += 1
        self._release()

    def _release(self) -> None:
        self._outstanding -= 1
        room = self._room
        if room is not None and self._outstanding <= self._room_at and not room.done():
            room.set_result(None)
        if not self._outstanding:
            self._maybe_close()

    def _drain(self) -> list[Pending]:
        """Every record that is queued, forming a batch or waiting for a retry: none of them will be sent."""
        drained = self._batcher.drain() if self._batcher is not None else []
        for handle in self._timers.values():
            handle.cancel()
        drained.extend(self._timers)
        self._timers.clear()
        for job in self._ready:
            drained.extend(job)
        self._ready.clear()
        return drained

    def _maybe_close(self) -> None:
        """Once no record is outstanding and none can come, let the workers (and the batcher) end."""
        if self._closed or self._outstanding or not (self._input_done or self._stopping):
            return
        self._closed = True
        if self._batching is not None:
            self._batching.cancel()
        while self._idle:  # idle workers see `_closed` and end; busy ones end after their job
            self._wake_one()
