"""``bulkdelete coveo delete --where EXPR`` run (SPEC §13): list ``(EXPR) @source=="NAME"``, delete it as it streams.

Order of events: read ``--except`` → open the listing's session (its own pacer at ``--list-rate``) → the source's
name (``--source-name``, else the Sources API) → one count query → the guards (the count on stderr,
``--max-delete``, the confirmation; ``--dry-run`` asks nothing) → the deletion (``run_deletion``, or ``delete
--verify``'s deletion then verification), fed by the listing's pages → the summary, with ``selection``.

An exit status of its own only where the deletion's says all went well (0/1) on a listing that could not end (3; an
interrupt 130): the records listed were decided, ``--resume`` lists again and skips them.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import click

from bulkdelete.cli import loop
from bulkdelete.cli import verify as checking
from bulkdelete.cli.common import exit_status, replace
from bulkdelete.net.transport import HttpTransport
from bulkdelete.output import console
from bulkdelete.output.stats import RunStats
from bulkdelete.output.summary import EXIT_ABORTED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from bulkdelete.pipeline.ending import StopReason
from bulkdelete.pipeline.run import RunHooks, RunOptions, run_deletion, shared_rate
from bulkdelete.rate.control import RateSpec
from bulkdelete.rate.redis_store import RateStore
from bulkdelete.secrets import Secret
from bulkdelete.select import CoveoListing, ExceptIds, ListContext, resolve_source_name
from bulkdelete.select.run import listing_transport
from bulkdelete.select.where import (
    WhereFeed,
    count_line,
    over_max_delete,
    question,
    selection_line,
    selection_part,
)
from bulkdelete.targets.base import Target


@dataclass(frozen=True, slots=True)
class WherePlan:
    """What ``--where`` lists, where, with which key, at which rate, and the guards it passes first."""

    aq: str
    org: str
    source_id: str
    source_name: str | None
    search_url: str
    platform_url: str
    search_key: Secret
    key_name: str
    lookup_key: Secret
    excepts: tuple[str, ...]
    list_rate: RateSpec
    list_store: RateStore | None
    max_delete: int | None
    yes: bool


def execute_where(
    plan: WherePlan, target: Target, options: RunOptions, hooks: RunHooks | None, verify: checking.VerifyPlan | None
) -> None:
    """Run ``--where`` to its end and exit with its status (SPEC §5; with ``--verify``, §11's)."""
    console.configure(secrets=options.secrets)
    sys.exit(exit_status(lambda: loop.run(_where(plan, target, options, hooks, verify)), options))


async def _where(
    plan: WherePlan, target: Target, options: RunOptions, hooks: RunHooks | None, verify: checking.VerifyPlan | None
) -> int:
    excepts, fmt, field = plan.excepts, options.fmt, options.field  # --format/--field: no input FILE, the --except's
    excepted = await ExceptIds.load(excepts, fmt=fmt, field=field) if excepts else None  # ConfigError: exit 2
    async with _listing_context(plan, options, excepted) as ctx:
        name = plan.source_name
        if name is None:
            name, end = await resolve_source_name(
                *_engine(ctx), platform_url=plan.platform_url, org=plan.org, source_id=plan.source_id,
                key=plan.lookup_key,
            )  # fmt: skip
            if name is None:
                return _stopped(end.reason, end.message or "the source look-up got no answer")
        listing = CoveoListing(
            plan.search_url, plan.org, plan.search_key, source=name, aq=plan.aq, key_name=plan.key_name,
            excepted=excepted,
        )  # fmt: skip
        total = await listing.count(*_engine(ctx))
        if total is None:
            return _stopped(listing.end.reason, listing.end.message or "the count query got no answer")
        refused = _guard(plan, total, name, options)
        if refused is not None:
            return refused
        return await _delete(listing, total, ctx, target, options, hooks, verify)


def _engine(ctx: ListContext) -> tuple[HttpTransport, Any, Any, RunStats]:
    return ctx.transport, ctx.rate, ctx.settings, ctx.stats


@asynccontextmanager
async def _listing_context(
    plan: WherePlan, options: RunOptions, excepted: ExceptIds | None
) -> AsyncIterator[ListContext]:
    """The listing's own session and pacer (``--list-rate``, the store's search key), retries as the run's."""
    # A dry run lists; --max-requests is the deletes' budget, not the listing's.
    listing = replace(options, rate=plan.list_rate, rate_store=plan.list_store, dry_run=False, max_requests=None)
    async with shared_rate(listing) as store:
        rate, stats = listing.rate_control(store), RunStats()
        async with listing_transport(listing, rate, stats) as transport:
            yield ListContext(transport, rate, listing.engine_settings(), stats, excepted)


def _stopped(reason: StopReason, message: str) -> int:
    """Nothing deleted: the look-up or the count did not answer (a refused expression: exit 2)."""
    console.error(f"{message}: nothing deleted")
    if reason is StopReason.INTERRUPTED:
        return EXIT_INTERRUPTED
    return EXIT_USAGE if reason is StopReason.INPUT_ERROR else EXIT_ABORTED


def _guard(plan: WherePlan, total: int, name: str, options: RunOptions) -> int | None:
    """The guards before the first delete: None to go on, else the exit status (nothing deleted)."""
    console.info(count_line(total, name), total_count=total, source=name)
    refusal = over_max_delete(total, plan.max_delete, name)
    if refusal is not None:
        console.error(refusal)
        return EXIT_USAGE
    if plan.yes or options.dry_run or total == 0:  # a dry run deletes nothing; with nothing matching, nothing to ask
        return None
    asked = question(total, name, excepting=bool(plan.excepts))
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        console.error(f"{asked} Refusing without a terminal: pass --yes. Nothing deleted.")
        return EXIT_USAGE
    # Asked on the loop's thread, blocking it: nothing else runs yet (the count is in, no delete started), and a
    # Ctrl-C here interrupts the question itself, which a prompt in a worker thread would not.
    if not click.confirm(asked, default=False, err=True):
        console.info("declined: nothing deleted.")
        return EXIT_USAGE
    return None


async def _delete(
    listing: CoveoListing,
    total: int,
    ctx: ListContext,
    target: Target,
    options: RunOptions,
    hooks: RunHooks | None,
    verify: checking.VerifyPlan | None,
) -> int:
    shard = options.shard
    if options.metrics is not None:  # the listing's queries and items are the run's too (SPEC §14); attached before
        options.metrics.listing(ctx.stats, ctx.rate, lambda: listing.listed)  # the deletes, whose rate is the target
    pages = listing.pages(*_engine(ctx)) if total else _nothing()  # nothing confirmed: nothing listed further
    feed = WhereFeed(pages, shard)
    started = asyncio.get_running_loop().time()
    # This shard's ids are picked from the listing here. The count is what progress counts up to, unless --shard
    # (a hash share: about total/N) or --except (any part of it) makes it only a bound.
    expected = total if shard is None and ctx.excepted is None else None
    run = replace(options, shard=None, summary_path=None, records_expected=expected)

    def annotate(summary: dict[str, Any], code: int) -> int:
        summary["selection"] = selection_part(listing, asyncio.get_running_loop().time() - started)
        summary["shard"] = None if shard is None else str(shard)
        summary["other_shards"] = feed.other_shards
        return _with_listing(code, listing)

    try:
        if verify is not None:
            return await checking.delete_then_verify(
                target, replace(run, summary_path=options.summary_path), hooks, verify, records=feed, annotate=annotate
            )
        report = await run_deletion(target, run, hooks=hooks, records=feed)
        return checking.finish_summary(options, report.summary, annotate(report.summary, report.exit_code))
    finally:
        listing.stop(StopReason.INTERRUPTED, "the deletion ended")
        await feed.aclose()
        _say_selection(listing, feed, shard is not None, options)


async def _nothing() -> AsyncIterator[list[Any]]:
    return
    yield  # an async generator that yields nothing


def _with_listing(code: int, listing: CoveoListing) -> int:
    """The deletion's exit status, unless it finished (0/1) on a listing that could not: that listing's."""
    if code not in (EXIT_OK, 1) or listing.complete or listing.total_count == 0:
        return code
    reason, message = listing.end.reason, listing.end.message
    if reason is StopReason.INTERRUPTED:
        return EXIT_INTERRUPTED
    console.error(f"--where: the listing did not reach its end ({message or reason.value}): --resume lists again")
    return EXIT_ABORTED


def _say_selection(listing: CoveoListing, feed: WhereFeed, sharded: bool, options: RunOptions) -> None:
    if not options.quiet:
        console.info(selection_line(listing, feed.other_shards if sharded else None), other_shards=feed.other_shards)
