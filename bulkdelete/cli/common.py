"""What every command shares: the delete options (SPEC §3), turning them into ``RunOptions``, running, exiting."""

from __future__ import annotations

import dataclasses
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import click

from bulkdelete import metrics
from bulkdelete.cli import loop
from bulkdelete.cli.checks import check
from bulkdelete.cli.checks import config_errors as config_errors  # where the commands import it from
from bulkdelete.cli.options import (
    check_writable,
    parse_duration,
    parse_max_errors,
    parse_rate,
    parse_rate_store,
    rate_key_for,
)
from bulkdelete.errors import ConfigError
from bulkdelete.input.shard import Shard
from bulkdelete.net.session import Network
from bulkdelete.output import console
from bulkdelete.output.console import LOG_FORMATS
from bulkdelete.output.summary import EXIT_INTERNAL, EXIT_USAGE
from bulkdelete.pipeline.run import RunHooks, RunOptions, run_deletion
from bulkdelete.rate.backoff import BackoffPolicy
from bulkdelete.rate.control import RateSpec, Unlimited
from bulkdelete.secrets import Secret, scrub
from bulkdelete.targets.base import Target

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
FORMATS = ("auto", "lines", "jsonl", "csv")


def apply(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    """Decorate with several click options, in the order listed (as --help shows them)."""

    def decorate(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


network_options = apply(
    [
        click.option(
            "--proxy",
            metavar="URL",
            help="HTTP(S) proxy for every request, e.g. http://user:pass@proxy:3128; '' for none  "
            "[default: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY, with NO_PROXY honoured, as curl and pip do].",
        ),
        click.option(
            "--ca-bundle",
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help="Extra trusted CA certificates (PEM), added to the operating system's store; SSL_CERT_FILE and "
            "REQUESTS_CA_BUNDLE are read too. Certificate verification cannot be turned off.",
        ),
    ]
)


def network_from(params: dict[str, Any]) -> Network:
    """TLS trust and proxies from ``--proxy``/``--ca-bundle`` and the environment; raises ``ConfigError``."""
    return Network.from_env(params.get("proxy"), params.get("ca_bundle"))


def delete_options(default_rate: str) -> Callable[[F], F]:
    """The options every delete command has (SPEC §3); their names are the contract."""
    return apply(
        [
            click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, allow_dash=True)),
            click.option(
                "--base-url",
                metavar="URL",
                help="API root, e.g. http://127.0.0.1:8787 for the emulator.",
            ),
            click.option(
                "--rate",
                default=default_rate,
                show_default=True,
                metavar="R|auto",
                help="Max requests started per second, in any 1 s window, no start-up burst; "
                "0 = unlimited; auto = find the quota by probing, starting from this default.",
            ),
            click.option(
                "--rate-store",
                metavar="URL",
                help="Share --rate with every process using this Redis store and --rate-key: "
                "redis://[user@]host:port/db or rediss://… (TLS, trusting --ca-bundle too). A password only from "
                "the environment variable: redis://:PASSWORD@host:port/db.",
            ),
            click.option(
                "--rate-key",
                metavar="KEY",
                help="The shared quota's key on --rate-store  [default: bulkdelete:{api}:{org}; "
                "http: bulkdelete:http:{host}].",
            ),
            click.option(
                "--concurrency",
                type=click.IntRange(min=1, max=1024),
                default=16,
                show_default=True,
                help="Max requests in flight.",
            ),
            click.option(
                "--max-attempts",
                type=click.IntRange(min=1, max=100),
                default=6,
                show_default=True,
                help="Attempts per request, the first included.",
            ),
            click.option(
                "--timeout",
                type=click.FloatRange(min=0.1),
                default=30.0,
                show_default=True,
                metavar="S",
                help="Seconds one request may take, from connecting to the end of the answer; a request that "
                "times out is retried (up to --max-attempts).",
            ),
            click.option(
                "-o",
                "--output",
                type=click.Path(dir_okay=False),
                metavar="FILE",
                help="Write the result JSON lines to FILE  [default: stdout].",
            ),
            click.option(
                "--resume",
                type=click.Path(dir_okay=False),
                metavar="FILE",
                help="Skip ids FILE records as ok; append new results to FILE (a journal).",
            ),
            click.option(
                "--dry-run", is_flag=True, help="Read, validate, de-duplicate, write 'planned' lines; no network."
            ),
            click.option(
                "--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True, help="Input shape."
            ),
            click.option(
                "--field",
                metavar="NAME",
                help="JSONL key / CSV column holding the id  [default: documentId, then id, uri].",
            ),
            click.option(
                "--max-errors",
                metavar="N|N%",
                help="Abort (exit 3) once N records (or N% of those decided) are not ok.",
            ),
            click.option("--no-dedupe", is_flag=True, help="Do not de-duplicate ids (constant memory)."),
            click.option(
                "--stop-after",
                metavar="DURATION",
                help="End the run gracefully after e.g. 90m, 2h (maintenance windows).",
            ),
            click.option(
                "--max-requests",
                type=click.IntRange(min=1),
                metavar="N",
                help="End the run gracefully after N requests (spare the shared daily quota).",
            ),
            click.option(
                "--progress/--no-progress",
                default=None,
                help="Live progress on stderr  [default: on when stderr is a terminal].",
            ),
            click.option(
                "--log-every",
                default="30s",
                show_default=True,
                metavar="DURATION",
                help="When progress is not drawn live (stderr not a terminal, --no-progress, --log-format json): "
                "one progress line every DURATION; 0 = never.",
            ),
            click.option(
                "--log-format",
                type=click.Choice(LOG_FORMATS),
                default="text",
                show_default=True,
                help="stderr as text (logfmt progress lines) or json (every line one JSON object with an 'event').",
            ),
            click.option(
                "--summary",
                "summary_path",
                type=click.Path(dir_okay=False),
                metavar="FILE",
                help="Write the run summary as JSON to FILE.",
            ),
            click.option(
                "--overwrite",
                is_flag=True,
                help="Let -o replace an existing non-empty file (an earlier run's results); devices and pipes are "
                "always written as given, --resume always appends.",
            ),
            click.option("-q", "--quiet", is_flag=True, help="No human summary on stderr."),
            click.option(
                "--shard",
                metavar="I/N",
                help="Take only shard I of N of the input (0 <= I < N <= 4096), split by a hash of each id: N "
                "processes given the same input take every record exactly once, e.g. --shard "
                "$JOB_COMPLETION_INDEX/8 in a Kubernetes Indexed Job.",
            ),
            network_options,
            metrics.metrics_options,
        ]
    )


def default_of(name: str) -> str | None:
    """The running command's default for option ``name`` (e.g. ``--rate``'s: 50 for Coveo), if any, as text."""
    context = click.get_current_context(silent=True)
    if context is None:
        return None
    for param in context.command.params:
        if param.name == name and isinstance(param.default, str | int | float):
            return str(param.default)
    return None


def run_options(params: dict[str, Any], secrets: tuple[Secret, ...] = ()) -> RunOptions:
    """``RunOptions`` from the parsed delete options; raises ``ConfigError`` on a bad value (inside
    ``config_errors()``: every bad value is recorded, see ``cli/checks.py``)."""
    console.configure(fmt=params["log_format"])  # before any check, so that its error is in the chosen format too
    no_budget: tuple[int | None, float | None] = (None, None)
    max_errors, max_error_percent = (
        check(lambda: parse_max_errors(params["max_errors"]), no_budget) if params["max_errors"] else no_budget
    )
    unlimited: RateSpec = Unlimited()
    network = check(lambda: network_from(params), None)
    stop_after = params["stop_after"]
    shard = params.get("shard")
    rate = check(lambda: parse_rate(params["rate"], default_of("rate")), unlimited)
    store = None
    if params.get("rate_store"):
        store = check(lambda: parse_rate_store(params["rate_store"], _from_command_line("rate_store"), rate), None)
    if store is not None:
        key = params.get("rate_key") or rate_key_for(_api_name(), params)
        store = replace(store, key=key)
        secrets += (store.password,) if store.password is not None else ()
    return RunOptions(
        inputs=tuple(params["files"]),
        fmt=params["fmt"],
        field=params["field"],
        rate=rate,
        concurrency=params["concurrency"],
        max_attempts=params["max_attempts"],
        timeout=params["timeout"],
        output=check(lambda: check_writable(params["output"], "-o/--output"), None),
        resume=check(lambda: check_writable(params["resume"], "--resume"), None),
        dry_run=params["dry_run"],
        dedupe=not params["no_dedupe"],
        max_errors=max_errors,
        max_error_percent=max_error_percent,
        stop_after=check(lambda: parse_duration(stop_after), None) if stop_after else None,
        max_requests=params["max_requests"],
        progress=params["progress"],
        log_every=check(lambda: parse_duration(params["log_every"], "--log-every", allow_zero=True), 0.0),
        log_format=params["log_format"],
        summary_path=check(lambda: check_writable(params["summary_path"], "--summary"), None),
        overwrite=params["overwrite"],
        quiet=params["quiet"],
        backoff=BackoffPolicy(),
        secrets=secrets + (network.secrets if network is not None else ()),
        network=network,
        shard=check(lambda: Shard.parse(shard), None) if shard is not None else None,
        rate_store=store,
        metrics=check(lambda: metrics.watch_from(params, api=_api_name()), None),
    )


def _from_command_line(name: str) -> bool:
    context = click.get_current_context(silent=True)
    return context is not None and context.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE


def _api_name() -> str:
    """The running command's API (``coveo``, ``velt``, ``http``): the group above the ``delete`` command."""
    context = click.get_current_context(silent=True)
    parent = context.parent if context is not None else None
    return (parent.info_name if parent is not None else None) or "bulkdelete"


def replace(obj: T, **changes: Any) -> T:
    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]


def execute(target: Target, options: RunOptions, hooks: RunHooks | None = None) -> None:
    """Run to the end and exit with the run's status (SPEC §5)."""
    console.configure(secrets=options.secrets)
    if (not options.inputs or "-" in options.inputs) and sys.stdin.isatty() and not options.quiet:
        console.info("reading ids from the terminal, one per line; end with Ctrl-D")
    sys.exit(exit_status(lambda: loop.run(run_deletion(target, options, hooks=hooks)).exit_code, options))


def exit_status(run: Callable[[], int], options: RunOptions) -> int:
    """``run()``'s exit status; a ``ConfigError`` found once it starts (before anything is sent, e.g. the journal is
    locked) is 2, anything else a bug: one line saying so (lines already written stand), 70. With metrics (SPEC
    §14): ``/metrics`` is bound first (a port in use: 2, nothing sent), the outcome pushed whatever the exit."""
    try:
        served = metrics.serve(options.metrics)
    except ConfigError as exc:
        console.error(str(exc))
        return EXIT_USAGE
    code = _exit_status(run, options)
    if served is not None:
        served.finish(code)
    return code


def _exit_status(run: Callable[[], int], options: RunOptions) -> int:
    try:
        return run()
    except ConfigError as exc:
        console.error(str(exc))
        return EXIT_USAGE
    except Exception as exc:  # a bug: the traceback on demand
        if os.environ.get("BULKDELETE_DEBUG", "") not in ("", "0"):
            traceback.print_exc()  # for the report; the exit status stays that of a bug
        reason = scrub(f"{type(exc).__name__}: {exc}", options.secrets)
        console.error(
            f"internal error ({reason}): this is a bug in bulkdelete; please report it to its maintainers with the "
            "output of the same command run with BULKDELETE_DEBUG=1 (it adds the traceback)"
        )
        return EXIT_INTERNAL
