"""``bulkdelete emulator``: serve the emulator until SIGINT/SIGTERM, then exit 0 quietly."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import ssl
from typing import Any

import click

from bulkdelete.emulator.config import (
    DEFAULT_MAX_UPLOAD_BYTES,
    EmulatorConfig,
    Quota,
    parse_quota,
    parse_refusal,
    parse_source_id,
)
from bulkdelete.emulator.runner import run_emulator
from bulkdelete.emulator.store import Doc, read_docs
from bulkdelete.output import console


class QuotaType(click.ParamType[Quota, Any]):
    name = "N/1s|N/1m"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Quota:
        if isinstance(value, Quota):
            return value
        try:
            return parse_quota(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class RefusalType(click.ParamType[tuple[int, str], Any]):
    name = "STATUS:CODE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, str]:
        if isinstance(value, tuple):
            return value
        try:
            return parse_refusal(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class SourceIdType(click.ParamType[tuple[str, str], Any]):
    name = "NAME=ID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        try:
            return parse_source_id(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


RATE = click.FloatRange(0.0, 1.0)


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (loopback by default).")
@click.option("--port", type=click.IntRange(0, 65535), default=8787, show_default=True, help="0 picks a free port.")
@click.option(
    "--docs",
    "docs_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help='Seed documents, one a line: an id, or a JSON object {"id", "source"?, "date"?, "indexeddate"?, '
    '"folder"?, any field} (source default demo-source, dates epoch ms, default the load time); each gets a rowid '
    "above 2^53 in load order (repeatable: e.g. a Coveo and a Velt sample).",
)
@click.option("--api-key", envvar="BULKDELETE_EMULATOR_API_KEY", help="Accept only this key (else any non-empty).")
@click.option("--quota", type=QuotaType(), help="Requests per sliding window per organization, e.g. 50/1s.")
@click.option("--retry-after", type=click.IntRange(min=0), help="Send Retry-After: S with every 429.")
@click.option("--daily-items", type=click.IntRange(min=0), help="Coveo items per org before 429 daily quota.")
@click.option("--fail-rate", type=RATE, default=0.0, show_default=True, help="Fraction answered 503 / Velt internal.")
@click.option("--reset-rate", type=RATE, default=0.0, show_default=True, help="Fraction of connections dropped.")
@click.option("--latency-ms", type=click.FloatRange(min=0), default=0.0, show_default=True, help="Added delay.")
@click.option("--seed", type=int, help="Make the faults repeatable.")
@click.option("--max-ids", type=click.IntRange(min=1), default=30, show_default=True, help="Velt ids per request.")
@click.option(
    "--max-upload-bytes",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_UPLOAD_BYTES,
    show_default=True,
    help="File container cap (413 past it).",
)
@click.option("--org", "orgs", multiple=True, help="Only these organizations (repeatable); others get 403.")
@click.option("--velt-legacy-not-found", is_flag=True, help="Velt absent ids: success true, 'does not exist'.")
@click.option("--olderthan-clears", is_flag=True, help="documents/olderthan deletes every document.")
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE",
    help="Serve https with this PEM certificate chain (with --tls-key).",
)
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), metavar="FILE", help="Its PEM private key.")
@click.option(
    "--refuse",
    type=RefusalType(),
    help="Refuse every delete-side request (not searches, logs, gets) with this final error, "
    "e.g. 400:INVALID_PARAMETER (a wrong flag or source).",
)
@click.option("--org-paused", is_flag=True, help="Every Coveo Push API request: 400 ORGANIZATION_IS_PAUSED.")
@click.option("--upload-fail-rate", type=RATE, default=0.0, show_default=True, help="Fraction of uploads answered 503.")
@click.option(
    "--upload-throttle-rate",
    type=RATE,
    default=0.0,
    show_default=True,
    help="Fraction of uploads answered 429 (Retry-After with --retry-after).",
)
@click.option(
    "--upload-latency-ms",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Delay before each file container upload is answered (a timeout when above the client's).",
)
@click.option(
    "--processing-delay",
    "processing_delay_s",
    type=click.FloatRange(min=0, max=86400),
    default=0.0,
    show_default=True,
    metavar="S",
    help="Seconds between a Coveo delete's 202 and its effect (0: at once).",
)
@click.option(
    "--delete-fail-rate",
    type=RATE,
    default=0.0,
    show_default=True,
    help="Fraction of Coveo deletes accepted (202) that never take effect: Logs API ERROR at INDEXING.",
)
@click.option(
    "--secured-rate",
    type=RATE,
    default=0.0,
    show_default=True,
    help="Fraction of the --docs documents that only a viewAllContent=true search sees.",
)
@click.option("--logs-denied", is_flag=True, help="The Coveo Logs API answers 403 ACCESS_DENIED.")
@click.option(
    "--search-latency-ms",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    metavar="MS",
    help="Delay before every Search API answer, in milliseconds (what bounds a sequential listing).",
)
@click.option(
    "--response-cap",
    type=click.IntRange(min=1),
    metavar="BYTES",
    help="A Search API answer larger than this is 400 ResponseExceededMaximumSizeException (default: no cap).",
)
@click.option(
    "--source-id",
    "source_ids",
    multiple=True,
    type=SourceIdType(),
    help="The Sources API id of source NAME (repeatable); any other source's id is its name.",
)
@click.option(
    "--velt-repeat-token-after",
    type=click.IntRange(min=0),
    metavar="N",
    help="Fault: once N Velt listing pages were served, a page asked with a pageToken answers that token again.",
)
def emulator_command(docs_paths: tuple[str, ...], orgs: tuple[str, ...], **options: Any) -> None:
    """Run a local emulator of the Coveo Push API, the Velt REST API and a plain REST API
    (DELETE /rest/{collection}/{id}: 204, or 404 when absent; for bulkdelete http delete),
    with what verify and list read: the Coveo Search API (POST /rest/search/v2: @field==, =, <, <=, >, >=, <>,
    *= on @uri, @source, @rowid, @date, @indexeddate and loaded fields, AND/OR/NOT and parentheses, dates
    YYYY/MM/DD[@hh:mm:ss] and now-Nd; sortCriteria "@rowid ascending|descending"; at most 1,000 results a
    page and 5,000 deep; answers cached 300 s unless maximumAge is 0), the Coveo Sources API
    (GET /rest/organizations/{org}/sources/{id}: a source's id is its name unless --source-id maps it),
    the Coveo Logs API (POST /logs/v1/organizations/{org}) and Velt Get Documents
    (POST /v2/organizations/documents/get: by documentIds, or paged by pageSize/pageToken/folderId).
    GET /_emulator/stats counts what a client did (searches, searches_cached, searches_without_view_all...).
    Faults (--fail-rate, --delete-fail-rate, --secured-rate, --reset-rate) are repeatable with --seed.

    \b
    Examples:
      bulkdelete emulator --docs ids.txt
      bulkdelete emulator --port 0 --quota 50/1s --retry-after 1 --fail-rate 0.01 --seed 7
      bulkdelete emulator --docs ids.txt --processing-delay 120 --delete-fail-rate 0.01 --secured-rate 0.1 --seed 7
      bulkdelete emulator --docs docs.jsonl --search-latency-ms 300 --response-cap 2000000 --source-id web=org-web-1
      BULKDELETE_EMULATOR_API_KEY=secret bulkdelete emulator --latency-ms 20
      bulkdelete emulator --tls-cert server.pem --tls-key server.key   # https (clients: --ca-bundle ca.pem)
    """
    try:
        config = EmulatorConfig(allowed_orgs=frozenset(orgs) if orgs else None, **options)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        docs = [doc for path in docs_paths for doc in read_docs(path)]
    except ValueError as exc:
        raise click.UsageError(f"--docs: {exc}") from None
    try:
        asyncio.run(_serve(config, docs))
    except ssl.SSLError as exc:
        raise click.ClickException(f"cannot serve https with --tls-cert/--tls-key: {exc.reason or exc}") from None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {config.host}:{config.port}: {exc.strerror}") from None


async def _serve(config: EmulatorConfig, docs: list[Doc]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with run_emulator(config, docs) as emu:
        # What exists now (the modules, the app, the documents) lives as long as the server: out of the cycle
        # collector's way. Each full collection traversed it all, a 17-40 ms pause in which no request is stamped,
        # then the backlog is stamped at once: the quota's 1 s window counted up to 812 starts from a client that
        # put at most 792 on the wire in any second (--rate 800, benchmarks/RESULTS.md §15, issue 20). A server of
        # the real API does not stall its quota counter on this emulator's garbage collector.
        gc.collect()
        gc.freeze()
        console.info(f"emulator listening on {emu.base_url} ({len(docs)} documents)")
        await stop.wait()
