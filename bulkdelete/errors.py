"""The exceptions bulkdelete raises, drawn once::

    BulkDeleteError              base of everything below
    ├── ConfigError              bad flag, missing credential, refused orderingId: nothing was sent (exit 2)
    ├── AbortRun                 a fatal API answer (401/403, daily quota) or --max-errors: stop sending (exit 3)
    │   ├── UntrustedCertificate a TLS certificate did not verify: a run-wide refusal, nothing retried
    │   └── ProxyRefused         the proxy refused the request (407: credentials): a run-wide refusal
    └── TransportError           no HTTP answer: connection refused/reset, timeout (retryable)
        └── ConnectError         the connection could not even be opened (refused, no route, DNS)

Messages say what to do: ``--rate must be >= 0 (got -1)``. None of them ever contains a secret.
"""

from __future__ import annotations


class BulkDeleteError(Exception):
    """Base class of every bulkdelete error."""


class ConfigError(BulkDeleteError):
    """The run is misconfigured; raised before anything is sent (exit status 2)."""


class AbortRun(BulkDeleteError):
    """The run must stop sending: the API answered something no retry can fix (exit status 3).

    ``status`` is the HTTP status of that answer, when there was one.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransportError(BulkDeleteError):
    """The request got no HTTP answer (connection error or timeout). Always retryable."""


class ConnectError(TransportError):
    """No connection could be opened. Retryable, but a run that never reached the API stops (wrong URL, API down)."""


class UntrustedCertificate(AbortRun):
    """A TLS certificate did not verify. Every request would fail alike: stop at once, retry nothing (exit 3)."""


class ProxyRefused(AbortRun):
    """The proxy itself refused the request (407 Proxy Authentication Required, 403 to CONNECT): stop (exit 3)."""
