"""``bulkdelete coveo list`` (SPEC §13): every item of a source, or of a query, one JSON line each."""

from __future__ import annotations

from typing import Any

import click

from bulkdelete.cli.checks import check, fail_if_any
from bulkdelete.cli.common import config_errors, delete_options, replace
from bulkdelete.cli.coveo import VerifyKeys, search_key_option, source_options, verify_keys
from bulkdelete.cli.listing import DEFAULT_LIST_RATE, except_option, execute_listing, for_listing, list_options
from bulkdelete.cli.options import check_base_url, required
from bulkdelete.errors import ConfigError
from bulkdelete.pipeline.ending import RunEnd
from bulkdelete.select import CoveoListing, ListContext, Listing, Prepare
from bulkdelete.select.coveo_list import DEFAULT_RANGES
from bulkdelete.select.coveo_query import selection
from bulkdelete.select.sources import platform_base, resolve_source_name
from bulkdelete.targets.coveo_search import search_base

COVEO_EPILOG = """\b
Examples:
  export COVEO_SEARCH_API_KEY=xx-… COVEO_ORGANIZATION_ID=myorg
  bulkdelete coveo list --source mysrc-id -o items.jsonl                      # every item of a source
  bulkdelete coveo list --source-name "My Source" --aq '@date<now-90d'        # older than 90 days
  bulkdelete coveo list --source mysrc-id --except export.txt --aq '@indexeddate<2026/12/01'   # orphans
  bulkdelete coveo list --source S --aq EXPR | bulkdelete coveo delete --source S -

The search key needs "Search - Execute queries" and "Search - View all content": without the latter a listing
silently leaves out secured items. --source ID is looked up by name with the API key (View on Sources).
Exit status: 0 listed to the end, 2 usage error (a bad expression: the API's message; an unknown source),
3 aborted (401/403, run-wide refusal, a query that failed for good), 4 --stop-after / --max-requests,
130 interrupted.
"""


@click.command("list", epilog=COVEO_EPILOG)
@delete_options(default_rate=DEFAULT_LIST_RATE)
@source_options
@click.option("--source-name", metavar="NAME", help="The source's name (what @source holds): no look-up of --source.")
@click.option("--aq", metavar="EXPR", help="List only the items matching this query expression (as given, in ()).")
@except_option
@search_key_option
@click.option(
    "--ranges",
    type=click.IntRange(1, 1024),
    default=DEFAULT_RANGES,
    show_default=True,
    metavar="N",
    help="Rowid ranges paged at once (at least --concurrency; fewer for a small selection).",
)
def coveo_list(**params: Any) -> None:
    """List the items of a Coveo source (--source ID or --source-name NAME), or those matching --aq: one JSON line
    per item ({"id", "source", "rowid", "date", "line", "ts"}), which delete and verify read as input."""
    with config_errors():
        options = list_options(params)
        keys = verify_keys(params)
        org = check(lambda: required(params.get("org"), "--org", "COVEO_ORGANIZATION_ID"), "-")
        given: str | None = params.get("base_url")
        base = check(lambda: check_base_url(given), "http://127.0.0.1") if given else None
        source_id, name, aq = params.get("source"), params.get("source_name"), params.get("aq")
        if name is None and source_id is None and not (aq or "").strip():
            raise ConfigError("coveo list needs --source ID, --source-name NAME or --aq EXPR (what to list)")
        if name is not None:
            check(lambda: selection(None, name), "")
        fail_if_any()
        options = replace(options, secrets=(*keys.secrets, *options.secrets))
    search = base or search_base(params["region"], org)
    platform = base or platform_base(params["region"])
    prepare = _coveo_prepare(search, platform, org, keys, None if name else source_id, name, aq, params["ranges"])
    execute_listing(prepare, options, params["excepts"])


def _coveo_prepare(
    search: str,
    platform: str,
    org: str,
    keys: VerifyKeys,
    source_id: str | None,
    name: str | None,
    aq: str | None,
    ranges: int,
) -> Prepare:
    async def prepare(ctx: ListContext) -> Listing | RunEnd:
        source = name
        if source_id is not None:
            found, end = await resolve_source_name(
                ctx.transport,
                ctx.rate,
                ctx.settings,
                ctx.stats,
                platform_url=platform,
                org=org,
                source_id=source_id,
                key=keys.logs,
            )
            if found is None:
                return end
            source = found
        return CoveoListing(
            search,
            org,
            keys.search,
            source=source,
            aq=aq,
            ranges=ranges,
            key_name=keys.search_from,
            excepted=ctx.excepted,
        )

    return prepare


for_listing(coveo_list)
