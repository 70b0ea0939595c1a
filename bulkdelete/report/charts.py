"""The report's charts, drawn by bokeh (the ``report`` extra) on canvas; their x axes are linked (zoom one, all
follow) and show UTC wall-clock time.

Why bokeh (README, "Reading the report"): its BokehJS is inlined into the page at ~1 MB, so the page opens
offline and stays small; plotly's inlined library is ~4.6 MB and rendered the same four charts about twice as slowly
in headless Chromium here; matplotlib would give still pictures with no zoom or hover over a run of hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bokeh.models import ColumnDataSource, DataRange1d, HoverTool, LinearAxis, Range1d
from bokeh.plotting import figure

from bulkdelete.report.series import DecidedSeries, TimelineSeries
from bulkdelete.report.verified import VerdictSeries

COLORS = {
    "accepted": "#2b8cbe",
    "batched": "#4eb3d3",
    "deleted": "#41ab5d",
    "not_found": "#a1d99b",
    "planned": "#bcbddc",
    "skipped": "#d9d9d9",
    "duplicate": "#969696",
    "invalid": "#fd8d3c",
    "failed": "#d7301f",
}
VERDICT_COLORS = {
    "gone": "#41ab5d",
    "failed": "#d7301f",
    "present": "#fd8d3c",
    "unknown": "#969696",
    "not_deleted": "#807dba",
}
_TOOLS = "xpan,xwheel_zoom,box_zoom,reset,save"


def _figure(y_label: str, x_range: Any | None) -> Any:
    """A chart without a title of its own: the page's heading above it names it."""
    fig = figure(
        x_axis_type="datetime",
        x_axis_label="time (UTC)",
        y_axis_label=y_label,
        height=280,
        sizing_mode="stretch_width",
        tools=_TOOLS,
        output_backend="canvas",
        **({"x_range": x_range} if x_range is not None else {}),
    )
    fig.toolbar.logo = None
    fig.y_range = DataRange1d(start=0)
    return fig


def _finish(fig: Any) -> Any:
    """Hover, and the legend in one row above the plot: inside, it hid the start of the run; beside it, legends of
    different widths put the linked time axes out of line."""
    legend = fig.legend[0]
    legend.click_policy = "hide"  # click a legend entry to hide that series
    legend.orientation = "horizontal"
    legend.location = "top_left"
    fig.center.remove(legend)
    fig.add_layout(legend, "above")
    fig.add_tools(HoverTool(tooltips=[("time", "$x{%F %T}"), ("value", "$y{0,0.0}")], formatters={"$x": "datetime"}))
    return fig


def decided_chart(
    decided: DecidedSeries, timeline: TimelineSeries, quota: float | None, x_range: Any | None = None
) -> Any:
    """Records decided per second, stacked by outcome, against requests sent, the rate target and the quota."""
    fig = _figure("per second", x_range)
    if decided.x_ms:
        names = list(decided.outcomes)
        source = ColumnDataSource({"x": decided.x_ms, **decided.outcomes})
        fig.varea_stack(
            stackers=names,
            x="x",
            source=source,
            color=[COLORS.get(name, "#636363") for name in names],
            legend_label=names,
            alpha=0.8,
        )
    elif timeline.x_ms:  # no ts on the result lines: the summary's ok / not ok counts instead
        source = ColumnDataSource({"x": timeline.x_ms, "ok": timeline.ok, "not ok": timeline.not_ok})
        fig.varea_stack(stackers=["ok", "not ok"], x="x", source=source, color=["#41ab5d", "#d7301f"],
                        legend_label=["ok", "not ok"], alpha=0.8)  # fmt: skip
    if timeline.x_ms:
        fig.line(timeline.x_ms, timeline.sent, color="#252525", line_width=1.5, legend_label="requests sent")
        targets = [float("nan") if rate is None else rate for rate in timeline.rate_target]
        fig.step(timeline.x_ms, targets, mode="after", color="#6a51a3", line_width=2, line_dash="dashed",
                 legend_label="rate target")  # fmt: skip
    xs = decided.x_ms or timeline.x_ms
    if quota is not None and xs:
        fig.line([xs[0], xs[-1]], [quota, quota], color="#cb181d", line_width=2, line_dash="dotted",
                 legend_label=f"quota {quota:g}/s")  # fmt: skip
    return _finish(fig)


def throttle_chart(decided: DecidedSeries, timeline: TimelineSeries, x_range: Any | None = None) -> Any:
    """429s and retries per second, and the share of each second that every worker spent paused."""
    fig = _figure("per second", x_range)
    if timeline.x_ms:
        xs, throttled, retries = timeline.x_ms, timeline.throttled, timeline.retries
        width_ms = (xs[1] - xs[0]) if len(xs) > 1 else 1000.0
        fig.extra_y_ranges = {"paused": Range1d(start=0, end=1.05)}
        fig.add_layout(LinearAxis(y_range_name="paused", axis_label="seconds paused per second"), "right")
        fig.vbar(x=[x + width_ms / 2 for x in xs], top=timeline.paused, width=width_ms * 0.9, y_range_name="paused",
                 color="#bdbdbd", alpha=0.7, legend_label="paused (right axis)")  # fmt: skip
        label_429, label_retries = "429s received", "retries sent"
    else:
        xs, throttled, retries = decided.x_ms, decided.throttled, decided.retries
        label_429, label_retries = "records failed on a 429", "retries (attempts beyond the first)"
    fig.line(xs, throttled, color="#cb181d", line_width=2, legend_label=label_429)
    fig.line(xs, retries, color="#fd8d3c", line_width=1.5, legend_label=label_retries)
    return _finish(fig)


def latency_chart(decided: DecidedSeries, x_range: Any | None = None) -> Any:
    """Latency of the last attempt, p50 and p99 of the records decided in each second."""
    fig = _figure("milliseconds", x_range)
    source = ColumnDataSource({"x": decided.x_ms, "p50": _nan(decided.p50), "p99": _nan(decided.p99)})
    fig.line("x", "p50", source=source, color="#2171b5", line_width=2, legend_label="p50")
    fig.line("x", "p99", source=source, color="#ef6548", line_width=1.5, legend_label="p99")
    return _finish(fig)


def in_flight_chart(timeline: TimelineSeries, x_range: Any | None = None) -> Any:
    """Requests in flight (sent, not yet answered), read once per second."""
    fig = _figure("requests", x_range)
    fig.step(timeline.x_ms, timeline.in_flight, mode="after", color="#238b45", line_width=1.5, legend_label="in flight")
    return _finish(fig)


def verification_chart(verdicts: VerdictSeries) -> Any:
    """Verdicts given so far, stacked: ``gone`` at the bottom (the records confirmed gone), the others on top. Its
    own time axis: a verification runs minutes after the deletes, and its ids are checked again and again."""
    fig = _figure("records (cumulative)", None)
    names = list(verdicts.cumulative)
    source = ColumnDataSource({"x": verdicts.x_ms, **verdicts.cumulative})
    fig.varea_stack(
        stackers=names,
        x="x",
        source=source,
        color=[VERDICT_COLORS.get(name, "#636363") for name in names],
        legend_label=names,
        alpha=0.8,
    )
    return _finish(fig)


def _nan(values: Sequence[float | None]) -> list[float]:
    return [float("nan") if value is None else value for value in values]
