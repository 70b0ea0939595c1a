"""``bulkdelete coveo delete | older-than | status``."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import orjson

from bulkdelete import metrics
from bulkdelete.cli import loop, where
from bulkdelete.cli import scan as scan_options
from bulkdelete.cli import verify as checking
from bulkdelete.cli.checks import check, fail_if_any
from bulkdelete.cli.common import (
    apply,
    config_errors,
    delete_options,
    execute,
    network_from,
    network_options,
    replace,
    run_options,
)
from bulkdelete.cli.options import check_base_url, parse_ordering_id, required, secret_from
from bulkdelete.errors import AbortRun, ConfigError, ProxyRefused, TransportError, UntrustedCertificate
from bulkdelete.net.session import Network, open_session
from bulkdelete.net.transport import HttpTransport
from bulkdelete.output import console
from bulkdelete.output.stats import RunStats
from bulkdelete.output.summary import EXIT_ABORTED, EXIT_NOT_OK, EXIT_OK, EXIT_USAGE
from bulkdelete.pipeline.run import RunOptions
from bulkdelete.rate.pacing import Pacer
from bulkdelete.secrets import Secret, scrub
from bulkdelete.targets.base import Reply, Target
from bulkdelete.targets.coveo import REGIONS, STATUSES, CoveoItemTarget, CoveoSettings
from bulkdelete.targets.coveo_admin import StatusLifecycle, delete_older_than, set_status
from bulkdelete.targets.coveo_search import MAX_IDS_PER_QUERY, CoveoSearchCheck, search_base
from bulkdelete.verify.logs import CoveoLogs
from bulkdelete.verify.run import LogsFactory
from bulkdelete.verify.scanning import ScanPlan

source_options = apply(
    [
        click.option("--org", metavar="ID", help="Organization id."),
        click.option("--source", metavar="ID", help="Push source id."),
        click.option(
            "--region",
            type=click.Choice(list(REGIONS)),
            default="us",
            show_default=True,
            help="Picks the API base URL (ignored with --base-url).",
        ),
        click.option(
            "--api-key-file",
            type=click.Path(dir_okay=False, path_type=Path),
            metavar="FILE",
            help="Read the API key from FILE instead of env COVEO_API_KEY.",
        ),
    ]
)


search_key_option = click.option(
    "--search-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Verifying: the Search API key (Execute queries, View all content)  [default: env COVEO_SEARCH_API_KEY, else "
    "the API key].",
)


def coveo_settings(params: dict[str, Any]) -> CoveoSettings:
    """Where to send and with which key; raises ``ConfigError`` before anything is sent."""
    base = params.get("base_url") or REGIONS[params["region"]]
    return CoveoSettings(  # check(): every missing or bad setting is reported, not only the first (cli/checks.py)
        base_url=check(lambda: check_base_url(base), "http://127.0.0.1"),
        org=check(lambda: required(params.get("org"), "--org", "COVEO_ORGANIZATION_ID"), "-"),
        source=check(lambda: required(params.get("source"), "--source", "COVEO_SOURCE_ID"), "-"),
        api_key=check(
            lambda: secret_from("COVEO_API_KEY", params.get("api_key_file"), what="the Coveo API key"), Secret("")
        ),
        delete_children=bool(params.get("delete_children")),
        allow_site_children=bool(params.get("allow_site_children")),
    )


@click.group()
def coveo() -> None:
    """Coveo Push API: delete items, delete old items, set the source status."""


DELETE_EPILOG = """\b
Examples:
  export COVEO_API_KEY=xx-… COVEO_ORGANIZATION_ID=myorg COVEO_SOURCE_ID=mysrc
  cut -f1 export.tsv | bulkdelete coveo delete - > results.jsonl
  bulkdelete coveo delete --status REFRESH --resume journal.jsonl export.csv
  bulkdelete coveo delete --mode batch --ordering-id now ids.txt.gz
  bulkdelete coveo delete --base-url http://127.0.0.1:8787 --org o --source s ids.txt   # the emulator
  bulkdelete coveo delete --where '@date<2024/01/01' --max-delete 50000 --yes   # what a search lists, no FILE

--where EXPR lists (EXPR) @source=="NAME" with the Search API (key: COVEO_SEARCH_API_KEY with "View all
content", else secured items are silently left out) at --list-rate, and deletes each item as it is listed. It
says the count first, refuses more than --max-delete, and asks on a terminal (else needs --yes). With --shard I/N
every shard lists the whole selection and keeps its own ids: exact, at N times the search queries.

A nightly batch job (cron), in a 2-hour window, continuing tomorrow where it stopped:
  bulkdelete coveo delete --resume journal.jsonl --stop-after 2h --max-requests 200000 \\
    --max-errors 1% --summary summary.json --status REFRESH stale-ids.txt.gz

Exit status: 0 all ok, 1 some not ok, 2 usage error (nothing sent), 3 aborted (or results that cannot be
written), 4 budget spent with records left (--resume finishes them), 70 internal error, 130 interrupted.
"""


@coveo.command("delete", epilog=DELETE_EPILOG)
@delete_options(default_rate="50")
@source_options
@checking.delete_verify_options
@checking.check_option
@search_key_option
@where.where_options
@click.option(
    "--delete-children",
    is_flag=True,
    help="Also delete every item whose id starts with <id>/. A whole-site id (no path beyond /) is then 'invalid'.",
)
@click.option(
    "--allow-site-children",
    is_flag=True,
    help="With --delete-children, accept whole-site ids (e.g. https://www.example.com/): every item of the site goes.",
)
@click.option("--ordering-id", metavar="INT|now", help="orderingId (epoch ms) sent with every delete.")
@click.option("--allow-future-ordering-id", is_flag=True, help="Allow an orderingId > 5 min ahead of the clock.")
@click.option(
    "--status",
    type=click.Choice(["REBUILD", "REFRESH", "INCREMENTAL"]),
    help="Set this source status before the run, IDLE after it (always).",
)
@click.option(
    "--mode",
    type=click.Choice(["item", "batch"]),
    default="item",
    show_default=True,
    help="One DELETE per item, or batches through file containers.",
)
@click.option(
    "--batch-bytes",
    type=click.IntRange(min=1024, max=256_000_000),
    default=5 * 1024 * 1024,
    show_default=True,
    metavar="BYTES",
    help="Max JSON payload per batch (--mode batch).",
)
def coveo_delete(**params: Any) -> None:
    """Delete the items whose ids (document URIs) are read from FILES (none or '-': stdin), or (--where EXPR) the
    items of --source a search lists.

    One JSON line per input record goes to stdout; the summary to stderr. The API key comes from env
    COVEO_API_KEY (or --api-key-file), never from the command line.
    """
    with config_errors():
        options = run_options(params)
        if options.dry_run:  # nothing is sent: no credentials needed
            settings = CoveoSettings(
                "http://127.0.0.1",
                "-",
                "-",
                Secret(""),
                params["delete_children"],
                allow_site_children=params["allow_site_children"],
            )
        else:
            settings = coveo_settings(params)
        if params["ordering_id"] is not None:
            allow_future = params["allow_future_ordering_id"]
            ordering = check(lambda: parse_ordering_id(params["ordering_id"], allow_future=allow_future), 0)
            settings = replace(settings, ordering_id=ordering)
        keys = verify_keys(params) if params["verify_path"] is not None and not options.dry_run else None
        plan = checking.plan_from(
            {**params, "children": params["delete_children"]},
            lambda: coveo_check({**params, "children": params["delete_children"]}, _given(keys)),
            lambda since: None if params["no_logs"] else coveo_logs(params, _given(keys), since),
            lambda: coveo_verify_scan(params, _given(keys), children=params["delete_children"]),
        )
        selection = where_plan(params, options, settings)
        fail_if_any()
        verifying = (*keys.secrets, *selection_keys(selection)) if keys is not None else selection_keys(selection)
        options = replace(options, secrets=(settings.api_key, *verifying, *options.secrets))
        target = coveo_target(settings, params["mode"], params["batch_bytes"])
    hooks = StatusLifecycle(settings, params["status"]) if params["status"] else None
    if selection is not None:
        where.execute_where(selection, target, options, hooks, plan)
    if plan is not None:
        checking.execute_with_verify(target, options, hooks, plan)
    execute(target, options, hooks)


VERIFY_EPILOG = """\b
Examples:
  export COVEO_SEARCH_API_KEY=xx-… COVEO_API_KEY=xx-… COVEO_ORGANIZATION_ID=myorg COVEO_SOURCE_ID=mysrc
  bulkdelete coveo verify results.jsonl -o verdicts.jsonl        # the result lines of a delete run
  cut -f1 export.tsv | bulkdelete coveo verify --wait 0 -         # one pass over plain ids
  bulkdelete coveo delete ids.txt -o results.jsonl --verify verdicts.jsonl   # delete, then prove it
  bulkdelete coveo verify --check scan --source mysrc-id results.jsonl   # list the source, not each id

--check auto (the default) takes, each round, whichever costs fewer queries: the ids (100 a query) or a listing
of the whole source (1,000 items a page; --source or --source-name), from one count query.

Verdicts: gone (ok), present, failed (the Logs API reports the delete ERROR/REJECTED), not_deleted (the delete's
own line was not ok), unknown (could not be checked). The search key needs "Search - Execute queries" and
"Search - View all content": without the latter, secured items look gone.
Exit status: 0 every verdict gone, 1 some not, 2 usage error, 3 aborted (401/403 on the check, run-wide
refusal), 130 interrupted.
"""


@coveo.command("verify", epilog=VERIFY_EPILOG)
@delete_options(default_rate=checking.DEFAULT_VERIFY_RATE)
@source_options
@checking.polling_options
@checking.check_option
@scan_options.source_name_option
@search_key_option
@click.option("--children", is_flag=True, help="A gone id is also checked for descendants (<id>/…) left.")
@click.option(
    "--batch-size",
    type=click.IntRange(1, MAX_IDS_PER_QUERY),
    default=MAX_IDS_PER_QUERY,
    show_default=True,
    metavar="N",
    help="Ids per search query.",
)
def coveo_verify(**params: Any) -> None:
    """Check that each document whose id is read from FILES (ids, or a delete run's result lines) is really gone
    from the index: one verdict line per record, checked with the Search API (viewAllContent, no cache)."""
    with config_errors():
        options = checking.verify_run_options(params)
        verify = checking.polling(params)
        keys = verify_keys(params)
        check_ = coveo_check(params, keys)
        since = time.time() - checking.since_s(params)
        logs = None if params["no_logs"] else coveo_logs(params, keys, since)
        scanning = coveo_verify_scan(params, keys, children=params["children"])
        fail_if_any()
        options = replace(options, secrets=(*keys.secrets, *options.secrets))
    checking.execute_verify(check_, options, verify, logs, scanning)


checking.without_delete_only(coveo_verify)


def where_plan(params: dict[str, Any], options: RunOptions, settings: CoveoSettings) -> where.WherePlan | None:
    """``--where``'s plan (None without it): the search key lists, the API key (none in a dry run) looks up the
    source's name."""
    if params.get("where") is None:
        return where.where_plan(params, options, (Secret(""), "-"), None)  # refuses --where's options alone
    search = check(lambda: search_key(params), (Secret(""), "COVEO_SEARCH_API_KEY"))
    return where.where_plan(params, options, search, settings.api_key if settings.api_key.reveal() else None)


def selection_keys(selection: where.WherePlan | None) -> tuple[Secret, ...]:
    return () if selection is None else (selection.search_key,)


def coveo_verify_scan(params: dict[str, Any], keys: VerifyKeys, *, children: bool) -> ScanPlan | None:
    """``--check``'s plan (SPEC §13.1): the search key lists, the logs' key (the API key) looks up the name."""
    return scan_options.coveo_scan(params, keys.search, keys.search_from, keys.logs, children=children)


def _given(keys: VerifyKeys | None) -> VerifyKeys:
    assert keys is not None, "read whenever --verify is given"
    return keys


def search_key(params: dict[str, Any]) -> tuple[Secret, str]:
    """The Search API key and where it came from: --search-key-file, COVEO_SEARCH_API_KEY, else the API key."""
    key_file = params.get("search_key_file")
    if key_file is not None:
        return secret_from("COVEO_SEARCH_API_KEY", key_file, what="the search key"), f"--search-key-file {key_file}"
    if os.environ.get("COVEO_SEARCH_API_KEY", "").strip():
        return secret_from("COVEO_SEARCH_API_KEY", what="the search key"), "COVEO_SEARCH_API_KEY"
    if params.get("api_key_file") is not None:
        return secret_from("COVEO_API_KEY", params["api_key_file"], what="the key"), "--api-key-file"
    what = "the search key (COVEO_SEARCH_API_KEY, or COVEO_API_KEY)"
    return secret_from("COVEO_API_KEY", what=what), "COVEO_API_KEY"


@dataclass(frozen=True, slots=True)
class VerifyKeys:
    """The keys a Coveo verification uses, read once: the Search API's (and where it came from, for the message of
    a refused key), and the Logs API's (the API key, else the search key)."""

    search: Secret
    search_from: str
    logs: Secret

    @property
    def secrets(self) -> tuple[Secret, ...]:
        return tuple(key for key in (self.search, self.logs) if key.reveal())


def verify_keys(params: dict[str, Any]) -> VerifyKeys:
    search, named = check(lambda: search_key(params), (Secret(""), "COVEO_SEARCH_API_KEY"))
    try:
        logs = secret_from("COVEO_API_KEY", params.get("api_key_file"), what="the key")
    except ConfigError:
        logs = search
    return VerifyKeys(search, named, logs)


def coveo_check(params: dict[str, Any], keys: VerifyKeys) -> CoveoSearchCheck:
    """The Search API check: ``--base-url`` (the emulator) or the org's search host in ``--region``."""
    org = check(lambda: required(params.get("org"), "--org", "COVEO_ORGANIZATION_ID"), "-")
    base = params.get("base_url")
    url = check(lambda: check_base_url(base), "http://127.0.0.1") if base else search_base(params["region"], org)
    batch_size = params.get("batch_size") or MAX_IDS_PER_QUERY  # delete --verify: the most a query takes
    children = bool(params.get("children"))
    return CoveoSearchCheck(url, org, keys.search, children=children, key_name=keys.search_from, batch_size=batch_size)


def coveo_logs(params: dict[str, Any], keys: VerifyKeys, since: float) -> LogsFactory:
    """The Logs API reader: the push API's base, the API key (else the search key), the source when given."""
    org = params.get("org") or os.environ.get("COVEO_ORGANIZATION_ID", "-")
    base = params.get("base_url") or REGIONS[params["region"]]
    source = params.get("source") or os.environ.get("COVEO_SOURCE_ID") or None
    return lambda warn: CoveoLogs(base, org.strip(), source, keys.logs, since=since, warn=warn)


def coveo_target(settings: CoveoSettings, mode: str, batch_bytes: int) -> Target:
    if mode == "batch":
        from bulkdelete.targets.coveo_batch import CoveoBatchTarget

        return CoveoBatchTarget(settings, batch_bytes=batch_bytes)
    return CoveoItemTarget(settings)


single_call_options = apply(
    [
        click.option(
            "--base-url",
            metavar="URL",
            help="API root, e.g. http://127.0.0.1:8787 for the emulator.",
        ),
        source_options,
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=30.0,
            show_default=True,
            metavar="S",
            help="Seconds the call may take, from connecting to the end of Coveo's answer.",
        ),
        network_options,
    ]
)


OLDER_THAN_EPILOG = """\b
Examples:
  export COVEO_API_KEY=xx-… COVEO_ORGANIZATION_ID=myorg COVEO_SOURCE_ID=mysrc
  bulkdelete coveo older-than --ordering-id 1767225600000          # asks first (on a terminal)
  bulkdelete coveo older-than --ordering-id now --queue-delay 0 --yes   # a job: everything pushed before now
  bulkdelete coveo older-than --base-url http://127.0.0.1:8787 --org o --source s --ordering-id now --yes

After a full re-push (each item pushed with --ordering-id T), this removes what the re-push did not touch.
Exit status: 0 accepted (202), 1 refused by Coveo, 2 usage error or declined (nothing sent), 3 key refused (401/403)
or certificate not trusted.
"""


@coveo.command("older-than", epilog=OLDER_THAN_EPILOG)
@single_call_options
@click.option("--ordering-id", required=True, metavar="INT|now", help="Delete items pushed with a lower orderingId.")
@click.option(
    "--queue-delay",
    type=click.IntRange(0, 1440),
    metavar="MIN",
    help="Minutes Coveo waits before enqueueing the deletion  [Coveo's default: 15].",
)
@click.option("--allow-future-ordering-id", is_flag=True, help="Allow an orderingId > 5 min ahead of the clock.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (required without a terminal).")
@metrics.metrics_options
def coveo_older_than(**params: Any) -> None:
    """Delete every item of the source last pushed with an orderingId older than --ordering-id.

    This can empty a whole source: on a terminal it asks first; without one it proceeds only with --yes.
    """
    with config_errors():
        settings = coveo_settings(params)
        allow_future = params["allow_future_ordering_id"]
        ordering = check(lambda: parse_ordering_id(params["ordering_id"], allow_future=allow_future), 0)
        network = network_from(params)
        watch = check(lambda: metrics.watch_from(params, api="coveo"), None)
    cutoff = datetime.fromtimestamp(ordering / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    question = (
        f"Delete every item of source {settings.source!r} in organization {settings.org!r} last pushed before "
        f"{cutoff} (orderingId {ordering})?"
    )
    if not params["yes"]:
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            console.error(f"{question} Refusing without a terminal: pass --yes.")
            sys.exit(EXIT_USAGE)
        if not click.confirm(question, default=False, err=True):
            console.info("declined: nothing sent.")
            sys.exit(EXIT_USAGE)
    call = {"call": "olderthan", "orderingId": ordering, "queueDelay": params["queue_delay"]}
    single_call(
        settings,
        network,
        params["timeout"],
        call,
        lambda t: delete_older_than(t, settings, ordering, params["queue_delay"]),
        watch,
    )


STATUS_EPILOG = """\b
Examples:
  bulkdelete coveo status REFRESH     # before a content update
  bulkdelete coveo status IDLE        # after it (coveo delete --status does both for you)
  bulkdelete coveo status idle --base-url http://127.0.0.1:8787 --org o --source s   # the emulator

Exit status: 0 set (201), 1 refused by Coveo, 2 usage error (nothing sent), 3 key refused (401/403) or
certificate not trusted.
"""


@coveo.command("status", epilog=STATUS_EPILOG)
@click.argument("status", type=click.Choice(STATUSES, case_sensitive=False))
@single_call_options
def coveo_status(status: str, **params: Any) -> None:
    """Set the source status: REBUILD / REFRESH / INCREMENTAL before a content update, IDLE after it."""
    with config_errors():
        settings = coveo_settings(params)
        network = network_from(params)
    status = status.upper()
    call: dict[str, object] = {"call": "status", "statusType": status}
    single_call(settings, network, params["timeout"], call, lambda t: set_status(t, settings, status))


def single_call(
    settings: CoveoSettings,
    network: Network,
    timeout: float,
    call: dict[str, object],
    send: Callable[[HttpTransport], Awaitable[Reply]],
    watch: metrics.Watch | None = None,
) -> None:
    """Send one source-level call, write one JSON line about it, exit 0 / 1 / 3 (401/403, untrusted certificate).
    ``watch``: the metrics options' (SPEC §14), served during the call and pushed after it."""
    try:
        served = metrics.serve(watch)  # bound before the call: a port in use is exit 2, nothing sent
    except ConfigError as exc:
        console.error(str(exc))
        sys.exit(EXIT_USAGE)

    async def go() -> tuple[int, dict[str, object]]:
        async with open_session(network, limit=2) as session:
            stats = RunStats()
            if watch is not None:
                watch.call(stats)
            transport = HttpTransport(session, Pacer(0), stats, timeout=timeout, proxies=network.proxies)
            try:
                reply = await send(transport)
            except AbortRun as exc:
                refused = exc.status in (401, 403) or isinstance(exc, UntrustedCertificate | ProxyRefused)
                code = EXIT_ABORTED if refused else EXIT_NOT_OK
                return code, {"ok": False, "status": exc.status, "error": str(exc)}
            except TransportError as exc:
                return EXIT_NOT_OK, {"ok": False, "error": str(exc)}
            return EXIT_OK, {"ok": True, "status": reply.status, "request_id": reply.request_id}

    code, outcome = loop.run(go())
    line = {**call, **outcome}
    if "error" in line:
        line["error"] = scrub(str(line["error"]), [settings.api_key, *network.secrets])
        console.error(str(line["error"]))
    sys.stdout.buffer.write(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))
    sys.stdout.flush()
    if served is not None:
        served.finish(code)
    sys.exit(code)


def _register_list() -> None:
    """``coveo list`` (SPEC §13): its body is ``cli/coveo_list.py``, which builds on this module's options and keys."""
    from bulkdelete.cli.coveo_list import coveo_list

    coveo.add_command(coveo_list)


_register_list()
