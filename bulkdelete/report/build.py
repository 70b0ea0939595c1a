"""Builds the report page from a run's results files and, when given, its summary and its verdicts (SPEC §9, §11).

The page's size is bounded whatever the run: at most ``MAX_POINTS`` points per series, ~1 MB of inlined BokehJS,
and tables of at most a few hundred rows whose long values are cut. ``build_report`` checks the bound anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bokeh.embed import components
from bokeh.resources import Resources

from bulkdelete._version import __version__
from bulkdelete.report import charts
from bulkdelete.report.aggregate import Aggregate, aggregate
from bulkdelete.report.page import Chart, render_page, totals, verification_figures, verification_part
from bulkdelete.report.series import DecidedSeries, TimelineSeries, decided_series, timeline_series
from bulkdelete.report.verified import Verification, read_verdicts, verdict_series

MAX_PAGE_BYTES = 8 * 1024 * 1024
NOT_GONE_ROWS = 200  # the table of records not gone lists at most this many

HELP = {
    "decided": "Coloured areas: records decided per second, stacked by outcome. A healthy run is a flat band just "
    "under the dashed rate target; gaps and dips are pauses or slow answers; red on top is failures.",
    "throttle": "Red: 429 answers per second; orange: retries; grey bars: the share of each second every worker "
    "waited on a 429 pause. A healthy run has none; --rate auto shows a 429 now and then as it probes the quota.",
    "latency": "How long the last attempt of the records decided in each second took. p50 drifting up means the API "
    "slows down under this rate; a lonely p99 spike is one slow answer.",
    "verified": "Verdicts given so far, stacked: green is the records confirmed gone (a check that could have seen "
    "them did not). After a Coveo delete it climbs minutes late (the index applies deletes in 2-5 min) and should "
    "reach the top; red is deletes the Logs API reports failed, orange ids still present when --wait ran out.",
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
    files: int = 1  # results files read
    verdicts: int = 0  # verdict lines read (``--verified``)


def _notes(
    agg: Aggregate, decided: DecidedSeries, timeline: TimelineSeries, summary: dict[str, Any] | None
) -> list[str]:
    notes = []
    merged = int((summary or {}).get("merged_from") or 1)
    if summary is not None and agg.files > 1 and merged == 1:
        notes.append(
            f"One summary for {agg.files} results files: requests, 429s, pauses and in-flight are that one "
            "process's; give each shard's --summary for the whole job's."
        )
    elif merged > 1:
        notes.append(
            f"{merged} summaries added up: requests, 429s, retries and the timelines summed per second; the "
            "latency percentiles come from every result line, pauses and elapsed time are the job's longest."
        )
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


def _names(paths: Sequence[Path]) -> str:
    """``r.jsonl``, ``a.jsonl and b.jsonl``, or ``12 files (shard-0.jsonl … shard-11.jsonl)``."""
    if len(paths) <= 2:
        return " and ".join(path.name for path in paths)
    return f"{len(paths)} files ({paths[0].name} … {paths[-1].name})"


def _titles(results: Sequence[Path], summary: dict[str, Any] | None, agg: Aggregate) -> tuple[str, str]:
    target = (summary or {}).get("target")
    if isinstance(target, dict):
        where = "/".join(str(target[k]) for k in ("org", "source") if target.get(k))
        title = f"bulkdelete {target.get('api', '')} {where}".strip()
        details = [_span(summary)] if summary else []
        details += [f"{k} {target[k]}" for k in ("base_url", "mode") if target.get(k)]
        details.append(f"bulkdelete {summary.get('version')}" if summary and summary.get("version") else "")
        return title, " · ".join(d for d in details if d)
    names = _names(results)
    title = f"bulkdelete report: {names}"
    if agg.first_second is None or agg.last_second is None:
        return title, names
    first, last = (
        datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%d %H:%M:%S") for s in (agg.first_second, agg.last_second)
    )
    return title, f"{first} – {last} UTC · from {names} alone (give --summary for requests, pauses and 429s)"


def _span(summary: dict[str, Any]) -> str:
    """``2026-12-01 18:00:00 – 18:55:33 UTC`` from the summary's ISO times."""
    started, finished = (str(summary.get(key) or "") for key in ("started_at", "finished_at"))
    if len(started) < 19 or len(finished) < 19:
        return ""
    end = finished[11:19] if finished[:10] == started[:10] else f"{finished[:10]} {finished[11:19]}"
    return f"{started[:10]} {started[11:19]} – {end} UTC"


def _verification(
    verified: Sequence[Path], summary: dict[str, Any] | None
) -> tuple[Verification | None, tuple[str, str, Any] | None, list[str]]:
    """The verdicts, the chart of them over time (when they carry ``ts``) and the notes about them."""
    if not verified:
        return None, None, []
    found = read_verdicts(*verified)
    series = verdict_series(found)
    chart = ("verified", "Records confirmed gone over time", charts.verification_chart(series)) if series.x_ms else None
    notes = []
    if found.skipped_lines:
        notes.append(f"{found.skipped_lines:,} lines of the verdict files were not verdict lines and were skipped.")
    counted = ((summary or {}).get("verification") or {}).get("verdicts")
    if isinstance(counted, dict) and sum(counted.values()) != found.lines:
        notes.append(f"The summary counts {sum(counted.values()):,} verdicts, the verdict files hold {found.lines:,}.")
    return found, chart, notes


def build_report(
    results: Path | Sequence[Path],
    output: Path,
    *,
    summary: dict[str, Any] | None = None,
    quota: float | None = None,
    verified: Sequence[Path] = (),
) -> ReportFacts:
    """Write the page for ``results`` (one run's file, or its shards' files: one run) to ``output``. ``summary`` is
    the run's (``merge_summaries`` of the shards' when several); ``quota`` (req/s) draws the quota line, by default
    the summary's ``quota_found`` (the rate at which ``--rate auto`` saw the API throttle); ``verified`` are the
    run's verdict files (SPEC §11), drawn as the page's "Verification" part."""
    paths = [results] if isinstance(results, Path) else list(results)
    agg = aggregate(*paths)
    decided = decided_series(agg)
    timeline = timeline_series(summary) if summary is not None else TimelineSeries()
    if quota is None and summary is not None and isinstance(summary.get("quota_found"), int | float):
        quota = float(summary["quota_found"])
    found, verdict_chart, verdict_notes = _verification(verified, summary)
    shown = _charts(decided, timeline, quota) + ([verdict_chart] if verdict_chart else [])
    script, divs = components([fig for _, _, fig in shown]) if shown else ("", ())
    page_charts = [Chart(key, title, HELP[key], div) for (key, title, _), div in zip(shown, divs, strict=True)]
    run_charts = [chart for chart in page_charts if chart.key != "verified"]
    notes = _notes(agg, decided, timeline, summary) + verdict_notes
    title, subtitle = _titles(paths, summary, agg)
    figures = totals(summary, agg)
    part = _verification_part(found, page_charts, summary, figures)
    html = render_page(
        title=title,
        subtitle=subtitle,
        head=Resources(mode="inline", components=["bokeh"]).render() if shown else "",  # ~1.3 MB: no widgets, GL
        script=script,
        charts=run_charts,
        figures=figures,
        notes=notes,
        agg=agg,
        footer=f"Made by bulkdelete {__version__} report from {_names(paths)}"
        + (f" and {_names(verified)}" if verified else "")
        + ". Charts: bokeh (zoom with the wheel, drag to pan, click a legend entry to hide it).",
        verification=part,
    )
    size = _write(output, html)
    verdicts = found.lines if found is not None else 0
    return ReportFacts(output, agg.lines, len(shown), size, tuple(notes), agg.files, verdicts)


def _verification_part(
    found: Verification | None, page_charts: list[Chart], summary: dict[str, Any] | None, figures: list[tuple[str, str]]
) -> str:
    """The "Verification" part's HTML ("" without verdicts); adds "confirmed gone" to the page's ``figures``."""
    if found is None:
        return ""
    figures.append(("confirmed gone", f"{found.verdicts['gone']:,} of {found.lines:,}"))
    chart = next((c for c in page_charts if c.key == "verified"), None)
    return verification_part(found, verification_figures(found, summary), chart, NOT_GONE_ROWS)


def _write(output: Path, html: str) -> int:
    data = html.encode()
    if len(data) > MAX_PAGE_BYTES:  # bounded by construction: this would be a bug
        raise RuntimeError(f"the report grew to {len(data):,} bytes, over {MAX_PAGE_BYTES:,}")
    output.write_bytes(data)
    return len(data)
