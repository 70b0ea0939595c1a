"""File descriptors: enough for ``--concurrency`` before the run starts, and a clear word when they run out.

Every request in flight holds a socket, and the process also holds its inputs, outputs, the journal and its lock,
the event loop's own descriptors and the standard streams. With ``ulimit -n 64`` and ``--concurrency 500`` the run
used to fail its connects with ``EMFILE`` and report "the API is unreachable". Now:

- ``ensure_fd_budget`` raises the *soft* ``RLIMIT_NOFILE`` to what the run needs (as many servers and ``pip`` do:
  any process may raise its soft limit up to the hard one), and raises ``ConfigError`` (exit 2, nothing sent) when
  even the hard limit is too low, saying "lower --concurrency or raise ulimit -n";
- ``is_fd_exhaustion`` tells the transport that a failed connect was ``EMFILE``/``ENFILE``, a local limit, never the
  network: it is retried, and never counted towards "unreachable".
"""

from __future__ import annotations

import errno
import os
import resource

from bulkdelete.errors import ConfigError

# Descriptors beyond the sockets: inputs, outputs, journal and lock, summary, event loop, resolver threads, stdio.
MARGIN = 32
# The session's connector allows this many connections beyond --concurrency (the source status calls).
EXTRA_CONNECTIONS = 2
_FD_DIRS = ("/proc/self/fd", "/dev/fd")
EXHAUSTED = "too many open files (the process's descriptor limit, ulimit -n): lower --concurrency or raise ulimit -n"


def fds_needed(concurrency: int, open_now: int) -> int:
    """The descriptor limit a run with ``concurrency`` requests in flight needs, ``open_now`` being already open."""
    return open_now + concurrency + EXTRA_CONNECTIONS + MARGIN


def open_fd_count() -> int:
    """Descriptors open in this process now (a generous guess where the system does not list them)."""
    for path in _FD_DIRS:
        try:
            return len(os.listdir(path))
        except OSError:
            continue
    return MARGIN


def ensure_fd_budget(concurrency: int) -> int:
    """Make the soft ``RLIMIT_NOFILE`` at least what ``concurrency`` needs; return the soft limit now in force.

    Raises ``ConfigError`` when the hard limit is below the need (nothing has been sent yet).
    """
    needed = fds_needed(concurrency, open_fd_count())
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return soft
    if hard != resource.RLIM_INFINITY and hard < needed:
        most = max(1, hard - (needed - concurrency))
        raise ConfigError(
            f"--concurrency {concurrency} needs about {needed} file descriptors, but this process may open at most "
            f"{hard} (ulimit -n, hard limit): lower --concurrency (at most about {most} here) or raise ulimit -n"
        )
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"--concurrency {concurrency} needs about {needed} file descriptors and the limit is {soft}; raising it "
            f"failed ({exc}): lower --concurrency or raise ulimit -n"
        ) from None
    return needed


def is_fd_exhaustion(exc: BaseException | None) -> bool:
    """True when ``exc`` (an ``OSError``, e.g. a connector error's ``os_error``) says descriptors ran out."""
    return isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE)
