"""``bulkdelete report``: a run as one self-contained HTML page (SPEC §9), from its results files (the shards of one
job are one run, §12), its summaries and its verification's verdicts (§11).

::

    results.jsonl ... ─► aggregate (one streamed pass) ─► per-second series ─► bokeh charts ─┐
    summary.json ... ─► merge_summaries (when several) ─► timeline, totals ───────────────────┤
    verdicts.jsonl ... ─► read_verdicts (one streamed pass) ─► verdicts over time, tables ────┴─► page.html

Importing this package needs the ``report`` extra (bokeh); ``bulkdelete.cli.report`` checks for it first.
"""

from __future__ import annotations

from bulkdelete.report.build import MAX_PAGE_BYTES, ReportFacts, build_report
from bulkdelete.report.summaries import merge_summaries
from bulkdelete.report.verified import Verification, log_reason, read_verdicts

__all__ = [
    "MAX_PAGE_BYTES",
    "ReportFacts",
    "Verification",
    "build_report",
    "log_reason",
    "merge_summaries",
    "read_verdicts",
]
