"""Selecting what to delete (SPEC §13): list an index's items, a page at a time, through the delete engine.

A listing is a new kind of call through the same engine, as a verification check is: each page request is a
record the engine sends (``calls.CallRunner``), so the same pacer, transport, retries with backoff, 429 pauses,
401/403 aborts, run-wide refusals, budgets and stats apply. Pages come out as they are read (``paging.Paging``).

* ``Listed`` (``items``): one item: ``id``, ``source``, ``rowid`` (exact), ``date``, ``folder``;
  ``to_json(line, ts) -> bytes`` is its JSON line (Coveo ``{"id","source","rowid","date","line","ts"}``, Velt
  ``{"id","folder","line","ts"}``), which ``delete`` and ``verify`` read as input by its ``id``.
* ``Listing`` (``listing``): the protocol both listings follow::

      total = await listing.count(transport, rate, settings, stats)    # one numberOfResults: 0 query (Velt: None)
      async for items in listing.pages(transport, rate, settings, stats):   # every item once, as read
          ...
      listing.total_count, listing.queries, listing.listed, listing.excepted, listing.complete, listing.end
      listing.stop(reason, message); listing.describe()

  ``transport`` is a ``net.transport.HttpTransport``, ``rate`` a ``rate.control.RateControl``, ``settings`` the
  ``pipeline.settings.EngineSettings`` (concurrency, attempts, backoff), ``stats`` the ``output.stats.RunStats`` the
  transport counts into: a caller runs a listing with its own pacer (``delete --where`` at ``--list-rate``) or
  inside a verification round with the verifier's. ``complete`` is True only once the listing reached its end;
  ``end`` (``RunEnd``) says how it ended (``input-error``: the API refused the expression; ``aborted``; a budget…).
* ``CoveoListing(search_url, org, key, *, source=NAME|None, aq=EXPR|None, ranges=16, key_name=…, excepted=None)``:
  keyset paging on ``@rowid`` in ranges paged at once (``coveo_list``, ``coveo_query``, ``ranges``).
* ``VeltListing(base_url, org, api_key, auth_token, *, folder=ID|None, excepted=None)``: page tokens.
* ``resolve_source_name(transport, rate, settings, stats, *, platform_url, org, source_id, key)`` -> ``(name | None,
  RunEnd)``: ``--source ID`` to the name ``@source`` holds (``ConfigError`` for an unknown source);
  ``platform_base(region)``.
* ``ExceptIds.load(paths, fmt=, field=, stdin=)``: ``--except`` ids as digests (``id in except_ids``);
  ``ConfigError`` when they hold no id.
* ``list_items(listing, options) -> AsyncGenerator[Listed]``: a listing from Python, item by item, backpressured
  (``iterate``).
* ``run_listing(prepare, options, *, excepts=(), stdin=, stdout=, stderr=, interrupt=) -> ListReport``: the whole
  ``list`` command (session, console, signals, output, summary); ``prepare(ListContext)`` builds the listing (after
  a source look-up, say) or returns the ``RunEnd`` of a look-up that did not end well.
"""

from bulkdelete.select.coveo_list import CoveoListing
from bulkdelete.select.excepted import ExceptIds
from bulkdelete.select.items import Listed
from bulkdelete.select.iterate import list_items
from bulkdelete.select.listing import Listing
from bulkdelete.select.report import ListReport
from bulkdelete.select.run import ListContext, Prepare, run_listing
from bulkdelete.select.sources import platform_base, resolve_source_name
from bulkdelete.select.velt_list import VeltListing

__all__ = [
    "CoveoListing",
    "ExceptIds",
    "ListContext",
    "ListReport",
    "Listed",
    "Listing",
    "Prepare",
    "VeltListing",
    "list_items",
    "platform_base",
    "resolve_source_name",
    "run_listing",
]
