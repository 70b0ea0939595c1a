"""Serving ``/metrics`` and pushing the outcome: the part that imports ``prometheus-client``.

The server is prometheus_client's WSGI server in a daemon thread, one thread per scrape, bound before the run
starts: a port in use is a usage error (exit 2) before anything is sent. Being a thread of its own, it answers
while the event loop is busy (a scrape waits for the GIL, which the loop's thread gives up every 5 ms), during a
graceful Ctrl-C, and while the process lingers. The push runs after the event loop has ended, whatever the exit:
a Pushgateway that does not answer costs one warning and at most ``push_timeout_s``, never the exit status.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, pushadd_to_gateway, start_http_server

from bulkdelete.errors import ConfigError
from bulkdelete.metrics.collector import RunCollector
from bulkdelete.metrics.watch import Watch
from bulkdelete.output import console


class MetricsServer:
    """``/metrics`` of one ``Watch`` (None when only pushing), and the end: push, linger, stop."""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.address: str | None = None

    def __repr__(self) -> str:
        return f"<MetricsServer {self.address or 'not serving'} {self.watch!r}>"

    def start(self) -> None:
        """Bind and serve (``ConfigError`` when the address cannot be bound); say where on stderr."""
        config = self.watch.config
        if config.port is None or config.host is None:
            return
        registry = CollectorRegistry(auto_describe=False)
        registry.register(RunCollector(self.watch))
        try:
            self._server, self._thread = start_http_server(config.port, addr=config.host, registry=registry)
        except OSError as exc:
            given = f"{config.host}:{config.port}"
            raise ConfigError(f"--metrics-addr {given}: cannot serve there: {exc.strerror or exc}") from None
        host = config.host if ":" not in config.host else f"[{config.host}]"
        self.address = f"{host}:{self._server.server_port}"
        console.info(f"metrics on http://{self.address}/metrics", metrics_url=f"http://{self.address}/metrics")

    def finish(self, exit_code: int) -> None:
        """The run ended: push its outcome (when asked), serve ``linger_s`` more (a signal ends that), stop."""
        self.watch.finish(exit_code)
        push(self.watch)
        if self._server is not None:
            linger(self.watch.config.linger_s)
            self._server.shutdown()
            self._server.server_close()


def push(watch: Watch) -> bool:
    """PushAdd the run's outcome to the Pushgateway, in the group ``job``/``instance``: the families pushed replace
    their earlier values, the others stay (``bulkdelete_last_success_timestamp_seconds`` of the last good run).
    False (one warning) when it could not."""
    config = watch.config
    if config.push_url is None:
        return False
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunCollector(watch, pushed=True))
    try:
        pushadd_to_gateway(
            config.push_url,
            job=config.job,
            registry=registry,
            grouping_key={"instance": config.instance},
            timeout=config.push_timeout_s,
        )
    except Exception as exc:  # refused, unreachable, timed out, a 4xx/5xx: the run's outcome stands
        console.warning(
            f"could not push the run's outcome to the Pushgateway {config.push_url} ({_reason(exc)}): the exit "
            "status stands"
        )
        return False
    return True


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = str(reason if reason is not None else exc) or type(exc).__name__
    return " ".join(text.split())[:200]


def linger(seconds: float) -> None:
    """Wait ``seconds`` (the server keeps answering); SIGINT or SIGTERM ends the wait at once."""
    if seconds <= 0:
        return
    done = threading.Event()
    with _ending_on_signals(done):
        done.wait(seconds)


@contextmanager
def _ending_on_signals(done: threading.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous:
        signal.signal(signum, lambda _signum, _frame: done.set())
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def serve(watch: Watch) -> MetricsServer:
    """Start serving ``watch`` as its config says (``ConfigError``: the address cannot be bound)."""
    server = MetricsServer(watch)
    server.start()
    return server
