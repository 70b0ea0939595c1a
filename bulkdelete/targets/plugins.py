"""Targets from other packages: an entry point in the group ``bulkdelete.targets`` adds ``bulkdelete <name> delete``.

The contract: the entry point names a ``TargetPlugin`` object (not a class, not a factory call)::

    # the plugin's pyproject.toml
    [project.entry-points."bulkdelete.targets"]
    items = "bulkdelete_items:plugin"

``bulkdelete items delete`` then has every run option of SPEC §3 (rate, concurrency, resume, budgets, summary…),
``--base-url``, and the plugin's own ``options`` (click options). Before anything is sent, bulkdelete reads each
environment variable named in ``secrets`` (missing: exit 2), refuses to send them over plain http to a non-loopback
``--base-url`` (exit 2), scrubs them from every message, and calls ``make_target(context)``: the plugin builds its
``Target`` from the ``PluginContext`` (raising ``ConfigError`` for a bad option: exit 2). With ``--dry-run`` no
secret is read (the values are empty). The engine does the rest, exactly as for the built-in targets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bulkdelete.secrets import Secret
from bulkdelete.targets.base import Target

if TYPE_CHECKING:
    import click

__all__ = ["ENTRY_POINT_GROUP", "PluginContext", "TargetPlugin"]

ENTRY_POINT_GROUP = "bulkdelete.targets"


@dataclass(frozen=True, slots=True)
class PluginContext:
    """What ``TargetPlugin.make_target`` gets: the checked ``--base-url``, the values of the plugin's own options
    (by click parameter name), and a ``Secret`` per environment variable named in ``TargetPlugin.secrets``."""

    base_url: str
    params: Mapping[str, Any]
    secrets: Mapping[str, Secret]
    dry_run: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetPlugin:
    """A target API that another package adds as ``bulkdelete <name> delete``.

    :param make_target: builds the ``Target`` once the options are checked; may raise ``ConfigError``.
    :param help: the command's description in ``--help`` (its first line is the one-line summary).
    :param options: the plugin's own click options (``click.option(...)`` decorators' targets: ``click.Option``).
    :param secrets: environment variables holding credentials (never on the command line).
    :param base_url: the API root when ``--base-url`` is not given; ``None`` makes ``--base-url`` required.
    :param default_rate: ``--rate``'s default, as text (requests per second, ``0`` or ``auto``).
    """

    make_target: Callable[[PluginContext], Target]
    help: str = ""
    options: Sequence[click.Option] = field(default_factory=tuple)
    secrets: Sequence[str] = field(default_factory=tuple)
    base_url: str | None = None
    default_rate: str = "10"
