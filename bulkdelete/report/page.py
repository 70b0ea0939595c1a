"""The report page: one self-contained HTML file (BokehJS inlined, no ``<script src>``, no font or image fetched).

Tables are plain HTML, every value escaped; ids and errors were already cut to ``SHOWN_CHARS``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from bulkdelete.report.aggregate import Aggregate, Listed
from bulkdelete.report.verified import VERDICTS, NotGone, Verification

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;
padding:16px 24px;color:#222}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:17px;margin:28px 0 4px}h3{font-size:15px;margin:18px 0 4px}
.sub{color:#555;margin:0 0 12px}
.totals{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px;margin:12px 0}
.totals div{background:#f4f6f8;border-radius:6px;padding:8px 10px}.totals b{display:block;font-size:18px}
.totals span{color:#555;font-size:12px}.note{background:#fff7e0;border-left:4px solid #f0b400;padding:6px 10px}
.help{color:#555;margin:0 0 4px}table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}
th,td{border-bottom:1px solid #e3e3e3;padding:3px 10px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}td.id{word-break:break-all;max-width:420px}
.tables{display:flex;gap:40px;flex-wrap:wrap}footer{color:#777;font-size:12px;margin:30px 0}
"""


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart in the page: its id, title, how to read it, and bokeh's ``<div>`` for it."""

    key: str
    title: str
    help: str
    div: str


def _cell(value: object, css: str | None) -> str:
    if value is None:
        text = "–"
    elif isinstance(value, float):
        text = f"{value:,.1f}"
    elif isinstance(value, int) and not isinstance(value, bool):
        text = f"{value:,}"
    else:
        text = str(value)
    return f'<td class="{css}">{escape(text)}</td>' if css else f"<td>{escape(text)}</td>"


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], classes: dict[int, str] | None = None) -> str:
    """An HTML table; ``classes`` maps a column index to its cells' CSS class (``n``: a number, ``id``: long text)."""
    classes = classes or {}
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v, classes.get(i)) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_NUMBER = {1: "n"}


def _listed_table(items: Sequence[Listed], files: int) -> str:
    rows: list[Sequence[object]] = [
        (item.id, item.outcome, item.status, item.attempts, item.latency_ms, item.error, item.request_id, item.ts)
        for item in items
    ]
    headers: Sequence[str] = ("id", "outcome", "status", "attempts", "latency ms", "error", "request id", "decided at")
    if files > 1:  # the shard it came from
        rows = [(*row, item.results_file) for row, item in zip(rows, items, strict=True)]
        headers = (*headers, "results file")
    return _table(headers, rows, {0: "id", 2: "n", 3: "n", 4: "n", 5: "id"})


def _not_gone_table(items: Sequence[NotGone], files: int) -> str:
    rows: list[Sequence[object]] = [
        (item.id, item.verdict, item.checks, item.error, item.reason, item.request_id, item.ts) for item in items
    ]
    headers: Sequence[str] = ("id", "verdict", "checks", "error", "log (Coveo Logs API)", "log request id", "at")
    classes = {0: "id", 2: "n", 3: "id", 4: "id"}
    if any(item.children_left is not None for item in items):
        rows = [(*row, item.children_left) for row, item in zip(rows, items, strict=True)]
        headers, classes[len(headers)] = (*headers, "children left"), "n"
    if files > 1:
        rows = [(*row, item.results_file) for row, item in zip(rows, items, strict=True)]
        headers = (*headers, "verdict file")
    return _table(headers, rows, classes)


def verification_figures(found: Verification, summary: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The verification's headline figures; the verify summary's ``verification`` adds its queries and time."""
    share = f"{found.verdicts['gone'] / found.lines:.1%}" if found.lines else "–"
    items = [
        ("records verified", f"{found.lines:,}"),
        ("confirmed gone", f"{found.verdicts['gone']:,}"),
        ("not gone", f"{found.not_gone:,}"),
        ("share gone", share),
    ]
    verification = (summary or {}).get("verification")
    if isinstance(verification, dict):
        items.append(("verify queries", f"{verification.get('queries', 0):,}"))
        items.append(("verify elapsed", f"{float(verification.get('elapsed_s') or 0):,.1f} s"))
    return items


def verification_part(found: Verification, figures: Sequence[tuple[str, str]], chart: Chart | None, cap: int) -> str:
    """The page's "Verification" part: figures, the chart of verdicts over time, the verdict table, what is not
    gone (at most ``cap`` rows, the failed first) and why."""
    parts = ['<section id="verification"><h2>Verification</h2>', _figures(figures)]
    if chart is not None:
        parts.append(f'<section class="chart" id="{chart.key}"><h3>{escape(chart.title)}</h3>')
        parts.append(f'<p class="help">{escape(chart.help)}</p>{chart.div}</section>')
    names = [name for name in VERDICTS if name in found.verdicts]
    names += sorted(name for name in found.verdicts if name not in VERDICTS)
    known = {name: VERDICTS.get(name, (None, "not a verdict this version knows")) for name in names}
    rows = [
        (name, found.verdicts[name], {True: "ok", False: "not ok", None: "?"}[known[name][0]], known[name][1])
        for name in names
    ]
    parts.append('<div class="tables">' + _table(("verdict", "records", "ok", "meaning"), rows, _NUMBER))
    if found.reasons:
        parts.append(
            _table(("why not gone (most frequent)", "records"), found.reasons.most_common(15), {0: "id", 1: "n"})
        )
    parts.append("</div>")
    listed = found.listed(cap)
    if listed:
        more = found.not_gone - len(listed)
        shown = f"the first {len(listed):,}, the failed first; {more:,} more not listed" if more > 0 else "all"
        parts.append(f"<h3>Records not gone ({shown})</h3>{_not_gone_table(listed, found.files)}")
    parts.append("</section>")
    return "".join(parts)


def _figures(figures: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f"<div><b>{escape(value)}</b><span>{escape(name)}</span></div>" for name, value in figures)
    return f'<div class="totals">{cells}</div>'


def totals(summary: dict[str, Any] | None, agg: Aggregate) -> list[tuple[str, str]]:
    """The headline figures: the summary's when given (it knows requests, pauses, the exit status), else the
    result lines' own."""
    files = [("results files", f"{agg.files:,}")] if agg.files > 1 else []
    if summary is None:
        first, last = agg.first_second, agg.last_second
        span = last - first + 1 if first is not None and last is not None else None
        return [
            *files,
            ("records", f"{agg.lines:,}"),
            ("ok", f"{agg.ok:,}"),
            ("not ok", f"{agg.not_ok:,}"),
            ("time span", f"{span:,} s" if span is not None else "–"),
            ("records per second", f"{agg.lines / span:,.1f}" if span else "–"),
        ]
    lat = summary.get("latency_ms") or {}
    if lat.get("p50") is None:  # several shards' summaries: percentiles come from every result line
        lat = agg.latency_percentiles()
    items = [
        *files,
        ("records", f"{summary.get('records', agg.lines):,}"),
        ("ok", f"{summary.get('ok', agg.ok):,}"),
        ("not ok", f"{summary.get('not_ok', agg.not_ok):,}"),
        ("elapsed", f"{summary.get('elapsed_s', 0):,.1f} s"),
        ("records per second", f"{summary.get('rate_per_s', 0):,.1f}"),
        ("requests", f"{summary.get('requests', 0):,}"),
        ("throttled (429)", f"{summary.get('throttled', 0):,}"),
        ("retries", f"{summary.get('retries', 0):,}"),
        ("paused", f"{summary.get('paused_s', 0):,.1f} s"),
        ("latency p50 / p99", f"{lat.get('p50') or 0:,.1f} / {lat.get('p99') or 0:,.1f} ms"),
    ]
    if summary.get("rate_final") is not None:
        items.append(("rate held", f"{summary['rate_final']:,.1f}/s" if summary["rate_final"] else "unlimited"))
    if summary.get("unsent"):
        items.append(("unsent", f"{summary['unsent']:,}"))
    items.append(("exit status", str(summary.get("exit_code", "–"))))
    return items


def render_page(
    *,
    title: str,
    subtitle: str,
    head: str,
    script: str,
    charts: Sequence[Chart],
    figures: Sequence[tuple[str, str]],
    notes: Sequence[str],
    agg: Aggregate,
    footer: str,
    verification: str = "",
) -> str:
    """The whole page. ``head`` is bokeh's inlined resources, ``script`` the charts' data and wiring;
    ``verification`` the "Verification" part (``verification_part``), after the run's tables."""
    parts = [
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>',
        f'<meta name="viewport" content="width=device-width"><style>{_STYLE}</style>{head}</head><body>',
        f'<h1>{escape(title)}</h1><p class="sub">{escape(subtitle)}</p>',
        _figures(figures),
        *(f'<p class="note">{escape(note)}</p>' for note in notes),
    ]
    for chart in charts:
        parts.append(f'<section class="chart" id="{chart.key}"><h2>{escape(chart.title)}</h2>')
        parts.append(f'<p class="help">{escape(chart.help)}</p>{chart.div}</section>')
    parts.append('<h2>Outcomes and status codes</h2><div class="tables">')
    parts.append(_table(("outcome", "records"), agg.outcomes.most_common(), _NUMBER))
    parts.append(_table(("last status", "records"), agg.statuses.most_common(), _NUMBER))
    if agg.errors:
        parts.append(_table(("most frequent errors", "records"), agg.errors.most_common(15), {0: "id", 1: "n"}))
    parts.append("</div>")
    if agg.failed:
        shown = f"the first {len(agg.failed):,} of {agg.not_ok:,}" if agg.not_ok > len(agg.failed) else "all"
        parts.append(f"<h2>Records not ok ({shown})</h2>{_listed_table(agg.failed, agg.files)}")
    if agg.slowest:
        parts.append(f"<h2>The {len(agg.slowest)} slowest records</h2>{_listed_table(agg.slowest, agg.files)}")
    parts.append(verification)
    parts.append(f"<footer>{escape(footer)}</footer>{script}</body></html>")
    return "".join(parts)
