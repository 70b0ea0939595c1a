"""``bulkdelete report RESULTS.jsonl [--summary FILE] -o REPORT.html``: a run as a page to look at (SPEC §9).

The charts need the ``report`` extra (bokeh). Without it the command says how to install it and exits 2, before
reading anything. Messages go to stderr; stdout stays empty.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import orjson

from bulkdelete.output import console
from bulkdelete.output.summary import EXIT_USAGE

INSTALL_HINT = "the report needs its charting extra: pip install 'bulkdelete[report]'"


def _load_summary(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise click.UsageError(f"--summary {path}: not a readable JSON summary ({exc})") from None
    if not isinstance(doc, dict):
        raise click.UsageError(f"--summary {path}: not a run summary (a JSON object is expected)")
    return doc


@click.command("report")
@click.argument("results", type=click.Path(exists=True, dir_okay=False, allow_dash=False, path_type=Path))
@click.option(
    "--summary",
    "summary_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The run's --summary FILE: adds requests sent, the rate target, 429s, pauses and in-flight over time.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="REPORT.html",
    help="Where to write the page (one self-contained HTML file).",
)
@click.option(
    "--quota",
    type=click.FloatRange(min=0, min_open=True),
    metavar="R",
    help="Draw the API's quota (requests per second) on the rate chart  [default: the rate at which --rate auto "
    "saw the API throttle, when the summary knows it].",
)
def report_command(results: Path, summary_path: Path | None, output: Path, quota: float | None) -> None:
    """Write a run's results (and summary) as one HTML page with charts: opens offline, fetches nothing.

    \b
    Examples:
      bulkdelete coveo delete ids.txt -o results.jsonl --summary summary.json
      bulkdelete report results.jsonl --summary summary.json -o report.html
    """
    try:
        from bulkdelete.report import build_report  # imports bokeh, the extra
    except ImportError as exc:
        if exc.name is None or not exc.name.startswith("bokeh"):
            raise
        console.error(INSTALL_HINT)
        sys.exit(EXIT_USAGE)
    summary = _load_summary(summary_path)
    facts = build_report(results, output, summary=summary, quota=quota)
    for note in facts.notes:
        console.warning(note)
    console.info(
        f"report: {facts.path} ({facts.size_bytes / 1e6:.1f} MB, {facts.lines:,} records, {facts.charts} charts)"
    )
