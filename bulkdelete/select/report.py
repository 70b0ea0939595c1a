"""What a listing reports (SPEC §13): its exit status, the summary's ``selection`` and request figures, progress.

Exit: ``0`` listed to the end, ``2`` the API refused the expression (``input-error``), ``3`` aborted (401/403, a
run-wide refusal, a query that failed for good, a repeated Velt token, an output that cannot be written), ``4`` a
budget (``--stop-after``, ``--max-requests``), ``130`` interrupted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bulkdelete._version import __version__
from bulkdelete.output.console import Console, utc_now_iso
from bulkdelete.output.progress import Progress, ProgressLog, wants_progress
from bulkdelete.output.sink import JsonLinesSink
from bulkdelete.output.stats import RunStats
from bulkdelete.output.summary import (
    EXIT_ABORTED,
    EXIT_BUDGET,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    write_summary,
)
from bulkdelete.pipeline.ending import RunEnd, StopReason
from bulkdelete.pipeline.run import RunOptions
from bulkdelete.rate.control import RateControl
from bulkdelete.rate.pacing import loop_clock
from bulkdelete.secrets import scrub
from bulkdelete.select.listing import Listing


@dataclass(frozen=True, slots=True)
class ListReport:
    """A finished listing: its summary (SPEC §13 ``selection`` and §8's request figures) and exit status."""

    summary: dict[str, Any]
    exit_code: int

    @property
    def selection(self) -> dict[str, Any]:
        part: dict[str, Any] = self.summary["selection"]
        return part


@dataclass(slots=True)
class ListTally:
    """A listing's live figures: ``stats`` (the requests), ``items`` (items listed, as progress reads records)."""

    stats: RunStats
    started: float
    started_at: str
    lines: int = 0
    sink: JsonLinesSink | None = None
    log: ProgressLog | None = None
    bar: Progress | None = None
    items: RunStats = field(default_factory=RunStats)

    def seen(self, listing: Listing) -> None:
        """After each page: what progress shows (items listed of ``total_count``, the throttled queries)."""
        self.items.ok = listing.listed
        self.items.throttled = self.stats.throttled
        total = listing.total_count
        if self.log is not None and total is not None:
            self.log.set_total(total)
        if self.bar is not None:
            if total is not None:
                self.bar.set_total(total)
            self.bar.advance_to(listing.listed)

    def close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def progress_log(options: RunOptions, console: Console, tally: ListTally, rate: RateControl) -> ProgressLog | None:
    """Progress of items listed against the count: a live bar on a terminal (``tally.bar``, moved after each page;
    never in JSON logs), else one line every ``--log-every``, started. None when quiet, drawn live, or 0."""
    if options.quiet:
        return None
    if not console.is_json and wants_progress(options.progress, console.stream):
        tally.bar = Progress(console.stream, tally.items, (), console=console, unit=" items", outcomes=False)
        return None
    if options.log_every <= 0:
        return None
    log = ProgressLog(
        console,
        tally.items,
        (),
        every=options.log_every,
        target=lambda: rate.current_rate,
        paused_s=lambda: rate.paused_s,
        clock=loop_clock(asyncio.get_running_loop()),
    )
    log.start()
    tally.log = log
    return log


def exit_code(end: RunEnd, complete: bool) -> int:
    reason = end.reason
    if reason is StopReason.INTERRUPTED:
        return EXIT_INTERRUPTED
    if reason is StopReason.INPUT_ERROR:
        return EXIT_USAGE
    if reason in (StopReason.STOP_AFTER, StopReason.MAX_REQUESTS):
        return EXIT_BUDGET
    if reason is StopReason.COMPLETED and complete:
        return EXIT_OK
    return EXIT_ABORTED


def build_report(
    listing: Listing | None, end: RunEnd, tally: ListTally, options: RunOptions, console: Console
) -> ListReport:
    """The summary, written to ``--summary`` (a failure to: exit 3) and said on stderr."""
    elapsed = asyncio.get_running_loop().time() - tally.started
    code = exit_code(end, listing is not None and listing.complete)
    summary = _summary(listing, end, tally, elapsed, code)
    if options.rate_store is not None:
        summary["rate_store"], summary["rate_key"] = options.rate_store.where, options.rate_store.key
    if options.summary_path is not None:
        try:
            write_summary(options.summary_path, summary)
        except OSError as exc:
            console.error(f"cannot write the summary to {options.summary_path!r}: {exc.strerror or exc}")
            code = summary["exit_code"] = EXIT_ABORTED
    if code == EXIT_USAGE and end.message:
        console.error(scrub(end.message, options.secrets))
    elif not options.quiet:
        console.summary(summary, render_text(summary))
    elif code == EXIT_ABORTED and end.message:
        console.error(scrub(end.message, options.secrets))
    return ListReport(summary, code)


def selection_part(listing: Listing | None, elapsed_s: float) -> dict[str, Any]:
    """The summary's ``selection`` (SPEC §13): what was listed and at what cost (None: nothing was, the look-up
    did not end well); ``source`` is Velt's folder for a Velt listing."""
    described = listing.describe() if listing is not None else {}
    return {
        "api": described.get("api"),
        "source": described.get("source", described.get("folder")),
        "aq": described.get("aq"),
        "total_count": listing.total_count if listing is not None else None,
        "listed": listing.listed if listing is not None else 0,
        "excepted": listing.excepted if listing is not None else 0,
        "queries": listing.queries if listing is not None else 0,
        "elapsed_s": round(elapsed_s, 3),
    }


def _summary(listing: Listing | None, end: RunEnd, tally: ListTally, elapsed: float, code: int) -> dict[str, Any]:
    target = listing.describe() if listing is not None else {}
    selection = {**selection_part(listing, elapsed), "complete": listing is not None and listing.complete}
    return {
        "version": __version__,
        "command": "list",
        "started_at": tally.started_at,
        "finished_at": utc_now_iso(),
        "target": target,
        **tally.stats.request_figures(),
        "elapsed_s": round(elapsed, 3),
        "stop_reason": end.reason.value,
        "stop_message": end.message,
        "exit_code": code,
        "selection": selection,
    }


def render_text(summary: dict[str, Any]) -> str:
    """The human summary of a listing, a few lines."""
    part = summary["selection"]
    total = "unknown" if part["total_count"] is None else f"{part['total_count']:,}"
    codes = ", ".join(f"{code}×{n:,}" for code, n in summary["status_codes"].items()) or "none"
    lines = [
        f"bulkdelete list {part['api'] or ''}: {part['listed']:,} items listed of {total} counted in "
        f"{summary['elapsed_s']:.1f} s ({part['excepted']:,} left out by --except)",
        f"  queries   {part['queries']:,} (retries {summary['retries']:,}, throttled {summary['throttled']:,})"
        f"   status {codes}",
    ]
    if summary["stop_reason"] != StopReason.COMPLETED.value or not part["complete"]:
        lines.append(
            f"  stopped   {summary['stop_reason']}: {summary['stop_message'] or 'the listing is not complete'}"
        )
    lines.append(f"  exit      {summary['exit_code']}")
    return "\n".join(lines)
