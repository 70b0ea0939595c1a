"""The metrics options (SPEC §14) and what they parse into: where to serve, how long to linger, where to push.

Parsing needs no ``prometheus-client``: a command reads its options whatever is installed, and the client is imported
only once a run serves or pushes (``bulkdelete.metrics.serving``).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from bulkdelete.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_JOB = "bulkdelete"
PUSH_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """``host``/``port``: where ``/metrics`` is served (None: not served; port 0 picks a free one). ``linger_s``:
    seconds to keep serving after the run. ``push_url``: the Pushgateway the outcome goes to at the end (None: no
    push), in the group ``job``/``instance``."""

    host: str | None = None
    port: int | None = None
    linger_s: float = 0.0
    push_url: str | None = None
    job: str = DEFAULT_JOB
    instance: str = "localhost"
    push_timeout_s: float = PUSH_TIMEOUT_S

    @property
    def serves(self) -> bool:
        return self.port is not None


def parse_addr(text: str) -> tuple[str, int]:
    """``--metrics-addr HOST:PORT`` (``[::1]:9464``; ``:9464`` = every interface) → ``(host, port)``."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError(
            f"--metrics-addr must be HOST:PORT, e.g. 127.0.0.1:9464 or :0 for any free port (got {text!r})"
        )
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host or "0.0.0.0", int(port_text)


def check_push_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--metrics-push-url must be the Pushgateway's http(s) URL, e.g. http://pushgateway:9091 "
                          f"(got {url!r})")  # fmt: skip
    if parts.username or parts.password:
        raise ConfigError("--metrics-push-url: credentials never go in a URL on the command line")
    return url.strip().rstrip("/")


def default_instance(shard: str | None) -> str:
    """The shard as ``I-of-N`` (a label value without a slash), else the host name."""
    if shard:
        index, _, count = shard.strip().partition("/")
        return f"{index}-of-{count}"
    return socket.gethostname() or "localhost"


def metrics_config(params: dict[str, Any]) -> MetricsConfig | None:
    """The metrics options of a command's ``params`` (``metrics_options``), or None when none is given; raises
    ``ConfigError`` on a bad value. Missing keys count as not given (a command without the options)."""
    addr, push = params.get("metrics_addr"), params.get("metrics_push_url")
    if not addr and not push:
        return None
    from bulkdelete.cli.options import parse_duration  # here: bulkdelete.cli imports this module

    host, port = parse_addr(addr) if addr else (None, None)
    linger = params.get("metrics_linger") or "0"
    return MetricsConfig(
        host=host,
        port=port,
        linger_s=parse_duration(linger, "--metrics-linger", allow_zero=True),
        push_url=check_push_url(push) if push else None,
        job=(params.get("metrics_job") or DEFAULT_JOB).strip(),
        instance=(params.get("metrics_instance") or default_instance(params.get("shard"))).strip(),
    )


_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "--metrics-addr",
        metavar="HOST:PORT",
        help="Serve Prometheus metrics at http://HOST:PORT/metrics for the whole run (port 0: a free one, named on "
        "stderr). Needs bulkdelete[metrics].",
    ),
    click.option(
        "--metrics-linger",
        default="0",
        show_default=True,
        metavar="DURATION",
        help="Keep serving /metrics that long after the run, so that the final counts are scraped.",
    ),
    click.option(
        "--metrics-push-url",
        metavar="URL",
        help="At the end (also after an abort or an interrupt) push the run's outcome to this Pushgateway.",
    ),
    click.option(
        "--metrics-job",
        default=DEFAULT_JOB,
        show_default=True,
        metavar="NAME",
        help="The pushed group's job label.",
    ),
    click.option(
        "--metrics-instance",
        metavar="NAME",
        help="The pushed group's instance label  [default: the shard as I-of-N, else the host name].",
    ),
]


def metrics_options(func: F) -> F:
    """Add ``--metrics-addr``, ``--metrics-linger``, ``--metrics-push-url``, ``--metrics-job`` and
    ``--metrics-instance`` to a click command (each also from its ``BULKDELETE_…`` variable)."""
    for option in reversed(_OPTIONS):
        func = option(func)
    return func
