"""``coveo delete --where EXPR`` (SPEC §13): what is listed becomes the deletion's input as it streams.

The listing's pages become chunks of ``Record`` (``WhereFeed``): each item's ``line`` is its number in the listing
(after ``--except``), so a result line points back at the listing as it points at an input file's line. Memory stays
flat: the listing asks a range's next page only once the engine took the previous one (``paging``).

``--shard I/N`` with ``--where``: every shard runs the same listing and keeps only the ids of its own shard by the
SPEC §12 hash rule (``input.shard``). The hash depends on the id alone, so N shards split the selection with no
overlap and no gap, whatever order each listing reads its pages in and even while the selection changes (an item
each listing saw goes to exactly one shard). The cost: N times the search queries. Items of other shards are
counted in ``other_shards``, never given a line.

The guards run before the first delete, from one count query (``totalCount`` of the whole selection, before
``--except`` and ``--shard``): ``count_line`` says it, ``over_max_delete`` refuses more than ``--max-delete``,
``question`` is what a terminal is asked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from bulkdelete.input.shard import Shard
from bulkdelete.records import Record
from bulkdelete.select.items import Listed
from bulkdelete.select.listing import Listing
from bulkdelete.select.report import selection_part

__all__ = ["WhereFeed", "count_line", "over_max_delete", "question", "selection_line", "selection_part"]


class WhereFeed:
    """``async for chunk in WhereFeed(pages, shard)``: the listed items as records, this shard's only.

    ``taken``: items seen (this shard's and the others'); ``other_shards``: those passed over as another shard's.
    ``aclose()`` closes the listing's pages (its queries in flight complete), whether or not the iteration ended.
    """

    def __init__(self, pages: AsyncIterator[list[Listed]], shard: Shard | None = None) -> None:
        self._pages = pages
        self._shard = shard
        self.taken = 0
        self.other_shards = 0

    def __repr__(self) -> str:
        return f"<WhereFeed taken={self.taken:,} other_shards={self.other_shards:,} shard={self._shard}>"

    async def __aiter__(self) -> AsyncIterator[list[Record]]:
        async for items in self._pages:
            first = self.taken + 1
            self.taken += len(items)
            records = [Record(item.id, line) for line, item in enumerate(items, first)]
            if self._shard is not None:
                owns = self._shard.owns
                kept = [record for record in records if owns(record)]
                self.other_shards += len(records) - len(kept)
                records = kept
            if records:
                yield records

    async def aclose(self) -> None:
        await self._pages.aclose()  # type: ignore[attr-defined]  # an async generator's: AsyncIterator has none


def count_line(total: int, source: str) -> str:
    """The count, said before anything is deleted."""
    return f"--where matches {total:,} items of source {source}"


def over_max_delete(total: int, max_delete: int | None, source: str) -> str | None:
    """Why the run refuses (more than ``--max-delete`` matching), or None."""
    if max_delete is None or total <= max_delete:
        return None
    return (
        f"--where matches {total:,} items of source {source}, more than --max-delete {max_delete:,}: nothing deleted "
        "(narrow the expression, or raise --max-delete)"
    )


def question(total: int, source: str, *, excepting: bool) -> str:
    """What a terminal is asked before the first delete (click adds `` [y/N]``)."""
    less = ", less the ids of --except" if excepting else ""
    return f"delete {total:,} items of source {source}{less}?"


def selection_line(listing: Listing, other_shards: int | None) -> str:
    """What the listing did, said after the run's summary (``other_shards``: None without ``--shard``)."""
    others = "" if other_shards is None else f", {other_shards:,} of other shards passed over"
    return (
        f"--where listed {listing.listed:,} items ({listing.excepted:,} excepted{others}) in {listing.queries:,} "
        "search queries"
    )
