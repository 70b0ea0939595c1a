"""``bulkdelete coveo|velt|http verify`` and ``delete --verify FILE`` (SPEC §11): is each id really gone?

The verify commands take the delete commands' run options (rate, concurrency, attempts, timeout, output, format,
progress, logs, summary, network) minus those that only make sense for deletes (resume, dry run, error and request
budgets, de-duplication), plus how long and how often to look. ``delete --verify FILE`` runs the deletion, then
verifies every result line it wrote, the verdicts going to FILE.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import click

from bulkdelete.cli import loop
from bulkdelete.cli.checks import check
from bulkdelete.cli.common import apply, exit_status, replace, run_options
from bulkdelete.cli.options import check_writable, parse_duration, parse_rate
from bulkdelete.errors import ConfigError
from bulkdelete.input.formats import NOT_OK_RESULT
from bulkdelete.output import console
from bulkdelete.output.sink import check_results_path
from bulkdelete.output.summary import (
    EXIT_ABORTED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_NOT_OK,
    EXIT_OK,
    EXIT_USAGE,
    write_summary,
)
from bulkdelete.pipeline.run import RunHooks, RunOptions, run_deletion
from bulkdelete.rate.control import FixedRate
from bulkdelete.rate.redis_store import RateStore
from bulkdelete.records import Record, Result
from bulkdelete.targets.base import Target
from bulkdelete.verify.choice import CheckMode
from bulkdelete.verify.rounds import Check, VerifyOptions
from bulkdelete.verify.run import LogsFactory, VerifyReport, run_verification
from bulkdelete.verify.scanning import ScanPlan
from bulkdelete.verify.spool import Spool

DEFAULT_VERIFY_RATE = "5"
Annotate = Callable[[dict[str, Any], int], int]  # (summary, exit status) -> exit status
DELETE_ONLY = ("resume", "dry_run", "max_errors", "no_dedupe", "stop_after", "max_requests")
_DELETE_ONLY_DEFAULTS: dict[str, Any] = {
    "resume": None,
    "dry_run": False,
    "max_errors": None,
    "no_dedupe": False,
    "stop_after": None,
    "max_requests": None,
}

polling_options = apply(
    [
        click.option(
            "--interval",
            default="30s",
            show_default=True,
            metavar="DURATION",
            help="Check ids not yet gone again after this long, doubling each round up to 5m.",
        ),
        click.option(
            "--wait",
            default="15m",
            show_default=True,
            metavar="DURATION",
            help="Give up after this long: ids still there are 'present'. 0 = one pass.",
        ),
        click.option(
            "--logs-interval",
            default="2m",
            show_default=True,
            metavar="DURATION",
            help="Coveo: read the Logs API at most this often (and once more before any id is called present).",
        ),
        click.option("--no-logs", is_flag=True, help="Coveo: do not read the Logs API."),
        click.option(
            "--since",
            default="24h",
            show_default=True,
            metavar="DURATION",
            help="Coveo: look at delete log entries this far back (a delete --verify run: since it started).",
        ),
    ]
)

check_option = click.option(
    "--check",
    type=click.Choice([mode.value for mode in CheckMode]),
    default=CheckMode.AUTO.value,
    show_default=True,
    help="How a round looks for the ids: 'ids' asks for them (100 a query; Velt 30); 'scan' lists the whole source "
    "(Coveo: --source; Velt: the organization or --folder) and calls gone every id the complete listing did not "
    "return; 'auto' takes, each round, whichever costs fewer queries (Coveo: from one count query; Velt: ids).",
)

delete_verify_options = apply(
    [
        click.option(
            "--verify",
            "verify_path",
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help="After the run, check that each deleted id is really gone; one verdict line per result line to FILE.",
        ),
        click.option(
            "--verify-rate",
            default=DEFAULT_VERIFY_RATE,
            show_default=True,
            metavar="R",
            help="With --verify: queries per second (--rate stays the deletes').",
        ),
        polling_options,
    ]
)


def without_delete_only(command: click.Command) -> click.Command:
    """``command`` without the options that only deletes have (``--resume``, ``--dry-run``, budgets, …)."""
    command.params = [p for p in command.params if p.name not in DELETE_ONLY]
    return command


def verify_run_options(params: dict[str, Any]) -> RunOptions:
    """``RunOptions`` for a verify command: the run options it has, the delete-only ones at their defaults. With a
    rate store and no ``--rate-key``, the queries share their own budget (``…:verify``): a search quota is not the
    Push API's."""
    options = run_options({**_DELETE_ONLY_DEFAULTS, **params})
    if options.rate_store is not None and not params.get("rate_key"):
        options = replace(options, rate_store=for_queries(options.rate_store))
    return options


def for_queries(store: RateStore) -> RateStore:
    """The store's key for verification queries: the deletes' key + ``:verify``."""
    return replace(store, key=f"{store.key}:verify")


def polling(params: dict[str, Any]) -> VerifyOptions:
    """``VerifyOptions`` from ``--interval``, ``--wait`` and ``--logs-interval``; records every bad value."""
    interval = check(lambda: parse_duration(params["interval"], "--interval"), 30.0)
    wait = check(lambda: parse_duration(params["wait"], "--wait", allow_zero=True), 900.0)
    logs_interval = check(lambda: parse_duration(params["logs_interval"], "--logs-interval", allow_zero=True), 120.0)
    return VerifyOptions(interval_s=interval, wait_s=wait, logs_interval_s=logs_interval)


def since_s(params: dict[str, Any]) -> float:
    return check(lambda: parse_duration(params["since"], "--since"), 86400.0)


@dataclass(frozen=True, slots=True)
class VerifyPlan:
    """What ``delete --verify`` checks after the run, and how."""

    path: str
    check: Check
    options: VerifyOptions
    rate: str
    logs: Callable[[float], LogsFactory | None]  # the run's start (epoch s) -> the logs reader, or None
    scan: ScanPlan | None = None  # --check scan|auto: how rounds may list the source (None: by ids)


def plan_from(
    params: dict[str, Any],
    make_check: Callable[[], Check],
    logs: Callable[[float], LogsFactory | None],
    make_scan: Callable[[], ScanPlan | None] | None = None,
) -> VerifyPlan | None:
    """The ``delete --verify`` plan, or None without ``--verify``; a usage error with ``--dry-run``. ``make_scan``:
    the ``--check`` plan (SPEC §13.1), built only with ``--verify``."""
    path = params.get("verify_path")
    if path is None:
        return None
    if params.get("dry_run"):
        raise ConfigError("--verify with --dry-run: a dry run deletes nothing, there is nothing to verify")
    check(lambda: check_writable(path, "--verify"), None)
    check(lambda: check_results_path(path, overwrite=params["overwrite"], option="--verify"), None)
    rate = check(lambda: parse_rate(params["verify_rate"]), None)
    if params.get("rate_store") and rate is not None and not isinstance(rate, FixedRate):
        raise ConfigError(f"--verify-rate {params['verify_rate']} with --rate-store: a shared budget is a number > 0")
    scan = make_scan() if make_scan is not None else None
    return VerifyPlan(path, make_check(), polling(params), params["verify_rate"], logs, scan)


def check_mode(params: dict[str, Any]) -> CheckMode:
    """``--check`` (``auto`` when the command has none)."""
    return CheckMode(params.get("check") or CheckMode.AUTO)


def execute_verify(
    check_: Check, options: RunOptions, verify: VerifyOptions, logs: LogsFactory | None, scan: ScanPlan | None = None
) -> None:
    """Run a verification to its end and exit with its status (SPEC §11; ``scan``: §13.1)."""
    console.configure(secrets=options.secrets)

    def verification() -> int:
        return loop.run(run_verification(check_, options, verify, logs=logs, scan=scan)).exit_code

    sys.exit(exit_status(verification, options))


def execute_with_verify(target: Target, options: RunOptions, hooks: RunHooks | None, plan: VerifyPlan) -> None:
    """``delete --verify FILE``: the deletion, then the verification of every line it wrote; exit as SPEC §11."""
    console.configure(secrets=options.secrets)
    code = exit_status(lambda: loop.run(delete_then_verify(target, options, hooks, plan)), options)
    sys.exit(code)


async def delete_then_verify(
    target: Target,
    options: RunOptions,
    hooks: RunHooks | None,
    plan: VerifyPlan,
    *,
    records: AsyncIterable[Sequence[Record]] | None = None,
    annotate: Annotate | None = None,
) -> int:
    """The deletion (of ``records``, else of ``options.inputs``), then the verification of every line it wrote; the
    exit status. ``annotate(summary, code)`` adds to the summary before it is written and returns the exit status
    (``delete --where``: its ``selection``, and a listing that could not end)."""
    spool = Spool()  # the run's result lines, as records for the verification (a not-ok one: not_deleted)

    def keep(result: Result) -> None:
        record = result.record
        problem = None if result.ok else f"{NOT_OK_RESULT}{result.outcome.value}: {result.error}"
        spool.add(Record(record.id, record.line, record.file, problem))

    started = time.time()
    try:
        report = await run_deletion(
            target, replace(options, summary_path=None), hooks=hooks, records=records, on_result=keep
        )
        summary, code = report.summary, report.exit_code
        if code in (EXIT_USAGE, EXIT_INTERRUPTED, EXIT_INTERNAL):
            return finish_summary(options, summary, code if annotate is None else annotate(summary, code))
        verify_options = replace(
            options,
            inputs=(),
            output=plan.path,
            summary_path=None,
            rate=parse_rate(plan.rate),
            rate_store=None if options.rate_store is None else for_queries(options.rate_store),
        )
        checked = await run_verification(
            plan.check,
            verify_options,
            plan.options,
            logs=plan.logs(started - 60.0),
            records=spool.chunks(),
            scan=plan.scan,
        )
    finally:
        spool.close()
    summary["verification"] = checked.verification
    code = _combined_exit(code, checked)
    return finish_summary(options, summary, code if annotate is None else annotate(summary, code))


def _combined_exit(delete_code: int, checked: VerifyReport) -> int:
    """0 only when every record is ok and every verdict gone; else 1, or the run's (or the check's) own 2/3/4/130."""
    if delete_code not in (EXIT_OK, EXIT_NOT_OK):
        return delete_code
    if checked.exit_code not in (EXIT_OK, EXIT_NOT_OK):
        return checked.exit_code
    return EXIT_OK if delete_code == EXIT_OK and checked.all_gone else EXIT_NOT_OK


def finish_summary(options: RunOptions, summary: dict[str, Any], code: int) -> int:
    """Set the summary's exit code and write it to ``--summary``; a summary that cannot be written is exit 3."""
    summary["exit_code"] = code
    if options.summary_path is not None:
        try:
            write_summary(options.summary_path, summary)
        except OSError as exc:
            console.error(f"cannot write the summary to {options.summary_path!r}: {exc.strerror or exc}")
            return EXIT_ABORTED
    return code
