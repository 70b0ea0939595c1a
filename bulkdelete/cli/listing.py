"""``bulkdelete coveo list`` and ``bulkdelete velt list`` (SPEC §13): one JSON line per item an index holds.

The list commands take the delete commands' run options that make sense for queries (rate, rate store, concurrency,
attempts, timeout, output, progress, logs, summary, budgets, network), plus what to list and ``--except``: what they
share is here, the commands in ``cli/coveo_list.py`` and ``cli/velt_list.py`` (registered by ``cli/coveo.py`` and
``cli/velt.py``).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from bulkdelete.cli import loop
from bulkdelete.cli import verify as checking
from bulkdelete.cli.common import exit_status
from bulkdelete.output import console
from bulkdelete.pipeline.run import RunOptions
from bulkdelete.select import Prepare, run_listing

NOT_FOR_LISTING = ("files", "resume", "dry_run", "max_errors", "no_dedupe", "shard")
DEFAULT_LIST_RATE = "5"

except_option = click.option(
    "--except",
    "excepts",
    multiple=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    metavar="FILE",
    help="Leave out every id FILE holds (ids, JSON lines, CSV, .gz; '-': stdin); repeatable. What remains are the "
    "index's items your system of record no longer has. A FILE holding no id is a usage error.",
)


def for_listing(command: click.Command) -> click.Command:
    """``command`` without the options that only deletes have (input files, ``--resume``, ``--dry-run``, …)."""
    command.params = [p for p in command.params if p.name not in NOT_FOR_LISTING]
    for param in command.params:  # --format / --field read the --except files
        if param.name == "fmt":
            param.help = "Shape of the --except files."
        elif param.name == "field":
            param.help = "JSONL key / CSV column holding the id in the --except files  [default: documentId, id, uri]."
    return command


def list_options(params: dict[str, Any]) -> RunOptions:
    """``RunOptions`` of a list command: the queries' rate shares the search budget of a rate store (``:verify``)."""
    return checking.verify_run_options({**params, "files": ()})


def execute_listing(prepare: Prepare, options: RunOptions, excepts: tuple[str, ...]) -> None:
    console.configure(secrets=options.secrets)
    if "-" in excepts and sys.stdin.isatty() and not options.quiet:
        console.info("reading --except ids from the terminal, one per line; end with Ctrl-D")
    code = exit_status(lambda: loop.run(run_listing(prepare, options, excepts=excepts)).exit_code, options)
    sys.exit(code)
