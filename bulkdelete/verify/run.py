"""One whole verification, as ``bulkdelete … verify`` and ``delete --verify`` start it (SPEC §11).

Order of events: open the verdicts output → start the HTTP session → rounds (``rounds.Verifier``) → flush → summary.
SIGINT/SIGTERM stop it as they stop a deletion: nothing new is asked, requests in flight complete (``grace_s``),
every verdict decided so far is written, exit 130.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import AsyncIterable, Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

from bulkdelete._version import __version__
from bulkdelete.input.feed import CountedChunks, ReaderFeed
from bulkdelete.input.formats import ResultLines
from bulkdelete.net.session import Network, open_session
from bulkdelete.net.transport import HttpTransport
from bulkdelete.output.console import Console, utc_now_iso
from bulkdelete.output.runinfo import describe_target
from bulkdelete.output.sink import JsonLinesSink, open_results_file
from bulkdelete.output.stats import RunStats
from bulkdelete.output.summary import EXIT_ABORTED, EXIT_INTERRUPTED, EXIT_NOT_OK, EXIT_OK, EXIT_USAGE, write_summary
from bulkdelete.pipeline.ending import RunEnd, StopReason
from bulkdelete.pipeline.run import RunOptions, shared_rate, stop_on_event, stop_on_signals
from bulkdelete.rate.shared import GrantStore
from bulkdelete.records import Record
from bulkdelete.secrets import scrub
from bulkdelete.verify.lines import VerdictKind, VerdictLine
from bulkdelete.verify.logs import CoveoLogs
from bulkdelete.verify.rounds import Check, Verifier, VerifyOptions
from bulkdelete.verify.scanning import ScanPlan

LogsFactory = Callable[[Callable[[str], None]], CoveoLogs]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What a finished verification reports: its summary and its exit status (SPEC §11)."""

    summary: dict[str, Any]
    exit_code: int

    @property
    def verification(self) -> dict[str, Any]:
        """The summary's ``verification`` part: ``{"verdicts": {…}, "queries": n, "elapsed_s": s}``."""
        part: dict[str, Any] = self.summary["verification"]
        return part

    @property
    def all_gone(self) -> bool:
        """Every verdict ``gone`` (a verification exits 0 only then)."""
        return self.exit_code == EXIT_OK


class _Outputs:
    """Where verdict lines go: ``-o FILE`` (``--overwrite`` rule), else stdout; and the library caller's callback."""

    def __init__(
        self, path: str | None, overwrite: bool, stdout: BinaryIO, on_line: Callable[[VerdictLine], None] | None
    ) -> None:
        stream = open_results_file(path, overwrite=overwrite) if path not in (None, "-") else stdout
        self.sink = JsonLinesSink(
            stream, name=repr(path) if path not in (None, "-") else "stdout", close=stream is not stdout
        )
        self.on_line = on_line

    def write(self, line: VerdictLine) -> None:
        self.sink.write_line(line.to_json_line())
        if self.on_line is not None:
            self.on_line(line)


async def run_verification(
    check: Check,
    options: RunOptions,
    verify: VerifyOptions,
    *,
    logs: LogsFactory | None = None,
    records: AsyncIterable[Sequence[Record]] | None = None,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    stderr: IO[str] | None = None,
    on_line: Callable[[VerdictLine], None] | None = None,
    interrupt: asyncio.Event | None = None,
    parked: Callable[[int], None] | None = None,
    scan: ScanPlan | None = None,
) -> VerifyReport:
    """Verify every record of ``options.inputs`` (or ``records``) and report it.

    ``options`` are a run's: ``rate`` paces the queries, ``output`` takes the verdict lines, ``summary_path`` the
    summary; ``resume``, ``dry_run`` and the error budgets do not apply. JSON lines are read as a delete run's
    result lines (a not-ok line is ``not_deleted``). ``logs`` builds the Coveo Logs reader (given the warning
    callback), or None. ``parked(n)``: ``n`` records were moved to a spool on disk (negative: read back), for a
    caller bounding the records in memory. ``scan``: how rounds may list the source instead (``--check``, SPEC
    §13.1); None: every round asks for the ids. Raises ``ConfigError`` for an input or an output that cannot be
    opened, before any query.
    """
    async with shared_rate(options) as store:  # --rate-store: the queries share the fleet's budget too (SPEC §12)
        return await _run_verification(
            check, options, verify, logs, records, stdin, stdout, stderr, on_line, interrupt, parked, store, scan
        )


async def _run_verification(
    check: Check,
    options: RunOptions,
    verify: VerifyOptions,
    logs: LogsFactory | None,
    records: AsyncIterable[Sequence[Record]] | None,
    stdin: BinaryIO | None,
    stdout: BinaryIO | None,
    stderr: IO[str] | None,
    on_line: Callable[[VerdictLine], None] | None,
    interrupt: asyncio.Event | None,
    parked: Callable[[int], None] | None,
    store: GrantStore | None,
    scan: ScanPlan | None = None,
) -> VerifyReport:
    lines = ResultLines()  # what the reader notices in result lines (the earliest ts: the logs window's start)
    source = (
        CountedChunks(records)
        if records is not None
        else ReaderFeed(
            options.inputs, fmt=options.fmt, field=options.field, stdin=stdin, results=lines, shard=options.shard
        )
    )
    console = Console(stderr if stderr is not None else sys.stderr, options.log_format, options.secrets)
    outputs = _Outputs(options.output, options.overwrite, stdout if stdout is not None else sys.stdout.buffer, on_line)
    loop = asyncio.get_running_loop()
    stats = RunStats()
    rate = options.rate_control(store)
    warn = console.warning
    reader = logs(warn) if logs is not None else None
    started, started_at = loop.time(), utc_now_iso()
    network = options.network if options.network is not None else Network.from_env()
    verifier: Verifier | None = None
    try:
        async with open_session(network, limit=options.concurrency + 2) as session:
            transport = HttpTransport(session, rate, stats, timeout=options.timeout, proxies=network.proxies)
            verifier = Verifier(
                check,
                transport,
                rate,
                options.engine_settings(),
                stats,
                verify,
                outputs.write,
                logs=reader,
                input_lines=lines,
                parked=parked,
                on_round=None if options.quiet else _round_line(console),
                scan=None if scan is None else dataclasses.replace(scan, warn=warn),
            )
            outputs.sink.on_failure = _stop_on_failure(verifier, console)
            if options.metrics is not None:  # read at scrape time (SPEC §14): the verdict lines' counts
                options.metrics.verification(stats, rate, verifier.counts, store=store)
            end = await _drive(verifier, source, options, console, outputs, interrupt)
    finally:
        await source.aclose()
        outputs.sink.close()
    if outputs.sink.broken and outputs.sink.failure is not None:
        end = RunEnd(StopReason.OUTPUT_FAILED, outputs.sink.failure, end.abandoned)
    assert verifier is not None
    counts = dict(sorted(verifier.counts.items()))
    exit_code = _exit_code(end, counts)
    summary = _summary(check, stats, end, counts, verifier.rounds, loop.time() - started, started_at, exit_code)
    summary["verification"]["checks"] = dict(sorted(verifier.checks.items()))  # rounds per check: ids, scan
    if reader is not None:
        summary["verification"]["logs_rounds"] = reader.rounds
    if options.summary_path is not None:
        try:
            write_summary(options.summary_path, summary)
        except OSError as exc:
            console.error(f"cannot write the summary to {options.summary_path!r}: {exc.strerror or exc}")
            exit_code = summary["exit_code"] = EXIT_ABORTED
    if not options.quiet:
        console.summary(summary, render_text(summary))
    elif exit_code == EXIT_ABORTED and end.message:
        console.error(scrub(end.message, options.secrets))
    return VerifyReport(summary, exit_code)


async def _drive(
    verifier: Verifier,
    source: AsyncIterable[Sequence[Record]],
    options: RunOptions,
    console: Console,
    outputs: _Outputs,
    interrupt: asyncio.Event | None,
) -> RunEnd:
    task = asyncio.ensure_future(verifier.run(source))
    with (
        stop_on_signals(verifier, task, outputs.sink.flush, options, console),
        stop_on_event(interrupt, verifier, task, options.grace_s),
    ):
        try:
            return await task
        except asyncio.CancelledError:
            if not verifier.stopping:
                raise
            return RunEnd(StopReason.INTERRUPTED, "in-flight checks cancelled after the grace period", 0)


def _round_line(console: Console) -> Callable[[Verifier, int, float], None]:
    """One line per round: what is decided so far, how many ids wait, when they are checked again."""

    def said(verifier: Verifier, waiting: int, next_in: float) -> None:
        decided = ", ".join(f"{name} {count:,}" for name, count in sorted(verifier.counts.items())) or "none yet"
        console.info(
            f"verify: round {verifier.rounds} done ({decided}); {waiting:,} not gone yet, checked again in "
            f"{next_in:.0f} s",
            round=verifier.rounds,
            waiting=waiting,
            next_in_s=round(next_in, 1),
            verdicts=dict(verifier.counts),
        )

    return said


def _stop_on_failure(verifier: Verifier, console: Console) -> Callable[[JsonLinesSink], None]:
    """A verdict line that cannot be written stops the verification (its reader went away: quietly)."""

    def stop(sink: JsonLinesSink) -> None:
        if sink.failure is not None:
            console.error(f"{sink.failure}: stopping, nothing more is checked")
            verifier.stop(StopReason.OUTPUT_FAILED, sink.failure)
        else:
            verifier.stop(StopReason.OUTPUT_CLOSED, f"the output ({sink.name}) was closed by its reader")

    return stop


def _exit_code(end: RunEnd, counts: dict[str, int]) -> int:
    reason = end.reason
    if reason is StopReason.INTERRUPTED:
        return EXIT_INTERRUPTED
    if reason is StopReason.INPUT_ERROR:
        return EXIT_USAGE
    if reason is not StopReason.COMPLETED:
        return EXIT_ABORTED
    return EXIT_OK if set(counts) <= {VerdictKind.GONE.value} else EXIT_NOT_OK


def _summary(
    check: Check,
    stats: RunStats,
    end: RunEnd,
    counts: dict[str, int],
    rounds: int,
    elapsed_s: float,
    started_at: str,
    exit_code: int,
) -> dict[str, Any]:
    ok = counts.get(VerdictKind.GONE.value, 0)
    records = sum(counts.values())
    return {
        "version": __version__,
        "command": "verify",
        "started_at": started_at,
        "finished_at": utc_now_iso(),
        "target": describe_target(check),
        "records": records,
        "ok": ok,
        "not_ok": records - ok,
        **stats.request_figures(),
        "elapsed_s": round(elapsed_s, 3),
        "stop_reason": end.reason.value,
        "stop_message": end.message,
        "exit_code": exit_code,
        "verification": {
            "verdicts": counts,
            "queries": stats.requests,
            "elapsed_s": round(elapsed_s, 3),
            "rounds": rounds,
        },
    }


def _checks(part: dict[str, Any]) -> str:
    """`` (2 by ids, 1 by scan)`` once a round scanned, else nothing (every round asked for the ids)."""
    checks = part.get("checks") or {}
    if not checks.get("scan"):
        return ""
    return " (" + ", ".join(f"{n:,} by {name}" for name, n in checks.items()) + ")"


def render_text(summary: dict[str, Any]) -> str:
    """The human summary of a verification, a few lines."""
    part = summary["verification"]
    verdicts = ", ".join(f"{name} {count:,}" for name, count in part["verdicts"].items()) or "none"
    codes = ", ".join(f"{code}×{n:,}" for code, n in summary["status_codes"].items()) or "none"
    rounds = part["rounds"]
    lines = [
        f"bulkdelete verify {summary['target'].get('api', '')}: {summary['records']:,} records in "
        f"{summary['elapsed_s']:.1f} s: {summary['ok']:,} gone, {summary['not_ok']:,} not proven gone",
        f"  verdicts  {verdicts}",
        f"  queries   {part['queries']:,} in {rounds:,} round{'' if rounds == 1 else 's'}{_checks(part)} "
        f"(retries {summary['retries']:,}, throttled {summary['throttled']:,})   status {codes}",
    ]
    if summary["stop_reason"] != StopReason.COMPLETED.value:
        lines.append(f"  stopped   {summary['stop_reason']}: {summary['stop_message'] or summary['stop_reason']}")
    lines.append(f"  exit      {summary['exit_code']}")
    return "\n".join(lines)
