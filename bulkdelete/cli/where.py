"""``bulkdelete coveo delete --where EXPR`` (SPEC §13): its options and its plan, checked before anything is sent.

The run itself (listing, guards, deletion) is ``cli/where_run.py``. The listing's queries spend the org's *search*
quota, not the Push API's: with ``--rate-store`` they take their own key, the deletes' key + ``:verify`` — the key
``delete --verify``'s and ``coveo list``'s queries take, as all are search queries of one org. ``--max-requests``
counts the deletes only; ``--stop-after`` ends both.
"""

from __future__ import annotations

from typing import Any

import click

from bulkdelete.cli import verify as checking
from bulkdelete.cli.checks import check
from bulkdelete.cli.common import apply
from bulkdelete.cli.options import check_base_url, parse_rate, required
from bulkdelete.cli.where_run import WherePlan, execute_where
from bulkdelete.errors import ConfigError
from bulkdelete.pipeline.run import RunOptions
from bulkdelete.rate.control import FixedRate, RateSpec
from bulkdelete.rate.redis_store import RateStore
from bulkdelete.secrets import Secret
from bulkdelete.select import platform_base
from bulkdelete.targets.coveo_search import search_base

__all__ = ["WherePlan", "execute_where", "where_options", "where_plan"]

DEFAULT_LIST_RATE = "5"
_WHERE_ONLY = {"excepts": "--except", "max_delete": "--max-delete", "source_name": "--source-name", "yes": "--yes"}

where_options = apply(
    [
        click.option(
            "--where",
            metavar="EXPR",
            help='Delete what the Search API lists for (EXPR) @source=="NAME" of --source, as it is listed (no '
            "input FILE), e.g. '@date<2024/01/01'. Asks first on a terminal; without one needs --yes.",
        ),
        click.option(
            "--source-name",
            metavar="NAME",
            help="--where: the source's name (what @source holds)  [default: looked up from --source with the "
            "Sources API].",
        ),
        click.option(
            "--except",
            "excepts",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False, allow_dash=True),
            metavar="FILE",
            help="--where: leave out every id FILE holds (orphans: FILE is your system of record's export); "
            "repeatable.",
        ),
        click.option(
            "--list-rate",
            default=DEFAULT_LIST_RATE,
            show_default=True,
            metavar="R",
            help="--where: search queries per second (the org's search quota; --rate stays the deletes'); with "
            "--rate-store they share the key --rate-key + ':verify' with verification's queries.",
        ),
        click.option(
            "--max-delete",
            type=click.IntRange(min=0),
            metavar="N",
            help="--where: refuse (exit 2, nothing deleted) when more than N items match.",
        ),
        click.option("--yes", is_flag=True, help="--where: do not ask (required without a terminal)."),
    ]
)


def where_plan(
    params: dict[str, Any], options: RunOptions, search: tuple[Secret, str], lookup_key: Secret | None
) -> WherePlan | None:
    """The plan of ``--where`` (None without it); every mistake recorded as a ``ConfigError`` (exit 2).

    ``search``: the Search API key and where it came from; ``lookup_key``: the Sources API's (the API key, when
    there is one), else the search key."""
    aq = params.get("where")
    if aq is None:
        given = [name for key, name in _WHERE_ONLY.items() if params.get(key)]
        check(lambda: _refuse(f"{', '.join(given)}: only with --where EXPR") if given else None, None)
        return None
    if params["files"]:
        check(lambda: _refuse(f"--where lists what to delete: it takes no input FILE (got {params['files'][0]})"), None)
    if not aq.strip():
        check(lambda: _refuse("--where needs an expression, e.g. --where '@date<2024/01/01'"), None)
    org = check(lambda: required(params.get("org"), "--org", "COVEO_ORGANIZATION_ID"), "-")
    source = check(lambda: required(params.get("source"), "--source", "COVEO_SOURCE_ID"), "-")
    given_base: str | None = params.get("base_url")
    base = check(lambda: check_base_url(given_base or ""), "http://127.0.0.1") if given_base else None
    fallback: RateSpec = FixedRate(5.0)
    list_rate = check(lambda: _list_rate(params["list_rate"], options.rate_store), fallback)
    return WherePlan(
        aq=aq,
        org=org,
        source_id=source,
        source_name=params.get("source_name"),
        search_url=base or search_base(params["region"], org),
        platform_url=base or platform_base(params["region"]),
        search_key=search[0],
        key_name=search[1],
        lookup_key=lookup_key if lookup_key is not None else search[0],
        excepts=tuple(params["excepts"]),
        list_rate=list_rate,
        list_store=None if options.rate_store is None else checking.for_queries(options.rate_store),
        max_delete=params["max_delete"],
        yes=params["yes"],
    )


def _refuse(message: str) -> None:
    raise ConfigError(message)


def _list_rate(text: str, store: RateStore | None) -> RateSpec:
    try:
        rate = parse_rate(text)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("--rate", "--list-rate")) from None
    if store is not None and not isinstance(rate, FixedRate):
        raise ConfigError(f"--list-rate {text} with --rate-store: a shared budget is a number > 0")
    return rate
