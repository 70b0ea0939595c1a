"""Running the command group so that every error reads the same: ``bulkdelete: error: …`` (or its JSON event).

Click would print its own usage errors as ``Usage: …`` / ``Try '… -h' for help.`` / ``Error: …`` and ``Aborted!``;
here the group runs with ``standalone_mode=False`` and those exceptions are reported through the console like every
other error: one line each, then a pointer to ``--help``, exit 2 (exit 130 for Ctrl-C at a prompt: nothing sent).
A usage error can come before the options are parsed, so the log format is read from the raw arguments and
``BULKDELETE_LOG_FORMAT``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from bulkdelete.cli.checks import ParseErrors
from bulkdelete.output import console
from bulkdelete.output.summary import EXIT_INTERRUPTED, EXIT_USAGE


def run_cli(group: click.Group, **extra: Any) -> None:
    """``group.main(...)`` with bulkdelete's error style; exits with the command's status."""
    args = sys.argv[1:]
    try:
        with console.routed_logging():  # library log records and warnings: through the console too
            status = group.main(args, standalone_mode=False, **extra)
    except click.UsageError as exc:
        console.configure(fmt=_log_format(args))
        for message in exc.messages if isinstance(exc, ParseErrors) else [exc.format_message()]:
            console.error(_sentence(message))
        command = exc.ctx.command_path if exc.ctx is not None else "bulkdelete"
        console.info(f"see '{command} --help'")
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        console.configure(fmt=_log_format(args))
        console.error(_sentence(exc.format_message()))
        sys.exit(exc.exit_code)
    except click.Abort:  # Ctrl-C or end of input at a prompt: nothing was sent
        console.configure(fmt=_log_format(args))
        console.error("interrupted: nothing sent")
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(status if isinstance(status, int) else 0)


def _log_format(args: list[str]) -> console.LogFormat:
    for index, arg in enumerate(args):
        if (arg == "--log-format" and args[index + 1 : index + 2] == ["json"]) or arg == "--log-format=json":
            return "json"
    return "json" if os.environ.get("BULKDELETE_LOG_FORMAT", "").strip() == "json" else "text"


def _sentence(message: str) -> str:
    """Click's ``No such option: --x`` in the house style: one line, lowercase start, like every other error."""
    message = " ".join(message.split())  # click lists choices on indented lines
    return message[:1].lower() + message[1:] if message[1:2].islower() else message
