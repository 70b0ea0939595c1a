"""The rowid space of a Coveo listing, cut into ranges paged at once (SPEC §13), kept balanced as they end.

Keyset paging is sequential: a range reads one page per round trip. ``RangePlan`` cuts ``(lowest - 1, highest]``
into ``n`` half-open ranges ``(after, upper]`` of equal rowid span; each is paged from its ``after`` up. When a range
ends while another still holds many items, the one expected to hold most is cut in two (at the middle of what it
has left), so that enough ranges stay in flight until the end instead of one long range finishing alone.

Ranges never overlap and together cover the whole space at every moment: every rowid belongs to exactly one range,
so every item is listed exactly once. A page asked before its range was cut may answer rowids past its new upper
bound: they belong to the new range and are left to it (``Range.take``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(slots=True, eq=False)
class Range:
    """Rowids ``(after, upper]`` still to read; ``lower``: where it began, ``seen``: items read since."""

    after: int
    upper: int
    lower: int
    seen: int = 0
    done: bool = False

    def __repr__(self) -> str:
        return f"<Range ({self.after}, {self.upper}] seen={self.seen} done={self.done}>"

    def left(self, density: float) -> float:
        """Items expected still to read: the span left times this range's own density once it has read some
        (``density``, the whole selection's, before)."""
        covered = self.after - self.lower
        own = self.seen / covered if covered > 0 and self.seen else density
        return (self.upper - self.after) * own

    def take(self, after: int, rowids: Sequence[int], asked: int) -> tuple[int, int]:
        """A page asked from ``after`` for ``asked`` items answered ``rowids`` (ascending): the slice ``[start,
        stop)`` of them this range keeps; moves the range on, or ends it (a short page, or its upper bound
        reached)."""
        start = 0
        while start < len(rowids) and rowids[start] <= after:  # never again what the range has passed
            start += 1
        stop = start
        while stop < len(rowids) and rowids[stop] <= self.upper:
            stop += 1
        self.seen += stop - start
        if len(rowids) < asked or stop < len(rowids) or not rowids or rowids[-1] >= self.upper:
            self.done = True
        else:
            self.after = rowids[-1]
        return start, stop


class RangePlan:
    """The ranges of one listing. ``target``: how many to keep open while worth it (cut ranges as others end);
    ``min_items``: a range is cut only when expected to hold at least that many items (two pages)."""

    def __init__(self, lowest: int, highest: int, total: int, n: int, *, min_items: int) -> None:
        if highest < lowest:
            raise ValueError(f"highest rowid {highest} < lowest {lowest}")
        span = highest - lowest + 1
        n = max(1, min(n, span))
        self.density = total / span if total > 0 else 1.0
        self.min_items = min_items
        self.target = n
        start = lowest - 1
        bounds = [start + span * k // n for k in range(n + 1)]
        self.ranges = [Range(a, b, a) for a, b in itertools.pairwise(bounds)]

    def __repr__(self) -> str:
        return f"<RangePlan open={len(self.open)} target={self.target} density={self.density:.3g}>"

    @property
    def open(self) -> list[Range]:
        return [r for r in self.ranges if not r.done]

    @property
    def finished(self) -> bool:
        return all(r.done for r in self.ranges)

    def cut(self) -> Range | None:
        """When fewer ranges than ``target`` are open: cut the one expected to hold most in two, if it holds
        enough to be worth a range of its own; the new range (its upper half), else None."""
        open_ranges = self.open
        if not open_ranges or len(open_ranges) >= self.target:
            return None
        biggest = max(open_ranges, key=lambda r: r.left(self.density))
        if biggest.left(self.density) < self.min_items or biggest.upper - biggest.after < 2:
            return None
        middle = biggest.after + (biggest.upper - biggest.after) // 2
        new = Range(middle, biggest.upper, middle)
        biggest.upper = middle
        self.ranges.append(new)
        return new
