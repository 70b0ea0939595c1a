"""``bulkdelete report``: a run as one self-contained HTML page (SPEC §9), from its results file (and its summary).

::

    results.jsonl ─► aggregate (one streamed pass) ─► per-second series ─► bokeh charts ─┐
    summary.json (optional: timeline, totals) ───────────────────────────────────────────┴─► page.html

Importing this package needs the ``report`` extra (bokeh); ``bulkdelete.cli.report`` checks for it first.
"""

from __future__ import annotations

from bulkdelete.report.build import MAX_PAGE_BYTES, ReportFacts, build_report

__all__ = ["MAX_PAGE_BYTES", "ReportFacts", "build_report"]
