"""``--check ids|scan|auto`` of the Coveo and Velt verifications (SPEC §13.1): the ``ScanPlan`` each command builds.

Coveo: a scan lists ``@source=="NAME"`` of ``--source`` (whatever selected the ids), its name from ``--source-name``
or looked up once with the Sources API, with the search key (viewAllContent, no cache). ``--check scan`` without a
source is a usage error; ``auto`` without one checks by ids. Velt: a scan lists the organization (or ``--folder``);
Get Documents answers no count, so Velt's ``auto`` always checks by ids and a scan is asked for with ``--check scan``.
"""

from __future__ import annotations

import os
from typing import Any

import click

from bulkdelete.cli.checks import check
from bulkdelete.cli.options import check_base_url
from bulkdelete.errors import ConfigError
from bulkdelete.pipeline.ending import RunEnd
from bulkdelete.secrets import Secret
from bulkdelete.select.coveo_list import CoveoListing
from bulkdelete.select.coveo_query import selection
from bulkdelete.select.listing import Listing
from bulkdelete.select.sources import platform_base, resolve_source_name
from bulkdelete.select.velt_list import PAGE_SIZE as VELT_PAGE_SIZE
from bulkdelete.select.velt_list import VeltListing
from bulkdelete.targets.coveo_search import MAX_IDS_PER_QUERY, search_base
from bulkdelete.targets.velt import MAX_BATCH_SIZE, VeltSettings
from bulkdelete.verify.choice import CheckMode, QueryCosts
from bulkdelete.verify.scan import CallArgs
from bulkdelete.verify.scanning import ScanPlan

source_name_option = click.option(
    "--source-name",
    metavar="NAME",
    help="--check scan|auto: the source's name (what @source holds)  [default: looked up from --source with the "
    "Sources API].",
)
folder_option = click.option("--folder", metavar="ID", help="--check scan: list only this folder's documents.")


def _mode(params: dict[str, Any]) -> CheckMode:
    return CheckMode(params.get("check") or CheckMode.AUTO)


def coveo_scan(
    params: dict[str, Any], search_key: Secret, key_name: str, lookup_key: Secret, *, children: bool
) -> ScanPlan | None:
    """The Coveo verification's scan plan, or None (``--check ids``, or ``auto`` without a source).

    ``search_key`` lists (``key_name`` names it when refused), ``lookup_key`` asks the Sources API for the name.
    Raises ``ConfigError`` for ``--check scan`` without ``--source`` or ``--source-name``.
    """
    mode = _mode(params)
    name: str | None = params.get("source_name")
    source_id = params.get("source") or os.environ.get("COVEO_SOURCE_ID", "").strip() or None
    if mode is CheckMode.IDS or (name is None and source_id is None and mode is CheckMode.AUTO):
        return None
    if name is None and source_id is None:
        raise ConfigError("--check scan needs the source to list: --source ID or --source-name NAME")
    if name is not None:
        check(lambda: selection(None, name), "")  # a name the query language cannot hold: exit 2
    org = (params.get("org") or os.environ.get("COVEO_ORGANIZATION_ID", "-")).strip()
    given = params.get("base_url")
    base = check(lambda: check_base_url(given), "http://127.0.0.1") if given else None
    search = base or search_base(params["region"], org)
    platform = base or platform_base(params["region"])

    def listing(source: str | None) -> Listing:
        return CoveoListing(search, org, search_key, source=source, aq=None, key_name=key_name)

    async def resolve(args: CallArgs) -> tuple[str | None, RunEnd]:
        assert source_id is not None
        return await resolve_source_name(
            *args, platform_url=platform, org=org, source_id=source_id, key=lookup_key
        )  # fmt: skip

    batch = params.get("batch_size") or MAX_IDS_PER_QUERY
    return ScanPlan(
        mode,
        listing,
        name=name,
        resolve=None if name is not None else resolve,
        where="source {name}",
        costs=QueryCosts(ids_per_query=batch, children=children),
    )


def velt_scan(params: dict[str, Any], settings: VeltSettings) -> ScanPlan | None:
    """The Velt verification's scan plan, or None for ``--check ids``: the organization's documents (or
    ``--folder``'s), no count query (``auto`` is ids)."""
    mode = _mode(params)
    if mode is CheckMode.IDS:
        return None
    folder: str | None = params.get("folder")
    org = settings.organization_id

    def listing(_: str | None) -> Listing:
        return VeltListing(settings.base_url, org, settings.api_key, settings.auth_token, folder=folder)

    where = f"folder {folder} of organization {org}" if folder else f"organization {org}"
    costs = QueryCosts(
        ids_per_query=min(settings.batch_size, MAX_BATCH_SIZE), page_size=VELT_PAGE_SIZE, bounds_queries=0
    )
    return ScanPlan(mode, listing, where=where, costs=costs, countable=False, view_all=False)
