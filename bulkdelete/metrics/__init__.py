"""Watching a run live (SPEC §14): Prometheus metrics served during the run, the outcome pushed at the end.

The API a command uses (none of it imports ``prometheus-client``; ``serve`` does, only when metrics are asked for):

- ``@metrics_options``: the click options ``--metrics-addr HOST:PORT``, ``--metrics-linger DURATION``,
  ``--metrics-push-url URL``, ``--metrics-job NAME`` and ``--metrics-instance NAME`` (``cli.common.delete_options``
  includes them, so every delete, verify and list command has them; each is also ``BULKDELETE_METRICS_…``).
- ``watch_from(params, api=…)``: the command's ``Watch`` (None when no metrics option is given); ``ConfigError`` on
  a bad value. ``cli.common.run_options`` puts it in ``RunOptions.metrics``.
- ``serve(watch)``: binds ``/metrics`` before anything is sent (``ConfigError``: exit 2) and returns the server
  whose ``finish(exit_code)`` pushes the outcome, lingers and stops; ``cli.common.exit_status`` calls both around
  the run, so a command that runs through ``exit_status`` needs nothing more.
- What the metrics read: the run attaches what it already counts, once, when it starts, on ``RunOptions.metrics``
  (a ``Watch``)::

      if options.metrics is not None:  # read at scrape time: nothing per record
          options.metrics.deletion(stats, rate, store=store, inputs=files)   # bulkdelete_records_total
          options.metrics.verification(stats, rate, verifier.counts)        # bulkdelete_verdicts_total
          options.metrics.listing(stats, rate, lambda: tally.lines)         # bulkdelete_listed_total
          options.metrics.call(stats)                                        # one API call's requests

  Every phase's ``RunStats`` adds to the request figures; ``rate`` (``RateReadings``: ``current_rate``,
  ``paused_s``) gives the rate target and the pauses; ``store`` (the ``--rate-store`` grants) its errors.

The metric names, the alert rules (``deploy/prometheus/alerts.yml``) and the dashboard
(``deploy/grafana/bulkdelete.json``) are described in the README, "Watching a run".
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from bulkdelete.errors import ConfigError
from bulkdelete.metrics.config import MetricsConfig, default_instance, metrics_config, metrics_options
from bulkdelete.metrics.watch import Reading, Watch

if TYPE_CHECKING:
    from bulkdelete.metrics.serving import MetricsServer

__all__ = [
    "MetricsConfig",
    "Reading",
    "Watch",
    "default_instance",
    "metrics_config",
    "metrics_options",
    "serve",
    "watch_from",
]


def watch_from(params: dict[str, Any], *, api: str = "") -> Watch | None:
    """The ``Watch`` of a command's parsed ``params`` (labels from ``--org``, ``--source``, ``--shard``), or None
    without any metrics option; ``ConfigError`` on a bad value."""
    config = metrics_config(params)
    if config is None:
        return None
    return Watch(
        config,
        api=api,
        org=str(params.get("org") or ""),
        source=str(params.get("source") or ""),
        shard=str(params.get("shard") or ""),
    )


def serve(watch: Watch | None) -> MetricsServer | None:
    """Serve ``watch`` (``ConfigError`` when the address cannot be bound or the client is not installed); None for
    None. Call ``finish(exit_code)`` on what it returns once the run has ended."""
    if watch is None:
        return None
    if importlib.util.find_spec("prometheus_client") is None:
        raise ConfigError("the metrics options need prometheus-client: pip install 'bulkdelete[metrics]'")
    from bulkdelete.metrics.serving import serve as start

    return start(watch)
