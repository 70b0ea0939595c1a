"""One whole listing, as ``bulkdelete coveo|velt list`` starts it (SPEC §13).

Order of events: read ``--except`` → start the HTTP session → ``prepare`` (e.g. the source look-up) builds the
listing → open the output → pages, one JSON line per item as its page is read → flush → summary. The queries share
the run's pacer (``--rate``, ``--rate-store``), transport (``--max-requests``), retries and refusals through the
engine (``calls.CallRunner``). SIGINT/SIGTERM stop it as they stop a deletion: nothing new is asked, queries in
flight complete (``grace_s``), every line written is whole, exit 130.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import IO, BinaryIO

from bulkdelete.net.session import Network, open_session
from bulkdelete.net.transport import HttpTransport
from bulkdelete.output.console import Console, utc_now_iso
from bulkdelete.output.sink import JsonLinesSink, check_results_path, open_results_file
from bulkdelete.output.stats import RunStats
from bulkdelete.output.timestamps import utc_stamp
from bulkdelete.pipeline.ending import RunEnd, StopLatch, StopReason
from bulkdelete.pipeline.run import RunOptions, shared_rate, stop_on_event, stop_on_signals
from bulkdelete.pipeline.settings import EngineSettings
from bulkdelete.rate.control import RateControl
from bulkdelete.select.excepted import ExceptIds
from bulkdelete.select.listing import Listing
from bulkdelete.select.report import ListReport, ListTally, build_report, progress_log


@dataclass(frozen=True, slots=True)
class ListContext:
    """What a listing runs with: the run's transport, pacer, engine settings and stats; the ``--except`` ids."""

    transport: HttpTransport
    rate: RateControl
    settings: EngineSettings
    stats: RunStats
    excepted: ExceptIds | None


Prepare = Callable[[ListContext], Awaitable["Listing | RunEnd"]]


async def run_listing(
    prepare: Prepare,
    options: RunOptions,
    *,
    excepts: Sequence[str] = (),
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    stderr: IO[str] | None = None,
    interrupt: asyncio.Event | None = None,
) -> ListReport:
    """List what ``prepare`` builds, one line per item to ``options.output`` (else stdout), and report it.

    ``options`` are a run's: ``rate``, ``rate_store``, ``concurrency``, ``max_attempts``, ``timeout``,
    ``max_requests``, ``stop_after``, ``summary_path``, ``output`` / ``overwrite``, progress and logs; the rest do
    not apply. ``excepts``: ``--except`` files (``-``: ``stdin``). Raises ``ConfigError`` (exit 2, nothing listed)
    for an output or an ``--except`` that cannot be used, or an unknown source.
    """
    if options.output not in (None, "-"):
        check_results_path(options.output, overwrite=options.overwrite)
    excepted = await ExceptIds.load(excepts, fmt=options.fmt, field=options.field, stdin=stdin) if excepts else None
    console = Console(stderr if stderr is not None else sys.stderr, options.log_format, options.secrets)
    async with shared_rate(options) as store:
        loop = asyncio.get_running_loop()
        rate = options.rate_control(store)
        tally = ListTally(RunStats(), loop.time(), utc_now_iso())
        if options.metrics is not None:  # read at scrape time (SPEC §14): the item lines written
            options.metrics.listing(tally.stats, rate, lambda: tally.lines, store=store)
        stopper: StopLatch[Listing] = StopLatch()
        task = asyncio.ensure_future(_listing(prepare, options, rate, tally, excepted, stdout, stopper, console))
        with (
            stop_on_signals(stopper, task, _flush(tally), options, console),
            _deadline(stopper, options.stop_after),
            stop_on_event(interrupt, stopper, task, options.grace_s),
        ):
            try:
                end, listing = await task
            except asyncio.CancelledError:
                if not stopper.stopping:
                    raise
                end = RunEnd(StopReason.INTERRUPTED, "queries in flight cancelled after the grace period", 0)
                listing = stopper.held
    return build_report(listing, end, tally, options, console)


async def _listing(
    prepare: Prepare,
    options: RunOptions,
    rate: RateControl,
    tally: ListTally,
    excepted: ExceptIds | None,
    stdout: BinaryIO | None,
    stopper: StopLatch[Listing],
    console: Console,
) -> tuple[RunEnd, Listing | None]:
    async with listing_transport(options, rate, tally.stats) as transport:
        settings = options.engine_settings()
        prepared = await prepare(ListContext(transport, rate, settings, tally.stats, excepted))
        if isinstance(prepared, RunEnd):
            return prepared, None
        stopper.hold(prepared)
        async with _output(options, stdout, stopper, tally) as sink:
            log = progress_log(options, console, tally, rate)
            try:
                await _write(prepared, ListContext(transport, rate, settings, tally.stats, excepted), sink, tally)
            finally:
                if log is not None:
                    await log.stop()
                tally.close_bar()
        return _ended(prepared.end, sink), prepared


@asynccontextmanager
async def listing_transport(options: RunOptions, rate: RateControl, stats: RunStats) -> AsyncIterator[HttpTransport]:
    """A listing's HTTP session and transport: ``options``' network, timeout and ``max_requests``, counted in
    ``stats``, paced by ``rate``; closed on the way out."""
    network = options.network if options.network is not None else Network.from_env()
    async with open_session(network, limit=options.concurrency + 2) as session:
        yield HttpTransport(
            session, rate, stats, timeout=options.timeout, max_requests=options.max_requests, proxies=network.proxies
        )


async def _write(listing: Listing, ctx: ListContext, sink: JsonLinesSink, tally: ListTally) -> None:
    """Every item's line, as its page is read."""
    pages = listing.pages(ctx.transport, ctx.rate, ctx.settings, ctx.stats)
    try:
        async for items in pages:
            ts = utc_stamp()
            for item in items:
                tally.lines += 1
                sink.write_line(item.to_json(tally.lines, ts))
            tally.seen(listing)
    finally:
        await pages.aclose()  # type: ignore[attr-defined]


@asynccontextmanager
async def _output(
    options: RunOptions, stdout: BinaryIO | None, stopper: StopLatch[Listing], tally: ListTally
) -> AsyncIterator[JsonLinesSink]:
    """``-o FILE`` (the ``--overwrite`` rule), else stdout; a line that cannot be written stops the listing."""
    path = options.output
    out = stdout if stdout is not None else sys.stdout.buffer
    stream = open_results_file(path, overwrite=options.overwrite) if path not in (None, "-") else out
    sink = JsonLinesSink(stream, name=repr(path) if stream is not out else "stdout", close=stream is not out)

    def failed(broken: JsonLinesSink) -> None:
        if broken.failure is not None:
            stopper.stop(StopReason.OUTPUT_FAILED, broken.failure)
        else:
            stopper.stop(StopReason.OUTPUT_CLOSED, f"the output ({broken.name}) was closed by its reader")

    sink.on_failure = failed
    tally.sink = sink
    try:
        yield sink
    finally:
        sink.close()


def _ended(end: RunEnd, sink: JsonLinesSink) -> RunEnd:
    if sink.broken and end.reason is StopReason.COMPLETED:
        reason = StopReason.OUTPUT_FAILED if sink.failure is not None else StopReason.OUTPUT_CLOSED
        return RunEnd(reason, sink.failure or f"the output ({sink.name}) was closed by its reader", end.abandoned)
    return end


def _flush(tally: ListTally) -> Callable[[], None]:
    def flush() -> None:
        if tally.sink is not None:
            tally.sink.flush()

    return flush


@contextmanager
def _deadline(stopper: StopLatch[Listing], stop_after: float | None) -> Iterator[None]:
    if stop_after is None:
        yield
        return
    message = f"--stop-after {stop_after:g} s reached"
    handle = asyncio.get_running_loop().call_later(stop_after, stopper.stop, StopReason.STOP_AFTER, message)
    try:
        yield
    finally:
        handle.cancel()
