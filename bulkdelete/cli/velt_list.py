"""``bulkdelete velt list`` (SPEC §13): every document of an organization (or a folder), one JSON line each."""

from __future__ import annotations

from typing import Any

import click

from bulkdelete.cli.common import config_errors, delete_options, replace
from bulkdelete.cli.listing import DEFAULT_LIST_RATE, except_option, execute_listing, for_listing, list_options
from bulkdelete.cli.velt import velt_settings
from bulkdelete.pipeline.ending import RunEnd
from bulkdelete.select import ListContext, Listing, VeltListing

VELT_EPILOG = """\b
Examples:
  export VELT_API_KEY=… VELT_AUTH_TOKEN=… VELT_ORGANIZATION_ID=my-org
  bulkdelete velt list -o documents.jsonl
  bulkdelete velt list --folder f1 --except kept-ids.txt | bulkdelete velt delete -

Exit status: 0 listed to the end, 2 usage error, 3 aborted (401/403, run-wide refusal, a repeated page token),
4 --stop-after / --max-requests, 130 interrupted.
"""


@click.command("list", epilog=VELT_EPILOG)
@delete_options(default_rate=DEFAULT_LIST_RATE)
@click.option("--org", metavar="ID", help="Organization id.")
@click.option("--folder", metavar="ID", help="List only this folder's documents.")
@except_option
def velt_list(**params: Any) -> None:
    """List the documents of a Velt organization (or --folder): one JSON line per document ({"id", "folder",
    "line", "ts"}), which delete and verify read as input."""
    with config_errors():
        options = list_options(params)
        settings = velt_settings({**params, "api_version": "v2", "batch_size": 30})
        options = replace(options, secrets=(settings.api_key, settings.auth_token, *options.secrets))
    folder = params.get("folder")

    async def prepare(ctx: ListContext) -> Listing | RunEnd:
        return VeltListing(
            settings.base_url,
            settings.organization_id,
            settings.api_key,
            settings.auth_token,
            folder=folder,
            excepted=ctx.excepted,
        )

    execute_listing(prepare, options, params["excepts"])


for_listing(velt_list)
