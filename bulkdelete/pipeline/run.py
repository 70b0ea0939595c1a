"""One whole run, as the CLI and the library API start it: inputs, journal, session, engine, signals, summary.

Order of events: open the output (and the ``--resume`` journal) → start the HTTP session → ``before`` hook (source
status) → engine → ``after`` hook (IDLE, always) → flush → summary. SIGINT/SIGTERM stop the engine gracefully; in-flight
requests get ``grace_s`` to complete, then are cancelled (their records get no line); a second signal exits at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import signal
import sys
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Protocol

from bulkdelete.errors import AbortRun, TransportError
from bulkdelete.input.feed import CountedChunks, ReaderFeed
from bulkdelete.input.shard import Shard
from bulkdelete.net.fd_limit import ensure_fd_budget
from bulkdelete.net.session import Network, open_session
from bulkdelete.net.transport import HttpTransport
from bulkdelete.output.console import Console, LogFormat, utc_now_iso
from bulkdelete.output.journal import load_ok_ids
from bulkdelete.output.journal_lock import journal_locked
from bulkdelete.output.outputs import ResultOutputs, ResultPaths
from bulkdelete.output.progress import Progress, ProgressLog, wants_progress
from bulkdelete.output.runinfo import RunInfo, describe_target
from bulkdelete.output.stats import RunStats
from bulkdelete.output.summary import (
    EXIT_ABORTED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    build_summary,
    exit_code_for,
    render_text,
    write_summary,
)
from bulkdelete.output.timeline import Timeline
from bulkdelete.pipeline.dedupe import SeenIds
from bulkdelete.pipeline.ending import RunEnd, Stoppable, StopReason
from bulkdelete.pipeline.engine import Engine
from bulkdelete.pipeline.settings import EngineSettings
from bulkdelete.rate.backoff import BackoffPolicy
from bulkdelete.rate.control import (
    AutoPacedRate,
    AutoRate,
    FixedRate,
    RateControl,
    RateSpec,
    Unlimited,
    build_rate_control,
)
from bulkdelete.rate.pacing import loop_clock
from bulkdelete.rate.redis_store import RateStore, open_grants
from bulkdelete.rate.shared import GrantStore
from bulkdelete.records import Record, Result
from bulkdelete.secrets import Secret, scrub
from bulkdelete.targets.base import Target

if TYPE_CHECKING:
    from bulkdelete.metrics.watch import Watch

DEFAULT_GRACE_S = 3.0
DEFAULT_RATE = FixedRate(50.0)  # frozen: one shared default is safe


class RunHooks(Protocol):
    """Work bracketing a run (Coveo's source status). ``after`` runs whatever happened."""

    async def before(self, transport: HttpTransport) -> None: ...

    async def after(self, transport: HttpTransport) -> None: ...


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Everything a run needs besides its target.

    ``rate``: ``FixedRate(r)`` (``--rate r``), ``Unlimited()`` (``--rate 0``) or ``AutoRate()`` (``--rate auto``).
    ``shard``: ``Shard(i, n)`` (``--shard i/n``) takes only that shard's records of ``inputs``; ids a library caller
    hands over are its own choice (``shard_of`` picks them), so a shard given with them is a ``ValueError``.
    ``rate_store``: share that rate (a ``FixedRate``) with every process using the same store and key (SPEC §12).
    ``metrics``: what ``/metrics`` and the Pushgateway read (SPEC §14): the run attaches its statistics to it.
    ``records_expected``: the records the run will decide, when its caller knows (``delete --where``: the count);
    progress and ``bulkdelete_records_expected`` show it instead of counting the inputs' lines.
    """

    inputs: tuple[str, ...] = ()
    fmt: str = "auto"
    field: str | None = None
    rate: RateSpec = DEFAULT_RATE
    concurrency: int = 16
    max_attempts: int = 6
    timeout: float = 30.0
    output: str | None = None
    resume: str | None = None
    dry_run: bool = False
    dedupe: bool = True
    max_errors: int | None = None
    max_error_percent: float | None = None
    stop_after: float | None = None
    max_requests: int | None = None
    progress: bool | None = None
    log_every: float = 30.0
    log_format: LogFormat = "text"
    summary_path: str | None = None
    overwrite: bool = False
    quiet: bool = False
    handle_signals: bool = True
    grace_s: float = DEFAULT_GRACE_S
    backoff: BackoffPolicy = dataclass_field(default_factory=BackoffPolicy)
    seed: int | None = None
    secrets: tuple[Secret, ...] = ()
    network: Network | None = None  # TLS trust and proxies; None: the OS trust store and the environment's proxies
    shard: Shard | None = None
    rate_store: RateStore | None = None
    metrics: Watch | None = None
    records_expected: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.rate, FixedRate | Unlimited | AutoRate):
            raise TypeError(f"rate must be FixedRate(r), Unlimited() or AutoRate() (got {self.rate!r})")
        if self.rate_store is not None and not isinstance(self.rate, FixedRate):
            raise ValueError(f"a rate store shares a fixed rate, FixedRate(r) (got {self.rate!r})")

    def rate_control(self, store: GrantStore | None, clock: Callable[[], float] | None = None) -> RateControl:
        """The run's pacer: ``rate`` (shared through ``store``, from ``shared_rate``), ``backoff``, its jitter seeded by
        ``seed``; ``clock`` is the running loop's unless given."""
        clock = clock if clock is not None else loop_clock(asyncio.get_running_loop())
        rng = random.Random(self.seed)
        return build_rate_control(self.rate, clock=clock, backoff=self.backoff, rng=rng, store=store)

    def engine_settings(self) -> EngineSettings:
        return EngineSettings(
            concurrency=self.concurrency,
            max_attempts=self.max_attempts,
            dedupe=self.dedupe,
            dry_run=self.dry_run,
            max_errors=self.max_errors,
            max_error_percent=self.max_error_percent,
            backoff=self.backoff,
            seed=self.seed,
        )


@dataclass(frozen=True, slots=True)
class RunReport:
    """What a finished run reports: the summary document (SPEC §8) and the exit status (SPEC §5)."""

    summary: dict[str, Any]
    exit_code: int


def _write_summary(path: str, summary: dict[str, Any], console: Console) -> bool:
    """``--summary FILE``; False (said on stderr, naming the file and the OS reason) when it cannot be written."""
    try:
        write_summary(path, summary)
    except OSError as exc:
        console.error(f"cannot write the summary to {path!r}: {exc.strerror or exc}")
        return False
    return True


async def run_deletion(
    target: Target,
    options: RunOptions,
    *,
    hooks: RunHooks | None = None,
    records: AsyncIterable[Sequence[Record]] | None = None,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    stderr: IO[str] | None = None,
    on_result: Callable[[Result], None] | None = None,
    interrupt: asyncio.Event | None = None,
) -> RunReport:
    """Run one deletion to its end and report it.

    ``records`` (chunks of records: lists, in input order) overrides reading ``options.inputs``. The ``--resume``
    journal is locked from before it is read until the run ends: a second run on it raises ``ConfigError``, as does a
    descriptor limit too low for ``options.concurrency`` (the soft limit is raised first, up to the hard one), and an
    input that cannot be opened, before anything is written or sent.

    Setting ``interrupt`` stops the run as SIGINT does (the library's early close).
    """
    if not options.dry_run:
        ensure_fd_budget(options.concurrency)  # enough descriptors for every connection, or exit 2 now
    with journal_locked(options.resume):
        async with shared_rate(options) as store:
            return await _run_deletion(
                target, options, hooks, records, stdin, stdout, stderr, on_result, interrupt, store
            )


@contextlib.asynccontextmanager
async def shared_rate(options: RunOptions) -> AsyncIterator[GrantStore | None]:
    """The fleet's rate store, connected (``ConfigError`` when it cannot be: nothing sent), or None without one."""
    store = options.rate_store
    if store is None or options.dry_run:
        yield None
        return
    if store.tls is None and store.url.startswith("rediss:"):  # the run's trust: the OS store plus --ca-bundle
        network = options.network if options.network is not None else Network.from_env()
        store = dataclasses.replace(store, tls=network.ssl_context)
    async with open_grants(store) as grants:
        yield grants


async def _run_deletion(
    target: Target,
    options: RunOptions,
    hooks: RunHooks | None,
    records: AsyncIterable[Sequence[Record]] | None,
    stdin: BinaryIO | None,
    stdout: BinaryIO | None,
    stderr: IO[str] | None,
    on_result: Callable[[Result], None] | None,
    interrupt: asyncio.Event | None,
    store: GrantStore | None,
) -> RunReport:
    if records is not None and options.shard is not None:
        raise ValueError("RunOptions.shard applies to the inputs read; pick the ids you pass with shard_of(id, n)")
    source = (
        CountedChunks(records)
        if records is not None
        else ReaderFeed(options.inputs, fmt=options.fmt, field=options.field, stdin=stdin, shard=options.shard)
    )
    err = stderr if stderr is not None else sys.stderr
    console = Console(err, options.log_format, options.secrets)
    done_ids = None
    if options.resume is not None:
        done_ids, info = load_ok_ids(options.resume)
        if not options.quiet:
            console.info(f"resuming: {info.ok_ids:,} ids already ok in {options.resume}", ok_ids=info.ok_ids)
    stats = RunStats()
    # The loop's clock given once: looking it up per request (asyncio.get_running_loop) costs a getpid() call.
    clock = loop_clock(asyncio.get_running_loop())
    rate = options.rate_control(store, clock)
    auto = isinstance(options.rate, AutoRate)
    _watched(options, stats, rate, store, counted=records is None and options.shard is None)
    progress, log = _progress(options, console, stats, rate, auto, clock)
    paths = ResultPaths(options.output, options.resume, options.overwrite)
    outputs = ResultOutputs(paths, stdout if stdout is not None else sys.stdout.buffer, progress, on_result, console)
    loop = asyncio.get_running_loop()
    started, started_at = loop.time(), utc_now_iso()
    timeline = Timeline(stats, rate, loop.time)  # a once-per-second timer: nothing per request
    timeline.start()
    if log is not None:
        log.start()
    try:
        end = await _drive(target, options, hooks, source, rate, stats, outputs, console, done_ids, interrupt)
    finally:
        timeline.stop()
        if log is not None:
            await log.stop()
        await source.aclose()  # the reader thread stops (or, blocked in a read, is left behind)
        outputs.close()
    end = outputs.ended(end)
    tally = await source.tally()  # every record not decided is unsent: read ahead, or still in the input
    unsent = max(tally.records - stats.records, 0)
    exit_code = exit_code_for(end, stats, unsent=unsent, unsent_exact=tally.exact)
    # --rate auto: what it held over the last minute (the rate at the very end may be a fresh cut), else the flag.
    rate_final = (timeline.recent_rate() or rate.current_rate) if auto else rate.current_rate
    quota_found = rate.adaptive.ceiling if isinstance(rate, AutoPacedRate) else None
    shard = None if options.shard is None else str(options.shard)
    run_info = RunInfo(
        started_at, utc_now_iso(), describe_target(target), rate_final, timeline.rows(), quota_found, shard
    )
    summary = build_summary(
        stats,
        end,
        elapsed_s=loop.time() - started,
        paused_s=rate.paused_s,
        exit_code=exit_code,
        info=run_info,
        unsent=unsent,
        unsent_exact=tally.exact,
        other_shards=source.other_shards,
    )
    # --rate-store: where the budget was shared (never the password), so that a report adds no shares up
    summary["rate_store"] = None if options.rate_store is None else options.rate_store.where
    summary["rate_key"] = None if options.rate_store is None else options.rate_store.key
    if options.summary_path is not None and not _write_summary(options.summary_path, summary, console):
        exit_code = summary["exit_code"] = EXIT_ABORTED
    if exit_code == EXIT_USAGE and end.message:  # e.g. a JSON array as input: nothing sent, one line says why
        console.error(scrub(end.message, options.secrets))
    elif not options.quiet:
        console.summary(summary, render_text(summary))
    elif exit_code == EXIT_ABORTED and end.message:  # --quiet drops the summary, never why the run was aborted
        console.error(scrub(end.message, options.secrets))
    return RunReport(summary, exit_code)


def _watched(options: RunOptions, stats: RunStats, rate: RateControl, store: GrantStore | None, counted: bool) -> None:
    """Metrics (SPEC §14) read these at scrape time, from the server's thread: nothing is added per record."""
    if options.metrics is not None:
        known = options.records_expected
        options.metrics.deletion(stats, rate, store=store, inputs=options.inputs if counted and known is None else ())
        if known is not None:
            options.metrics.expect(known)


def _progress(
    options: RunOptions, console: Console, stats: RunStats, rate: RateControl, auto: bool, clock: Callable[[], float]
) -> tuple[Progress | None, ProgressLog | None]:
    """A live bar on a terminal (never in JSON: every line must parse), else a line every ``--log-every``."""
    if options.quiet:
        return None, None
    # The total: what the caller knows, else the inputs' lines (with --shard every shard's: none is shown then).
    known = options.records_expected
    counted = options.inputs if options.shard is None and known is None else ()
    if not console.is_json and wants_progress(options.progress, console.stream):
        bar = Progress(
            console.stream,
            stats,
            counted,
            current_rate=(lambda: rate.current_rate) if auto else None,
            console=console,
            total=known,
        )
        return bar, None
    if options.log_every <= 0:
        return None, None
    log = ProgressLog(
        console,
        stats,
        counted,
        every=options.log_every,
        target=lambda: rate.current_rate,
        paused_s=lambda: rate.paused_s,
        clock=clock,
    )
    if known is not None:
        log.set_total(known)
    return None, log


async def _drive(
    target: Target,
    options: RunOptions,
    hooks: RunHooks | None,
    source: AsyncIterable[Sequence[Record]],
    rate: RateControl,
    stats: RunStats,
    outputs: ResultOutputs,
    console: Console,
    done_ids: SeenIds | None,
    interrupt: asyncio.Event | None,
) -> RunEnd:
    network = options.network if options.network is not None else Network.from_env()
    # A paced run learns when a request leaves late for a new connection (issue 20); an unlimited one has no slots.
    left_late = None if isinstance(options.rate, Unlimited) else getattr(rate, "left_late", None)
    async with open_session(network, limit=options.concurrency + 2, left_late=left_late) as session:
        transport = HttpTransport(
            session,
            rate,
            stats,
            timeout=options.timeout,
            max_requests=options.max_requests,
            proxies=network.proxies,
        )
        engine = Engine(
            target,
            None if options.dry_run else transport,
            rate,
            options.engine_settings(),
            stats,
            outputs.emit,
            done_ids=done_ids,
        )
        outputs.engine = engine
        run_task = asyncio.ensure_future(_engine_run(engine, hooks, transport, source, options))
        with (
            stop_on_signals(engine, run_task, outputs.flush, options, console),
            _deadline(engine, options.stop_after),
            stop_on_event(interrupt, engine, run_task, options.grace_s),
        ):
            try:
                return await run_task
            except asyncio.CancelledError:
                if not engine.stopping:
                    raise
                return RunEnd(StopReason.INTERRUPTED, "in-flight requests cancelled after the grace period", 0)
            finally:
                if hooks is not None and not options.dry_run:
                    await _after(hooks, transport, options, console)


async def _engine_run(
    engine: Engine,
    hooks: RunHooks | None,
    transport: HttpTransport,
    source: AsyncIterable[Sequence[Record]],
    options: RunOptions,
) -> RunEnd:
    if hooks is not None and not options.dry_run:
        try:
            await hooks.before(transport)
        except AbortRun as exc:
            return RunEnd(StopReason.ABORTED, scrub(str(exc), options.secrets), 0)
        except TransportError as exc:  # no answer to the status call (proxy, DNS, API down): nothing else is sent
            return RunEnd(
                StopReason.ABORTED, scrub(f"setting the source status got no answer: {exc}", options.secrets), 0
            )
    return await engine.run(source)


async def _after(hooks: RunHooks, transport: HttpTransport, options: RunOptions, console: Console) -> None:
    try:
        await asyncio.wait_for(hooks.after(transport), timeout=max(options.timeout, 5.0))
    except Exception as exc:  # AbortRun, a timeout, anything: reported, never raised: the run's outcome stands
        console.warning(str(exc) or type(exc).__name__)


@contextlib.contextmanager
def _deadline(engine: Engine, stop_after: float | None) -> Iterator[None]:
    if stop_after is None:
        yield
        return
    handle = asyncio.get_running_loop().call_later(
        stop_after, engine.stop, StopReason.STOP_AFTER, f"--stop-after {stop_after:g} s reached"
    )
    try:
        yield
    finally:
        handle.cancel()


@contextlib.contextmanager
def stop_on_event(
    event: asyncio.Event | None, engine: Stoppable, run_task: asyncio.Future[Any], grace_s: float
) -> Iterator[None]:
    """Once ``event`` is set, stop as a first signal does: nothing new is sent, in-flight requests get ``grace_s``."""
    if event is None:
        yield
        return
    loop = asyncio.get_running_loop()

    async def interrupt_when_set() -> None:
        await event.wait()
        engine.stop(StopReason.INTERRUPTED, "closed by the caller")
        loop.call_later(grace_s, run_task.cancel)

    watcher = asyncio.ensure_future(interrupt_when_set())
    try:
        yield
    finally:
        watcher.cancel()


@contextlib.contextmanager
def stop_on_signals(
    engine: Stoppable,
    run_task: asyncio.Future[Any],
    flush: Callable[[], None],
    options: RunOptions,
    console: Console,
) -> Iterator[None]:
    """First SIGINT/SIGTERM: stop gracefully, cancel in-flight after ``grace_s``. Second: flush and exit now."""
    if not options.handle_signals:
        yield
        return
    loop = asyncio.get_running_loop()
    grace_s = options.grace_s
    received: list[int] = []

    def on_signal(signum: int) -> None:
        received.append(signum)
        if len(received) > 1:
            flush()
            os._exit(EXIT_INTERRUPTED)
        console.end_terminal_line()  # the terminal echoed ^C: start on a fresh line
        console.info(
            f"{signal.Signals(signum).name}: finishing in-flight requests (up to {grace_s:g} s; again to quit at once)",
            signal=signal.Signals(signum).name,
        )
        engine.stop(StopReason.INTERRUPTED, f"{signal.Signals(signum).name} received")
        loop.call_later(grace_s, run_task.cancel)

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, on_signal, signum)
            installed.append(signum)
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
