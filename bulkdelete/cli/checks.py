"""Configuration errors, all of them at once: a job with three wrong settings learns about the three in one run.

Inside ``with config_errors():`` every ``check(lambda: …, fallback)`` that raises ``ConfigError`` records the message
and hands back ``fallback``, so the checks after it still run; on leaving the block, each recorded message is printed
(``bulkdelete: error: …``) and the process exits 2, before anything is sent. A ``ConfigError`` raised straight inside
the block (not through ``check``) ends it and is reported with the ones recorded so far. Outside the block (library
use) ``check`` just raises.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import click

from bulkdelete.errors import ConfigError
from bulkdelete.output import console
from bulkdelete.output.summary import EXIT_USAGE

T = TypeVar("T")
_collected: ContextVar[list[str] | None] = ContextVar("bulkdelete_config_errors", default=None)


def check(compute: Callable[[], T], fallback: T) -> T:
    """``compute()``; inside ``config_errors()`` a ``ConfigError`` is recorded and ``fallback`` returned instead."""
    errors = _collected.get()
    if errors is None:
        return compute()
    try:
        return compute()
    except ConfigError as exc:
        errors.append(str(exc))
        return fallback


def fail_if_any() -> None:
    """Stop here (inside ``config_errors()``) when a check failed: what follows needs the real values."""
    errors = _collected.get()
    if errors:
        raise ConfigError(errors.pop())


@contextmanager
def config_errors() -> Iterator[None]:
    """Every configuration error of the block is printed, one line each, then exit status 2."""
    errors: list[str] = []
    token = _collected.set(errors)
    try:
        yield
    except ConfigError as exc:
        errors.append(str(exc))
    finally:
        _collected.reset(token)
    if errors:
        for message in dict.fromkeys(errors):  # the same mistake found twice is said once
            console.error(message)
        sys.exit(EXIT_USAGE)


class ParseErrors(click.UsageError):
    """Every option value click could not convert (``--concurrency abc``, ``--region xx``), reported together."""

    def __init__(self, messages: list[str], ctx: click.Context) -> None:
        super().__init__("; ".join(messages), ctx)
        self.messages = messages


def collect_parse_errors(command: click.Command) -> click.Command:
    """Make ``command`` (and its subcommands) report every bad option value at once instead of the first only.

    Each option's ``process_value`` (click's conversion and validation step) records its ``BadParameter`` in the
    context and yields None; once all are parsed, ``parse_args`` raises them together as ``ParseErrors``. Instance
    attributes, set once: click has no hook for this. Idempotent.
    """
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            collect_parse_errors(sub)
        return command
    if getattr(command, _MARK, False):
        return command
    setattr(command, _MARK, True)
    for param in command.params:
        param.process_value = _recording(param, param.process_value)  # type: ignore[method-assign]
    parse = command.parse_args

    def parse_args(ctx: click.Context, args: list[str]) -> list[str]:
        rest = parse(ctx, args)
        errors = ctx.meta.pop(_MARK, [])
        if errors:
            raise ParseErrors(errors, ctx)
        return rest

    command.parse_args = parse_args  # type: ignore[method-assign]
    return command


_MARK = "bulkdelete_parse_errors"


def _recording(param: click.Parameter, process: Callable[[click.Context, Any], Any]) -> Callable[..., Any]:
    def process_value(ctx: click.Context, value: Any) -> Any:
        try:
            return process(ctx, value)
        except click.BadParameter as exc:
            if ctx.resilient_parsing:  # shell completion: click's own handling
                raise
            ctx.meta.setdefault(_MARK, []).append(_describe(exc, param, ctx))
            return None

    return process_value


def _describe(exc: click.BadParameter, param: click.Parameter, ctx: click.Context) -> str:
    """Click's message, naming the environment variable only when the value came from there."""
    if type(exc) is not click.BadParameter:  # MissingParameter & co. word their own message
        exc.param, exc.ctx = exc.param or param, exc.ctx or ctx
        return exc.format_message()
    name = "/".join(param.opts) if param.opts else param.human_readable_name
    if param.name and ctx.get_parameter_source(param.name) is click.core.ParameterSource.ENVIRONMENT:
        variables = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
        name += f" (from {' or '.join(variables)})" if variables else " (from the environment)"
    return f"invalid value for {name}: {exc.message}"
