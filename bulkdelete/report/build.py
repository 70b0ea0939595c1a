"""Builds the report page from a results file and, when given, the run's summary (SPEC §9).

The page's size is bounded whatever the run: at most ``MAX_POINTS`` points per series, ~1 MB of inlined BokehJS,
and tables of at most a few hundred rows whose long values are cut. ``build_report`` checks the bound anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bokeh.embed import components
from bokeh.resources import Resources

from bulkdelete._version import __version__
from bulkdelete.report import charts
from bulkdelete.report.aggregate import Aggregate, aggregate
from bulkdelete.report.page import Chart, render_page, totals
from bulkdelete.report.series import DecidedSeries, TimelineSeries, decided_series, timeline_series

MAX_PAGE_BYTES = 8 * 1024 * 1024

HELP = {
    "decided": "Coloured areas: records decided per second, stacked by outcome. A healthy run is a flat band just "
    "under the dashed rate target; gaps and dips are pauses or slow answers; red on top is failures.",
    "throttle": "Red: 429 answers per second; orange: retries; grey bars: the share of each second every worker "
    "waited on a 429 pause. A healthy run has none; --rate auto shows a 429 now and then as it probes the quota.",
    "latency": "How long the last attempt of the records decided in each second took. p50 drifting up means the API "
    "slows down under this rate; a lonely p99 spike is one slow answer.",
    "in_flight": "Requests sent and not yet answered. Stuck at --concurrency: the API is the bottleneck (raise "
    "--concurrency only if the rate target is not reached); near zero: the pacer or a pause holds requests back.",
}


@dataclass(frozen=True, slots=True)
class ReportFacts:
    """What ``build_report`` wrote: for the CLI's one-line message and for tests."""

    path: Path
    lines: int
    charts: int
    size_bytes: int
    notes: tuple[str, ...]


def _notes(
    agg: Aggregate, decided: DecidedSeries, timeline: TimelineSeries, summary: dict[str, Any] | None
) -> list[str]:
    notes = []
    if agg.without_ts and decided.x_ms:
        notes.append(f"{agg.without_ts:,} of {agg.lines:,} result lines carry no 'ts': the charts leave them out.")
    elif agg.without_ts:
        source = "the summary's timeline" if timeline.x_ms else "nothing: give the run's --summary FILE for them"
        notes.append(
            f"No result line carries 'ts' (written by an older bulkdelete?): the charts over time come from "
            f"{source}; latency over time needs 'ts'."
        )
    if summary is not None and not timeline.x_ms:
        notes.append("The summary has no timeline (written by an older bulkdelete): no rate target, pauses or 429s.")
    if agg.skipped_lines:
        notes.append(f"{agg.skipped_lines:,} lines were not result lines (a torn last line?) and were skipped.")
    return notes


def _charts(decided: DecidedSeries, timeline: TimelineSeries, quota: float | None) -> list[tuple[str, str, Any]]:
    """(key, title, bokeh figure) for every chart the data allows; their x ranges are linked."""
    if not (decided.x_ms or timeline.x_ms):
        return []
    first = charts.decided_chart(decided, timeline, quota)
    shown = [("decided", "Records decided per second", first)]
    shown.append(("throttle", "429s, retries and pauses", charts.throttle_chart(decided, timeline, first.x_range)))
    if decided.x_ms:
        shown.append(("latency", "Latency over time", charts.latency_chart(decided, first.x_range)))
    if timeline.x_ms:
        shown.append(("in_flight", "Requests in flight", charts.in_flight_chart(timeline, first.x_range)))
    return shown


def _titles(results: Path, summary: dict[str, Any] | None, agg: Aggregate) -> tuple[str, str]:
    target = (summary or {}).get("target")
    if isinstance(target, dict):
        where = "/".join(str(target[k]) for k in ("org", "source") if target.get(k))
        title = f"bulkdelete {target.get('api', '')} {where}".strip()
        details = [_span(summary)] if summary else []
        details += [f"{k} {target[k]}" for k in ("base_url", "mode") if target.get(k)]
        details.append(f"bulkdelete {summary.get('version')}" if summary and summary.get("version") else "")
        return title, " · ".join(d for d in details if d)
    title = f"bulkdelete report: {results.name}"
    if agg.first_second is None or agg.last_second is None:
        return title, results.name
    first, last = (
        datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%d %H:%M:%S") for s in (agg.first_second, agg.last_second)
    )
    return title, f"{first} – {last} UTC · from {results.name} alone (give --summary for requests, pauses and 429s)"


def _span(summary: dict[str, Any]) -> str:
    """``2026-12-01 18:00:00 – 18:55:33 UTC`` from the summary's ISO times."""
    started, finished = (str(summary.get(key) or "") for key in ("started_at", "finished_at"))
    if len(started) < 19 or len(finished) < 19:
        return ""
    end = finished[11:19] if finished[:10] == started[:10] else f"{finished[:10]} {finished[11:19]}"
    return f"{started[:10]} {started[11:19]} – {end} UTC"


def build_report(
    results: Path, output: Path, *, summary: dict[str, Any] | None = None, quota: float | None = None
) -> ReportFacts:
    """Write the page for ``results`` (and ``summary``) to ``output``. ``quota`` (req/s) draws the quota line;
    by default the summary's ``quota_found`` (the rate at which ``--rate auto`` saw the API throttle)."""
    agg = aggregate(results)
    decided = decided_series(agg)
    timeline = timeline_series(summary) if summary is not None else TimelineSeries()
    if quota is None and summary is not None and isinstance(summary.get("quota_found"), int | float):
        quota = float(summary["quota_found"])
    shown = _charts(decided, timeline, quota)
    script, divs = components([fig for _, _, fig in shown]) if shown else ("", ())
    page_charts = [Chart(key, title, HELP[key], div) for (key, title, _), div in zip(shown, divs, strict=True)]
    notes = _notes(agg, decided, timeline, summary)
    title, subtitle = _titles(results, summary, agg)
    html = render_page(
        title=title,
        subtitle=subtitle,
        head=Resources(mode="inline", components=["bokeh"]).render() if shown else "",  # ~1.3 MB: no widgets, GL
        script=script,
        charts=page_charts,
        figures=totals(summary, agg),
        notes=notes,
        agg=agg,
        footer=f"Made by bulkdelete {__version__} report from {results.name}. Charts: bokeh (zoom with the wheel, "
        "drag to pan, click a legend entry to hide it).",
    )
    data = html.encode()
    if len(data) > MAX_PAGE_BYTES:  # bounded by construction: this would be a bug
        raise RuntimeError(f"the report grew to {len(data):,} bytes, over {MAX_PAGE_BYTES:,}")
    output.write_bytes(data)
    return ReportFacts(output, agg.lines, len(shown), len(data), tuple(notes))
