"""One run per ``--resume`` journal: an OS advisory lock, held from before the journal is read until the run ends.

Two runs on one journal (a cron job overlapping its still running previous instance) would both read the same done
set and both send every remaining id, appending duplicate lines. So a run takes an exclusive ``flock`` on a sidecar
file ``<journal>.lock`` first, and a second run fails at once (``ConfigError``: exit 2, nothing sent), naming the
process that holds it.

- The lock file, not the journal, is the lock target: it also holds the holder's pid (text, one line) for the
  message, and it is never removed: unlinking a lock file on exit races a third run that opened the old file and
  a fourth that creates a new one, both then "holding" it.
- ``flock`` (not POSIX ``lockf``): a POSIX record lock is dropped when *any* descriptor of the file is closed by
  the process, and it is owned per process, not per open file, so it cannot even exclude a second run inside one
  process (the library API).
- The kernel releases a ``flock`` when the holder dies, however it dies (``kill -9``, OOM): no stale lock to clean.
- Advisory: it excludes other ``bulkdelete`` runs, not an editor or ``cat >>``. On NFS, Linux emulates ``flock``
  with byte-range locks (NFSv4 supports them); on filesystems without locking at all, ``flock`` fails and the run
  refuses to start rather than run unprotected.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from typing import Self

from bulkdelete.errors import ConfigError

LOCK_SUFFIX = ".lock"


def lock_path_for(journal: str) -> str:
    """The sidecar lock file of ``journal``: same directory, ``.lock`` appended."""
    return journal + LOCK_SUFFIX


class JournalLock:
    """An exclusive lock on ``journal``, taken by ``JournalLock.acquire`` and released by ``release`` (or on exit)."""

    def __init__(self, journal: str, fd: int) -> None:
        self.journal = journal
        self.path = lock_path_for(journal)
        self._fd: int | None = fd

    def __repr__(self) -> str:
        return f"<JournalLock {self.path!r} held={self._fd is not None}>"

    @classmethod
    def acquire(cls, journal: str) -> Self:
        """Take the lock now, or raise ``ConfigError`` naming the pid of the run holding it. Never waits."""
        path = lock_path_for(journal)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise ConfigError(f"cannot create the --resume lock file {path!r}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"pid {holder}" if holder is not None else "a process that is starting"
            raise ConfigError(
                f"the --resume journal {journal!r} is in use by another run ({who}; lock file {path!r}): "
                "wait for it to end, or stop it; two runs on one journal would both send every id"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise ConfigError(f"cannot lock the --resume journal {journal!r} ({path!r}): {exc.strerror}") from None
        _write_pid(fd)
        return cls(journal, fd)

    def release(self) -> None:
        """Let the next run in (idempotent). The file stays: see the module docstring."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor of this open file releases the flock

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


@contextlib.contextmanager
def journal_locked(journal: str | None) -> Iterator[JournalLock | None]:
    """``with journal_locked(options.resume):`` holds the lock for the block (nothing to lock without a journal)."""
    if journal is None:
        yield None
        return
    with JournalLock.acquire(journal) as lock:
        yield lock


def _write_pid(fd: int) -> None:
    """Replace the file's content with this process's pid. A failure here is not worth refusing the run for."""
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def _read_pid(fd: int) -> int | None:
    """The pid the holder wrote, or None (it has the lock but has not written its pid yet)."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
