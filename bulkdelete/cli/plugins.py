"""``bulkdelete <name> delete`` for each ``TargetPlugin`` in the entry-point group ``bulkdelete.targets``.

Plugins are found with ``importlib.metadata.entry_points`` and imported only when their command is used or listed
(``--help``). A plugin that cannot be loaded still gets a command: it says why and exits 2, and the rest of the
CLI keeps working.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any, NoReturn

import click

from bulkdelete.cli.common import config_errors, delete_options, execute, replace, run_options
from bulkdelete.cli.options import check_base_url, secret_from
from bulkdelete.errors import ConfigError
from bulkdelete.output import console
from bulkdelete.output.summary import EXIT_USAGE
from bulkdelete.secrets import Secret
from bulkdelete.targets.plugins import ENTRY_POINT_GROUP, PluginContext, TargetPlugin


def plugin_entry_points() -> dict[str, EntryPoint]:
    """The group's entry points by name (the first one wins when two packages use the same name)."""
    found: dict[str, EntryPoint] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry_point.name, entry_point)
    return found


def plugin_group(entry_point: EntryPoint) -> click.Command:
    """``<name>`` with its ``delete`` command, or a command that explains why the plugin cannot be used."""
    try:
        plugin = entry_point.load()
    except Exception as exc:  # any error of a third party's import: reported, never fatal to the CLI
        return _broken(entry_point, f"cannot be loaded ({type(exc).__name__}: {exc})")
    if not isinstance(plugin, TargetPlugin):
        return _broken(entry_point, f"names a {type(plugin).__name__}, not a bulkdelete.targets.TargetPlugin")
    summary = plugin.help.strip().splitlines()[0] if plugin.help.strip() else f"{entry_point.name} (plugin)"
    group = click.Group(entry_point.name, help=f"{summary}  [plugin: {entry_point.value}]")
    group.add_command(_delete_command(entry_point.name, plugin))
    return group


def _delete_command(name: str, plugin: TargetPlugin) -> click.Command:
    own = {option.name for option in plugin.options if option.name}

    def delete(**params: Any) -> None:
        with config_errors():
            options = run_options(params)
            context = _context(name, plugin, params, own, options.dry_run)
            target = plugin.make_target(context)
            options = replace(options, secrets=tuple(context.secrets.values()))
        execute(target, options)

    text = plugin.help or f"Delete the items whose ids are read from FILES through the {name} plugin."
    command = click.command("delete", help=text)(delete_options(plugin.default_rate)(delete))
    command.params = [*plugin.options, *command.params]  # the plugin's own options first in --help
    return command


def _context(name: str, plugin: TargetPlugin, params: dict[str, Any], own: set[str], dry_run: bool) -> PluginContext:
    """The checked ``--base-url``, the plugin's own option values and its secrets; raises ``ConfigError``."""
    base_url = params.get("base_url") or plugin.base_url
    if not base_url:
        raise ConfigError(f"--base-url is required: the root URL of the API the {name} plugin talks to")
    what = f"a credential of the {name} plugin"
    secrets = {env: Secret("") if dry_run else secret_from(env, what=what) for env in plugin.secrets}
    if secrets and not dry_run:
        base_url = check_base_url(base_url)  # https anywhere, plain http only to a loopback host
    elif not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"--base-url must be an http(s) URL (got {base_url!r})")
    mine = {key: value for key, value in params.items() if key in own}
    return PluginContext(base_url.rstrip("/"), mine, secrets, dry_run)


def _broken(entry_point: EntryPoint, reason: str) -> click.Command:
    """A command that takes any arguments and exits 2 saying why the plugin cannot be used."""
    message = f"the plugin {entry_point.name!r} ({entry_point.value}) {reason}"

    def refuse(**_: Any) -> NoReturn:
        console.error(message)
        raise SystemExit(EXIT_USAGE)

    return click.Command(
        entry_point.name,
        callback=refuse,
        params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
        context_settings={"ignore_unknown_options": True, "help_option_names": []},
        help=f"(unusable plugin: {reason})",
    )
