"""The documents the emulator holds: one shared set of ids, with a sorted index for ``deleteChildren``."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from pathlib import Path


def read_doc_ids(path: str | Path) -> Iterator[str]:
    """Yield the ids of a ``--docs`` file: one per line, trimmed; blank lines and ``#`` comments skipped."""
    with open(path, encoding="utf-8-sig") as handle:
        for line in handle:
            doc_id = line.strip()
            if doc_id and not doc_id.startswith("#"):
                yield doc_id


class DocumentStore:
    """Live document ids, O(1) membership, and a prefix scan for descendants.

    The sorted index holds every id ever stored (deleted ones included: removing from the middle of a
    million-entry list on every delete would cost more than skipping dead entries during the rare child
    scan). New ids wait in ``_pending`` and are merged into the index before the next scan.

    The Search API matches ``@uri`` case-insensitively: ``_folded`` indexes the lower-cased ids the same way, built
    on the first such lookup only. An id that is its own lower case is its own key (no copy); the others are
    found through ``_spellings`` (lower case → the ids spelled so).
    """

    __slots__ = ("_folded", "_index", "_live", "_pending", "_spellings")

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._live: set[str] = set(ids)
        self._index: list[str] = sorted(self._live)
        self._pending: list[str] = []
        self._folded: _SortedIndex | None = None
        self._spellings: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._live

    def __repr__(self) -> str:
        return f"<DocumentStore live={len(self._live)} indexed={len(self._index)}>"

    def add(self, doc_id: str) -> None:
        """Store one id (no-op when present)."""
        if doc_id not in self._live:
            self._live.add(doc_id)
            self._pending.append(doc_id)
            if self._folded is not None:
                self._fold(doc_id)

    def add_many(self, ids: Iterable[str]) -> int:
        """Store ids; return how many were new."""
        before = len(self._live)
        for doc_id in ids:
            self.add(doc_id)
        return len(self._live) - before

    def delete(self, doc_id: str, children: bool = False) -> int:
        """Remove ``doc_id`` and, with ``children``, ids starting with ``doc_id + "/"``; return the count."""
        removed = 0
        live = self._live
        if doc_id in live:
            live.remove(doc_id)
            removed = 1
        if children:
            for child in self._scan(doc_id + "/"):
                if child in live:
                    live.remove(child)
                    removed += 1
        return removed

    def clear(self) -> int:
        """Remove every document; return how many there were."""
        count = len(self._live)
        self._live.clear()
        return count

    def ids(self, prefix: str = "", limit: int | None = None) -> list[str]:
        """Live ids starting with ``prefix``, sorted."""
        out: list[str] = []
        for doc_id in self._scan(prefix):
            if doc_id in self._live:
                out.append(doc_id)
                if limit is not None and len(out) >= limit:
                    break
        return out

    def ids_folded(self, key: str, prefix: bool = False) -> list[str]:
        """Live ids whose lower case equals ``key.lower()`` (or starts with it, with ``prefix``), sorted by their
        lower case: the stored spellings, whatever the case of ``key``."""
        if self._folded is None:
            self._folded = _SortedIndex([])
            self._spellings = {}
            for doc_id in self._live:
                self._fold(doc_id)
        key = key.lower()
        keys = self._folded.scan(key) if prefix else ([key] if key in self._folded.members else [])
        out: list[str] = []
        for lower in keys:
            spellings = self._spellings.get(lower, ())
            out.extend(doc_id for doc_id in dict.fromkeys((lower, *spellings)) if doc_id in self._live)
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

    def scan(self, prefix: str) -> list[str]:
        if self._pending:
            self._sorted.extend(self._pending)
            self._sorted.sort()
            self._pending.clear()
        return list(_scan_sorted(self._sorted, prefix))


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
