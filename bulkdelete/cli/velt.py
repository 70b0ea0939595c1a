"""``bulkdelete velt delete``: batched deletes through the Velt REST API."""

from __future__ import annotations

from typing import Any

import click

from bulkdelete.cli import scan as scan_options
from bulkdelete.cli import verify as checking
from bulkdelete.cli.checks import check
from bulkdelete.cli.common import apply, config_errors, delete_options, execute, replace, run_options
from bulkdelete.cli.options import check_base_url, required, secret_from
from bulkdelete.secrets import Secret
from bulkdelete.targets.velt import (
    API_VERSIONS,
    DEFAULT_BASE_URL,
    DEFAULT_BATCH_SIZE,
    MAX_BATCH_SIZE,
    VeltSettings,
    VeltTarget,
)
from bulkdelete.targets.velt_get import VeltGetCheck


def velt_settings(params: dict[str, Any]) -> VeltSettings:
    """Where to send and with which credentials; raises ``ConfigError`` before anything is sent."""
    return VeltSettings(
        # check(): every missing or bad setting is reported, not only the first (cli/checks.py)
        base_url=check(lambda: check_base_url(params.get("base_url") or DEFAULT_BASE_URL), DEFAULT_BASE_URL),
        organization_id=check(lambda: required(params.get("org"), "--org", "VELT_ORGANIZATION_ID"), "-"),
        api_key=check(lambda: secret_from("VELT_API_KEY", what="the Velt API key"), Secret("")),
        auth_token=check(lambda: secret_from("VELT_AUTH_TOKEN", what="the Velt auth token"), Secret("")),
        api_version=params["api_version"],
        batch_size=params["batch_size"],
    )


@click.group()
def velt() -> None:
    """Velt REST API: delete documents in batches."""


DELETE_EPILOG = """\b
Examples:
  export VELT_API_KEY=… VELT_AUTH_TOKEN=… VELT_ORGANIZATION_ID=my-org
  jq -r .documentId export.jsonl | bulkdelete velt delete - > results.jsonl
  bulkdelete velt delete --resume journal.jsonl --batch-size 20 --rate 2 doc-ids.txt.gz
  bulkdelete velt delete --base-url http://127.0.0.1:8787 --org o ids.txt   # the emulator
"""


velt_options = apply(
    [
        click.option("--org", metavar="ID", help="Organization id."),
        click.option(
            "--batch-size",
            type=click.IntRange(1, MAX_BATCH_SIZE),
            default=DEFAULT_BATCH_SIZE,
            show_default=True,
            metavar="N",
            help=f"Document ids per request (the API refuses more than {MAX_BATCH_SIZE}).",
        ),
        click.option(
            "--api-version",
            type=click.Choice(API_VERSIONS),
            default="v2",
            show_default=True,
            help="REST API version.",
        ),
    ]
)


@velt.command("delete", epilog=DELETE_EPILOG)
@delete_options(default_rate="5")
@velt_options
@checking.delete_verify_options
@checking.check_option
@scan_options.folder_option
def velt_delete(**params: Any) -> None:
    """Delete the documents whose ids are read from FILES (none or '-': stdin), in batches.

    One JSON line per input record goes to stdout (deleted, not_found, failed…); the summary to stderr.
    Credentials come from env VELT_API_KEY and VELT_AUTH_TOKEN, never from the command line. Ids the API
    reports as not found are ok (the goal state holds) and never re-sent; only ids that failed are retried.
    """
    with config_errors():
        options = run_options(params)
        if options.dry_run:  # nothing is sent: no credentials needed
            settings = VeltSettings(
                organization_id=params.get("org") or "-",
                api_key=Secret(""),
                auth_token=Secret(""),
                api_version=params["api_version"],
                batch_size=params["batch_size"],
            )
        else:
            settings = velt_settings(params)
        plan = checking.plan_from(
            params, lambda: VeltGetCheck(settings), lambda since: None, lambda: scan_options.velt_scan(params, settings)
        )
        options = replace(options, secrets=(settings.api_key, settings.auth_token, *options.secrets))
        target = VeltTarget(settings)
    if plan is not None:
        checking.execute_with_verify(target, options, None, plan)
    execute(target, options)


VERIFY_EPILOG = """\b
Examples:
  bulkdelete velt verify results.jsonl -o verdicts.jsonl      # the result lines of a delete run
  bulkdelete velt delete ids.txt -o results.jsonl --verify verdicts.jsonl

An id is gone when Get Documents does not return it (the console's "advanced queries" must be on).
--check scan lists the organization (or --folder) each round instead: an id the complete listing did not
return is gone. Velt answers no count, so --check auto (the default) checks by ids.
Exit status: 0 every verdict gone, 1 some not, 2 usage error, 3 aborted, 130 interrupted.
"""


@velt.command("verify", epilog=VERIFY_EPILOG)
@delete_options(default_rate=checking.DEFAULT_VERIFY_RATE)
@velt_options
@checking.polling_options
@checking.check_option
@scan_options.folder_option
def velt_verify(**params: Any) -> None:
    """Check that each document whose id is read from FILES (ids, or a delete run's result lines) is really gone:
    one verdict line per record, checked with Get Documents in batches of up to 30 ids."""
    with config_errors():
        options = checking.verify_run_options(params)
        verify = checking.polling(params)
        settings = velt_settings(params)
        options = replace(options, secrets=(settings.api_key, settings.auth_token, *options.secrets))
        check_ = VeltGetCheck(settings)
        scanning = scan_options.velt_scan(params, settings)
    checking.execute_verify(check_, options, verify, None, scanning)


checking.without_delete_only(velt_verify)


def _register_list() -> None:
    """``velt list`` (SPEC §13): its body is ``cli/velt_list.py``, which builds on this module's settings."""
    from bulkdelete.cli.velt_list import velt_list

    velt.add_command(velt_list)


_register_list()
