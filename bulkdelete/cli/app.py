"""The ``bulkdelete`` command group and its entry point.

Subcommands are imported when used: ``bulkdelete coveo delete`` need not pay for importing the emulator's web server
(~70 ms of start-up, measured with ``python -X importtime``).
"""

from __future__ import annotations

import importlib

import click

from bulkdelete._version import __version__
from bulkdelete.cli.checks import collect_parse_errors
from bulkdelete.cli.envvars import PREFIX, with_env_defaults
from bulkdelete.cli.usage import run_cli

COMMANDS = {
    "coveo": ("bulkdelete.cli.coveo", "coveo"),
    "velt": ("bulkdelete.cli.velt", "velt"),
    "http": ("bulkdelete.cli.http", "http"),
    "emulator": ("bulkdelete.emulator.cli", "emulator_command"),
    "demo": ("bulkdelete.cli.demo", "demo_command"),
    "report": ("bulkdelete.cli.report", "report_command"),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (click's documented lazy-loading pattern), followed by
    the targets that other packages add (entry points of the group ``bulkdelete.targets``: ``cli/plugins.py``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from bulkdelete.cli.plugins import plugin_entry_points

        return [*COMMANDS, *sorted(name for name in plugin_entry_points() if name not in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            from bulkdelete.cli.plugins import plugin_entry_points, plugin_group

            entry_point = plugin_entry_points().get(cmd_name)
            return None if entry_point is None else with_env_defaults(plugin_group(entry_point), cmd_name)
        module, attribute = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return collect_parse_errors(with_env_defaults(command, cmd_name))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, "-V", "--version", prog_name="bulkdelete")
def cli() -> None:
    """Delete very large numbers of documents from the Coveo Push API and the Velt REST API.

    Reads ids from files or stdin, sends deletes within your quota, writes one JSON line per input record to
    stdout and a summary to stderr. Exit status: 0 all ok, 1 some not ok, 2 usage error (nothing sent),
    3 aborted (401/403, daily quota, --max-errors, results that cannot be written), 4 stopped by --stop-after or
    --max-requests with records left (--resume finishes them), 70 internal error (a bug), 130 interrupted.
    """


def main() -> None:
    """Console entry point."""
    run_cli(cli, prog_name="bulkdelete", auto_envvar_prefix=PREFIX)
