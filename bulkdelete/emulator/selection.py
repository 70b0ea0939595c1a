"""Evaluate a query against the store fast enough for keyset paging: ``select(...)`` → ``Matches``.

The plan: the top-level AND's ``@rowid`` bounds become a row range (rowid = ``ROWID_BASE`` + row, rows in rowid
order), so ``@source=="S" @rowid>X @rowid<=Y`` never looks outside ``(X, Y]``. The rest is a predicate. Candidates:
an ``@uri==``/``@uri*=`` term of that AND reads the uri index (a few rows: evaluated each time); otherwise the rows of
its ``@source==`` sources, or every row, and the matching rows are kept in a ``Selection`` (cached per query without
its rowid bounds, ``SelectionCache``). Rows never change, only die: a selection brings itself up to date by
evaluating the rows added since and replaying the store's ``dead_log``, so a 300,000-item listing costs one
evaluation of its source plus a bisect and a page per query, and ``totalCount`` is exact (live matches in range).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bulkdelete.emulator.predicates import Pred, compile_node
from bulkdelete.emulator.query import And, Node, Term, is_relative
from bulkdelete.emulator.store import ROWID_BASE, DocumentStore

SELECTIONS_KEPT = 8
"""Selections cached (each up to 8 bytes a row)."""
URI_CANDIDATES_MAX = 10_000
"""A ``@uri*=`` prefix matching more ids than this is evaluated as a cached selection, not from the uri index."""


class Selection:
    """The rows matching one predicate (over candidate sources), kept current as the store grows and deletes."""

    __slots__ = ("_dead", "_dead_seen", "_dead_sorted", "_pred", "_upto", "rows")

    def __init__(self, store: DocumentStore, pred: Pred | None, sources: frozenset[str] | None) -> None:
        self._pred = pred
        self.rows = array("q")
        self._dead: list[int] = []
        self._dead_sorted = True
        candidates: Iterable[int]
        if sources is None:
            candidates = range(len(store.row_ids))
        else:
            candidates = sorted(row for source in sources for row in store.source_rows(source))
        live = [row for row in candidates if store.is_live(row)]
        self.rows.extend(live if pred is None else filter(pred, live))
        self._upto, self._dead_seen = len(store.row_ids), len(store.dead_log)

    def _matches(self, row: int) -> bool:
        # The predicate holds the @source term itself: ``sources`` only narrowed the first evaluation.
        return self._pred is None or self._pred(row)

    def refresh(self, store: DocumentStore) -> None:
        """Take in the rows added and the deaths logged since the last look (rows never change)."""
        for row in range(self._upto, len(store.row_ids)):
            if self._matches(row):  # dead or alive: a death is replayed below either way
                self.rows.append(row)
        self._upto = len(store.row_ids)
        log = store.dead_log
        for index in range(self._dead_seen, len(log)):
            row = log[index]
            if self._matches(row):
                self._dead.append(row)
                self._dead_sorted = False
        self._dead_seen = len(log)

    def count(self, lo: int, hi: int) -> int:
        """Live matching rows in ``[lo, hi)``."""
        if not self._dead_sorted:
            self._dead.sort()
            self._dead_sorted = True
        rows, dead = self.rows, self._dead
        return bisect_left(rows, hi) - bisect_left(rows, lo) - (bisect_left(dead, hi) - bisect_left(dead, lo))

    def first_rows(self, store: DocumentStore, lo: int, hi: int, limit: int, descending: bool) -> list[int]:
        """The first ``limit`` live matching rows of ``[lo, hi)``, in row order (or reversed)."""
        rows, out = self.rows, list[int]()
        if descending:
            index = bisect_left(rows, hi) - 1
            while index >= 0 and rows[index] >= lo and len(out) < limit:
                if store.is_live(rows[index]):
                    out.append(rows[index])
                index -= 1
        else:
            index = bisect_left(rows, lo)
            while index < len(rows) and rows[index] < hi and len(out) < limit:
                if store.is_live(rows[index]):
                    out.append(rows[index])
                index += 1
        return out

    def all_rows(self, store: DocumentStore, lo: int, hi: int) -> Iterable[int]:
        rows = self.rows
        return (row for row in rows[bisect_left(rows, lo) : bisect_left(rows, hi)] if store.is_live(row))


SelectionCache = OrderedDict[tuple[Any, ...], Selection]


@dataclass(frozen=True, slots=True)
class Matches:
    """What a query matched: ``total`` live documents; ``rows(limit, order)`` the first of them."""

    total: int
    rows: Callable[[int, str], list[int]]


def select(
    store: DocumentStore,
    node: Node,
    now_ms: int,
    cache: SelectionCache,
    hidden: set[str] | None = None,
) -> Matches:
    """The documents ``node`` matches, less the ids in ``hidden`` (secured ones, without viewAllContent).

    ``rows(limit, order)``: ``order`` is ``"ascending"``/``"descending"`` (by rowid) or ``"uri"``.
    """
    terms: list[Node] = list(node.children) if isinstance(node, And) else [node]
    lo, hi, rest = _bounds(terms, len(store.row_ids))
    residual: Node | None = None if not rest else rest[0] if len(rest) == 1 else And(tuple(rest))
    pred = None if residual is None else compile_node(residual, store, now_ms)
    if hidden:
        inner = pred
        pred = lambda row: store.row_ids[row] not in hidden and (inner is None or inner(row))  # noqa: E731
    uri_rows = _uri_candidates(store, rest)
    if uri_rows is not None:
        found = sorted(row for row in uri_rows if lo <= row < hi and (pred is None or pred(row)))
        return Matches(len(found), lambda limit, order: _ordered(store, found, limit, order))
    sources = _source_candidates(store, rest)
    relative = residual is not None and is_relative(residual)
    # ``hidden`` is the state's one set of secured ids: known by identity and size, not copied every query.
    key = (residual, now_ms // 1000 if relative else None, (id(hidden), len(hidden)) if hidden else None)
    selection = cache.get(key)
    if selection is None:
        selection = cache[key] = Selection(store, pred, sources)
        while len(cache) > SELECTIONS_KEPT:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
        selection.refresh(store)
    chosen = selection

    def rows(limit: int, order: str) -> list[int]:
        if order == "uri":
            return _ordered(store, list(chosen.all_rows(store, lo, hi)), limit, order)
        return chosen.first_rows(store, lo, hi, limit, order == "descending")

    return Matches(selection.count(lo, hi), rows)


def _ordered(store: DocumentStore, rows: list[int], limit: int, order: str) -> list[int]:
    if order == "uri":
        rows = sorted(rows, key=store.row_ids.__getitem__)
    elif order == "descending":
        rows = rows[::-1]
    return rows[:limit]


def _bounds(terms: list[Node], row_count: int) -> tuple[int, int, list[Node]]:
    """``[lo, hi)`` in rows from the single-valued ``@rowid`` comparisons of ``terms``, and the other terms."""
    lo, hi, rest = 0, row_count, []
    for term in terms:
        if not (isinstance(term, Term) and term.field == "rowid" and len(term.values) == 1):
            rest.append(term)
            continue
        try:
            row = int(term.values[0].text) - ROWID_BASE
        except ValueError:
            rest.append(term)  # compiled with the rest: its error names the value
            continue
        if term.op == ">":
            lo = max(lo, row + 1)
        elif term.op == ">=":
            lo = max(lo, row)
        elif term.op == "<":
            hi = min(hi, row)
        elif term.op == "<=":
            hi = min(hi, row + 1)
        elif term.op in ("==", "="):
            lo, hi = max(lo, row), min(hi, row + 1)
        else:
            rest.append(term)
    lo, hi = max(lo, 0), min(hi, row_count)
    return lo, max(hi, lo), rest  # an empty range is [lo, lo)


def _uri_candidates(store: DocumentStore, terms: list[Node]) -> set[int] | None:
    """Rows of the live ids an ``@uri==``/``@uri*=`` term can match (a superset: the term is still checked), or
    None when there is no such term or its prefixes reach more than ``URI_CANDIDATES_MAX`` ids (``@uri*="https://*"``
    in a listing's expression: a selection, cached, costs less than reading the index every page)."""
    for term in terms:
        if isinstance(term, Term) and term.field == "uri" and term.op in ("==", "*="):
            rows: set[int] = set()
            for value in term.values:
                text = value.text
                cut = min((i for i in (text.find("*"), text.find("?")) if i >= 0), default=-1)
                if term.op == "==" or cut < 0:
                    ids = store.ids_folded(text)
                else:
                    ids = store.ids_folded(text[:cut], prefix=True, limit=URI_CANDIDATES_MAX + 1)
                if len(ids) > URI_CANDIDATES_MAX:
                    return None
                rows.update(row for row in map(store.row_of, ids) if row is not None)
            return rows
    return None


def _source_candidates(store: DocumentStore, terms: list[Node]) -> frozenset[str] | None:
    """The stored sources an ``@source==`` term can match (case-insensitively), or None: every row."""
    for term in terms:
        if isinstance(term, Term) and term.field == "source" and term.op == "==":
            wanted = {value.text.lower() for value in term.values}
            return frozenset(name for name in store.sources() if name.lower() in wanted)
    return None
