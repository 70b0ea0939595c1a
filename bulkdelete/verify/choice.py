"""Which check a verification round uses: per-id queries or one listing of the whole source (SPEC §13.1).

``--check ids`` asks for the pending ids themselves (``@uri==(…)``, at most 100 a query; Velt: 30 a request);
``--check scan`` lists the whole source and calls gone every pending id the complete listing did not return;
``--check auto`` (the default) takes, each round, whichever costs fewer queries::

    ids  ≈ ceil(pending / ids_per_query)  (+ pending with --children: each id found gone is asked for descendants)
    scan ≈ max(1, ceil(count / page_size)) + bounds_queries     count: one query, numberOfResults 0

The count is a query too: a round whose ids cost at most what the smallest scan (an empty source) plus that query
would cost asks nothing and takes ids, so a small verification sends exactly what it sent before ``--check``
existed. Ties go to ids. Velt has no count query: its ``auto`` is ids (``countable`` False); a Velt scan is asked
for with ``--check scan``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CheckMode(StrEnum):
    """``--check``: how a round looks for the pending ids."""

    IDS = "ids"
    SCAN = "scan"
    AUTO = "auto"


@dataclass(frozen=True, slots=True)
class QueryCosts:
    """The queries a round costs either way (an estimate from the counts; the choice is all it serves).

    ``ids_per_query``: ids a per-id query takes; ``page_size``: items a listing page returns; ``bounds_queries``:
    what a listing spends before its pages (the rowid bounds of its ranges); ``children``: ``--children``, which
    per-id checks pay with one more query per id found gone, and a scan reads from its listing for free.
    """

    ids_per_query: int = 100
    page_size: int = 1000
    bounds_queries: int = 2
    children: bool = False

    def __post_init__(self) -> None:
        if self.ids_per_query < 1 or self.page_size < 1 or self.bounds_queries < 0:
            raise ValueError("ids_per_query and page_size must be >= 1, bounds_queries >= 0")

    def ids(self, pending: int) -> int:
        """Queries to check ``pending`` ids one batch at a time (children: every id may be gone, one query each)."""
        return -(-pending // self.ids_per_query) + (pending if self.children else 0)

    def scan(self, count: int) -> int:
        """Queries to list a source of ``count`` items (an empty one still takes a page)."""
        return max(1, -(-count // self.page_size)) + self.bounds_queries

    def worth_counting(self, pending: int) -> bool:
        """Whether the count query can pay for itself: only when the ids cost more than it and the smallest scan."""
        return self.ids(pending) > 1 + self.scan(0)

    def choose(self, pending: int, count: int) -> CheckMode:
        """The cheaper check for ``pending`` ids in a source of ``count`` items (ids on a tie)."""
        return CheckMode.SCAN if self.scan(count) < self.ids(pending) else CheckMode.IDS


def round_check(mode: CheckMode, costs: QueryCosts, pending: int, count: int | None) -> CheckMode:
    """The check a round uses: ``mode`` unless it is ``auto``; then scan only when ``count`` is known (a count
    query answered) and the scan is cheaper."""
    if mode is not CheckMode.AUTO:
        return mode
    if count is None:
        return CheckMode.IDS
    return costs.choose(pending, count)
