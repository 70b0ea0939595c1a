"""The documents the emulator holds: one shared set of ids, with a sorted index for ``deleteChildren``, and each
document's metadata (row) for the Search API and Velt's listing.

Rows: every document added gets the next row, in load/add order, and with it a ``rowid`` of ``ROWID_BASE + row``:
above 2^53, so a client that reads it as a float loses exactness. A row never changes; a document deleted and added
again gets a new row. Metadata is held in parallel arrays indexed by row (no object per document): id, source name
(one shared string per source), ``date`` and ``indexeddate`` (epoch ms), and a dict only for documents that carry
extra fields. ``dead_log`` lists rows in the order they were deleted (each once): what a cached selection replays.
What a document is, and the ``--docs`` reader, are in ``docs`` (re-exported here).
"""

from __future__ import annotations

import itertools
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from bulkdelete.emulator.docs import DEFAULT_SOURCE as DEFAULT_SOURCE
from bulkdelete.emulator.docs import Doc as Doc
from bulkdelete.emulator.docs import DocSpec as DocSpec
from bulkdelete.emulator.docs import doc_from_json as doc_from_json
from bulkdelete.emulator.docs import read_doc_ids as read_doc_ids
from bulkdelete.emulator.docs import read_docs as read_docs

ROWID_BASE = 2**53 + 1000
"""The rowid of row 0. Every rowid is above 2^53: not exactly representable as a float."""


def wall_ms() -> int:
    return int(time.time() * 1000)


class DocumentStore:
    """Live document ids, O(1) membership, a prefix scan for descendants, and rows of metadata.

    The sorted index holds every id ever stored (deleted ones included: removing from the middle of a
    million-entry list on every delete would cost more than skipping dead entries during the rare child
    scan). New ids wait in ``_pending`` and are merged into the index before the next scan.

    The Search API matches ``@uri`` case-insensitively: ``_folded`` indexes the lower-cased ids the same way, built
    on the first such lookup only. An id that is its own lower case is its own key (no copy); the others are
    found through ``_spellings`` (lower case → the ids spelled so).

    ``clock_ms``: the time a document added without a date is dated (epoch ms; the emulator's wall clock).
    """

    __slots__ = (
        "_by_source",
        "_dates",
        "_extra",
        "_folded",
        "_index",
        "_indexed",
        "_names",
        "_pending",
        "_row_of",
        "_source_dead",
        "_sources",
        "_spellings",
        "clock_ms",
        "dead_log",
        "row_ids",
    )

    def __init__(self, docs: Iterable[Doc] = (), clock_ms: Callable[[], int] = wall_ms) -> None:
        self.clock_ms = clock_ms
        self._row_of: dict[str, int] = {}
        self.row_ids: list[str] = []
        self._sources: list[str] = []
        self._dates = array("q")
        self._indexed = array("q")
        self._extra: dict[int, dict[str, Any]] = {}
        self._by_source: dict[str, array[int]] = {}
        self._source_dead: dict[str, int] = {}
        self._names: dict[str, str] = {}
        self.dead_log = array("q")
        self._folded: _SortedIndex | None = None
        self._spellings: dict[str, list[str]] = {}
        now = clock_ms()
        for doc in docs:
            self._add_row(doc, now)
        self._index: list[str] = sorted(self._row_of)
        self._pending: list[str] = []

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._row_of

    def __repr__(self) -> str:
        return f"<DocumentStore live={len(self._row_of)} rows={len(self.row_ids)} indexed={len(self._index)}>"

    def add(self, doc: Doc) -> bool:
        """Store one document (no-op when its id is present: it keeps its row); return whether it was new."""
        if self._add_row(doc, None):
            doc_id = doc if isinstance(doc, str) else doc.id
            self._pending.append(doc_id)
            if self._folded is not None:
                self._fold(doc_id)
            return True
        return False

    def add_many(self, docs: Iterable[Doc]) -> int:
        """Store documents; return how many were new."""
        return sum(1 for doc in docs if self.add(doc))

    def _add_row(self, doc: Doc, now: int | None) -> bool:
        """Append ``doc``'s row (``now``: the date of an undated one; None: ``clock_ms()``); False when present."""
        if isinstance(doc, str):  # the common case, a million times at start-up: no DocSpec made
            doc_id, source, date, indexed = doc, DEFAULT_SOURCE, None, None
        else:
            doc_id, source, date, indexed = doc.id, doc.source, doc.date, doc.indexeddate
        if doc_id in self._row_of:
            return False
        stamp = 0
        if date is None or indexed is None:
            stamp = self.clock_ms() if now is None else now
        row = len(self.row_ids)
        self._row_of[doc_id] = row
        self.row_ids.append(doc_id)
        rows = self._by_source.get(source)
        if rows is None:
            rows = self._by_source[source] = array("q")
            self._source_dead[source] = 0
            self._names[source] = source
        rows.append(row)
        self._sources.append(self._names[source])  # one shared string per source
        self._dates.append(stamp if date is None else date)
        self._indexed.append(stamp if indexed is None else indexed)
        if not isinstance(doc, str) and doc.fields:
            self._extra[row] = dict(doc.fields)
        return True

    def delete(self, doc_id: str, children: bool = False) -> int:
        """Remove ``doc_id`` and, with ``children``, ids starting with ``doc_id + "/"``; return the count."""
        removed = self._kill(doc_id)
        if children:
            for child in self._scan(doc_id + "/"):
                removed += self._kill(child)
        return removed

    def _kill(self, doc_id: str) -> int:
        row = self._row_of.pop(doc_id, None)
        if row is None:
            return 0
        self.dead_log.append(row)
        self._source_dead[self._sources[row]] += 1
        return 1

    def clear(self) -> int:
        """Remove every document; return how many there were."""
        count = len(self._row_of)
        for doc_id in list(self._row_of):
            self._kill(doc_id)
        return count

    def ids(self, prefix: str = "", limit: int | None = None) -> list[str]:
        """Live ids starting with ``prefix``, sorted."""
        out: list[str] = []
        for doc_id in self._scan(prefix):
            if doc_id in self._row_of:
                out.append(doc_id)
                if limit is not None and len(out) >= limit:
                    break
        return out

    # Rows: what the Search API and Velt's listing read.

    def row_of(self, doc_id: str) -> int | None:
        """The live row of ``doc_id``, or None when it is not stored."""
        return self._row_of.get(doc_id)

    def is_live(self, row: int) -> bool:
        return self._row_of.get(self.row_ids[row]) == row

    def source_of(self, row: int) -> str:
        return self._sources[row]

    def date_of(self, row: int) -> int:
        return self._dates[row]

    def indexeddate_of(self, row: int) -> int:
        return self._indexed[row]

    def extra_of(self, row: int) -> dict[str, Any]:
        return self._extra.get(row, _NO_FIELDS)

    def source_rows(self, source: str) -> array[int]:
        """Every row of ``source`` ever added (dead ones included), in row order."""
        return self._by_source.get(source, _NO_ROWS)

    def sources(self) -> dict[str, int]:
        """Every source ever seen → its live document count."""
        return {name: len(rows) - self._source_dead[name] for name, rows in self._by_source.items()}

    def ids_folded(self, key: str, prefix: bool = False, limit: int | None = None) -> list[str]:
        """Live ids whose lower case equals ``key.lower()`` (or starts with it, with ``prefix``), sorted by their
        lower case: the stored spellings, whatever the case of ``key``. ``limit``: at most this many lower-cased
        keys are read (the ids may be a few more: the spellings of the last)."""
        if self._folded is None:
            self._folded = _SortedIndex([])
            self._spellings = {}
            for doc_id in self._row_of:
                self._fold(doc_id)
        key = key.lower()
        keys = self._folded.scan(key, limit) if prefix else ([key] if key in self._folded.members else [])
        out: list[str] = []
        for lower in keys:
            spellings = self._spellings.get(lower, ())
            out.extend(doc_id for doc_id in dict.fromkeys((lower, *spellings)) if doc_id in self._row_of)
        return out

    def _fold(self, doc_id: str) -> None:
        lower = doc_id.lower()
        assert self._folded is not None
        self._folded.add(lower)
        if lower != doc_id:
            spellings = self._spellings.setdefault(lower, [])
            if doc_id not in spellings:  # re-added after a delete
                spellings.append(doc_id)

    def _scan(self, prefix: str) -> Iterator[str]:
        if self._pending:
            # Timsort merges the appended run with the sorted index in about linear time.
            self._index.extend(self._pending)
            self._index.sort()
            self._pending.clear()
        yield from _scan_sorted(self._index, prefix)


_NO_FIELDS: dict[str, Any] = {}
_NO_ROWS = array("q")


class _SortedIndex:
    """Keys ever added, sorted on demand; ``members`` for O(1) lookups (keys are never removed)."""

    __slots__ = ("_pending", "_sorted", "members")

    def __init__(self, keys: list[str]) -> None:
        self.members = set(keys)
        self._sorted = sorted(self.members)
        self._pending: list[str] = []

    def add(self, key: str) -> None:
        if key not in self.members:
            self.members.add(key)
            self._pending.append(key)

    def scan(self, prefix: str, limit: int | None = None) -> list[str]:
        if self._pending:
            self._sorted.extend(self._pending)
            self._sorted.sort()
            self._pending.clear()
        return list(itertools.islice(_scan_sorted(self._sorted, prefix), limit))


def _scan_sorted(index: list[str], prefix: str) -> Iterator[str]:
    """Entries of the sorted ``index`` starting with ``prefix``, each once."""
    last = None
    for i in range(bisect_left(index, prefix), len(index)):
        doc_id = index[i]
        if not doc_id.startswith(prefix):
            return
        if doc_id != last:  # an id deleted then re-added sits twice in the index
            last = doc_id
            yield doc_id
