"""``bulkdelete report RESULTS.jsonl ... [--summary FILE ...] [--verified FILE ...] -o REPORT.html``: a run as a
page to look at (SPEC §9); several results files are the shards of one job, drawn as one run (§12); verdict files
of its verification add a "Verification" part (§11).

The charts need the ``report`` extra (bokeh). Without it the command says how to install it and exits 2, before
reading anything. Messages go to stderr; stdout stays empty.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click
import orjson

from bulkdelete.output import console
from bulkdelete.output.summary import EXIT_USAGE

INSTALL_HINT = "the report needs its charting extra: pip install 'bulkdelete[report]'"


def _load_summary(path: Path) -> dict[str, Any]:
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise click.UsageError(f"--summary {path}: not a readable JSON summary ({exc})") from None
    if not isinstance(doc, dict):
        raise click.UsageError(f"--summary {path}: not a run summary (a JSON object is expected)")
    return doc


def _summary(paths: Sequence[Path]) -> dict[str, Any] | None:
    """The run's summary: none, the one given, or the shards' summaries added up (read one at a time)."""
    if not paths:
        return None
    if len(paths) == 1:
        return _load_summary(paths[0])
    from bulkdelete.report.summaries import merge_summaries

    def each() -> Iterator[dict[str, Any]]:
        for path in paths:
            yield _load_summary(path)

    return merge_summaries(each())


@click.command("report")
@click.argument(
    "results", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, allow_dash=False, path_type=Path)
)
@click.option(
    "--summary",
    "summary_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The run's --summary FILE: adds requests sent, the rate target, 429s, pauses and in-flight over time. "
    "Repeat it for a sharded job (one per results file): requests, 429s and the timelines are added up.",
)
@click.option(
    "--verified",
    "verified",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The verdict lines of the run's verification (verify -o FILE, delete --verify FILE): adds what is "
    "confirmed gone over time, the verdicts, and what is not gone and why. Repeatable, one per shard.",
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
def report_command(
    results: tuple[Path, ...],
    summary_paths: tuple[Path, ...],
    verified: tuple[Path, ...],
    output: Path,
    quota: float | None,
) -> None:
    """Write a run's results (and summary, and verdicts) as one HTML page with charts: opens offline, fetches nothing.
    Several RESULTS files are the shards of one job: drawn as one run.

    \b
    Examples:
      bulkdelete coveo delete ids.txt -o results.jsonl --summary summary.json --verify verdicts.jsonl
      bulkdelete report results.jsonl --summary summary.json --verified verdicts.jsonl -o report.html
      bulkdelete report shard-*.jsonl --summary summary-0.json --summary summary-1.json -o job.html
    """
    try:
        from bulkdelete.report import build_report  # imports bokeh, the extra
    except ImportError as exc:
        if exc.name is None or not exc.name.startswith("bokeh"):
            raise
        console.error(INSTALL_HINT)
        sys.exit(EXIT_USAGE)
    summary = _summary(summary_paths)
    facts = build_report(results, output, summary=summary, quota=quota, verified=verified)
    for note in facts.notes:
        console.warning(note)
    files = f"{facts.files} results files, " if facts.files > 1 else ""
    verdicts = f", {facts.verdicts:,} verdicts" if verified else ""
    console.info(
        f"report: {facts.path} ({facts.size_bytes / 1e6:.1f} MB, {files}{facts.lines:,} records{verdicts}, "
        f"{facts.charts} charts)"
    )
