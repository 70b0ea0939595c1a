"""``list_items(listing, options)``: a listing from Python, one ``Listed`` item at a time (SPEC §10, §13).

::

    listing = CoveoListing(search_url, org, Secret(key), source="catalog", aq="@date<2024/01/01")
    async for item in list_items(listing, RunOptions(rate=FixedRate(5), quiet=True)):
        print(item.id, item.rowid)
    if not listing.complete:
        print("stopped:", listing.end.reason.value, listing.end.message)

The same listing as ``coveo list`` / ``velt list`` (the engine's pacer at ``options.rate``, shared through
``options.rate_store``; retries, 429 pauses, 401/403 aborts, ``max_requests``, the network settings), without the
console, output file or signals: the caller owns those. **Backpressure**: a range's next page is asked only once
the caller has taken its previous page's items, so a slow caller holds at most a page per range. **Early close**
(``break`` inside ``contextlib.aclosing``, ``aclose()``): nothing new is asked, the queries in flight complete,
then it returns. A listing that cannot reach its end (an expression the API refuses, a refused key, a budget) ends
the iteration: ``listing.complete`` is then False and ``listing.end`` says why; nothing is raised, as a partial
listing is still every item it returned.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from bulkdelete.output.stats import RunStats
from bulkdelete.pipeline.run import RunOptions, shared_rate
from bulkdelete.select.items import Listed
from bulkdelete.select.listing import Listing
from bulkdelete.select.run import listing_transport


async def list_items(
    listing: Listing, options: RunOptions | None = None, *, stats: RunStats | None = None
) -> AsyncGenerator[Listed, None]:
    """Every item of ``listing``, as its page is read; ``stats`` (optional) counts the queries' requests."""
    options = options if options is not None else RunOptions()
    stats = stats if stats is not None else RunStats()
    async with shared_rate(options) as store:
        rate = options.rate_control(store)
        async with listing_transport(options, rate, stats) as transport:
            pages = listing.pages(transport, rate, options.engine_settings(), stats)
            try:
                async for items in pages:
                    for item in items:
                        yield item
            finally:
                await pages.aclose()  # type: ignore[attr-defined]
