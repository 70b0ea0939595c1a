"""Defaults from the environment: every option ``--some-option`` of a command can be set as ``BULKDELETE_SOME_OPTION``.

Click's ``auto_envvar_prefix`` names a variable after the command path and the Python parameter name
(``BULKDELETE_COVEO_DELETE_FMT`` for ``coveo delete --format``); the contract (SPEC §3) is one name per option,
whatever the command (``BULKDELETE_RATE``, ``BULKDELETE_LOG_FORMAT``, ``BULKDELETE_FORMAT``). So each option gets its
variable explicitly, derived from its long name, and ``--help`` shows it (``show_envvar``). Click keeps its order:
a flag on the command line wins over the environment, which wins over the default. An empty variable counts as
unset (click's rule).

Left out on purpose:

- the safety overrides (``--yes``, ``--allow-future-ordering-id``, ``--allow-site-children``): a guard that a job's
  environment could switch off for every later command would not guard anything;
- options given several times (``--header``): click splits an environment value on spaces, which would cut
  ``Name: value`` in two;
- the commands that are not API calls (``emulator``, ``demo``, ``report``) keep click's own prefix
  (``BULKDELETE_EMULATOR_PORT``, like the emulator's ``BULKDELETE_EMULATOR_API_KEY``): a test server must not pick
  up a job's ``BULKDELETE_ORG``, nor ``report`` write its page onto the job's ``BULKDELETE_OUTPUT`` results file.

The API's own variables keep working next to them, and win over nothing: ``--org`` reads ``BULKDELETE_ORG`` then
``COVEO_ORGANIZATION_ID`` (``VELT_ORGANIZATION_ID`` for Velt), ``--source`` ``COVEO_SOURCE_ID``, ``--region``
``COVEO_REGION``.
"""

from __future__ import annotations

import click

PREFIX = "BULKDELETE"
OWN_PREFIX = frozenset({"emulator", "demo", "report"})
NOT_FROM_ENV = frozenset({"--yes", "--allow-future-ordering-id", "--allow-site-children", "--help", "--version"})
API_VARIABLES = {
    ("coveo", "--org"): ("COVEO_ORGANIZATION_ID",),
    ("coveo", "--source"): ("COVEO_SOURCE_ID",),
    ("coveo", "--region"): ("COVEO_REGION",),
    ("velt", "--org"): ("VELT_ORGANIZATION_ID",),
}


def variable_for(option: click.Option) -> str | None:
    """``BULKDELETE_<LONG_NAME>`` for an option that may come from the environment, else None."""
    longs = [name for name in option.opts + option.secondary_opts if name.startswith("--")]
    if not longs or longs[0] in NOT_FROM_ENV or option.multiple:
        return None
    return f"{PREFIX}_{longs[0][2:].upper().replace('-', '_')}"


def with_env_defaults(command: click.Command, name: str) -> click.Command:
    """``command`` (and every subcommand) with each option readable from its environment variable, shown in
    ``--help``. ``name`` is the top-level command's (``coveo``). Idempotent."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_env_defaults(sub, name)
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        if name in OWN_PREFIX:  # click's auto_envvar_prefix: BULKDELETE_EMULATOR_<NAME>
            param.show_envvar = True
            continue
        param.allow_from_autoenv = False  # one documented name per option, not also BULKDELETE_COVEO_DELETE_RATE
        variable = variable_for(param)
        if variable is None or param.envvar:
            continue
        extra = next((v for (a, opt), v in API_VARIABLES.items() if a == name and opt in param.opts), ())
        param.envvar = [variable, *extra] if extra else variable
        param.show_envvar = True
    return command
