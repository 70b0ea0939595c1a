"""What every listing is (``Listing``), whatever its API: a count, pages of items, how it ended."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from bulkdelete.net.transport import HttpTransport
from bulkdelete.output.stats import RunStats
from bulkdelete.pipeline.ending import RunEnd, StopReason
from bulkdelete.pipeline.settings import EngineSettings
from bulkdelete.rate.control import RateControl
from bulkdelete.select.items import Listed


class Listing(Protocol):
    """One listing of an index's items (SPEC §13), run with a caller's transport, rate, settings and stats.

    ``total_count``: the index's count at the start (None until asked, or when the API has none: Velt).
    ``queries``: requests the listing sent. ``listed``: items handed out; ``excepted``: items left out
    (``--except``). ``complete``: True only once the listing reached its end; ``end``: how it ended.
    """

    # Read-only members: a plain attribute satisfies them (``queries`` is a property of ``CoveoListing``).
    @property
    def total_count(self) -> int | None: ...

    @property
    def queries(self) -> int: ...

    @property
    def listed(self) -> int: ...

    @property
    def excepted(self) -> int: ...

    @property
    def complete(self) -> bool: ...

    @property
    def end(self) -> RunEnd: ...

    async def count(
        self, transport: HttpTransport, rate: RateControl, settings: EngineSettings, stats: RunStats
    ) -> int | None:
        """One count query (``numberOfResults: 0``); None when it could not be read (see ``end``) or the API
        has no count."""
        ...

    def pages(
        self, transport: HttpTransport, rate: RateControl, settings: EngineSettings, stats: RunStats
    ) -> AsyncIterator[list[Listed]]:
        """The items, a page at a time, as they are read; each item once. Iterate once."""
        ...

    def stop(self, reason: StopReason, message: str | None = None) -> None:
        """Ask nothing new; the queries in flight complete. The first reason given wins."""
        ...

    def describe(self) -> dict[str, object]:
        """What is listed, where (``api``, ``org``, …): never a secret."""
        ...
