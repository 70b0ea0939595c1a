"""The ``bulkdelete`` command group and its entry point."""

from __future__ import annotations

import click

from bulkdelete._version import __version__
from bulkdelete.cli.coveo import coveo
from bulkdelete.cli.demo import demo_command
from bulkdelete.cli.velt import velt
from bulkdelete.emulator.cli import emulator_command


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="bulkdelete")
def cli() -> None:
    """Delete very large numbers of documents from the Coveo Push API and the Velt REST API.

    Reads ids from files or stdin, sends deletes within your quota, writes one JSON line per input record to
    stdout and a summary to stderr. Exit status: 0 all ok, 1 some not ok, 2 usage error (nothing sent),
    3 aborted (401/403, daily quota, --max-errors), 130 interrupted.
    """


cli.add_command(coveo)
cli.add_command(velt)
cli.add_command(emulator_command, "emulator")
cli.add_command(demo_command, "demo")


def main() -> None:
    """Console entry point."""
    cli(prog_name="bulkdelete")
