"""How a run ends: why it stopped (``StopReason``) and what it left undecided (``RunEnd``).

The engine, the run, the outputs and the summary all speak of the end of a run; this module is the one place it
is defined, so none of them imports the engine for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Protocol, TypeVar


class StopReason(StrEnum):
    COMPLETED = "completed"
    ABORTED = "aborted"  # fatal API answer (401/403, daily quota)
    MAX_ERRORS = "max-errors"
    INTERRUPTED = "interrupted"  # SIGINT / SIGTERM
    STOP_AFTER = "stop-after"
    MAX_REQUESTS = "max-requests"
    OUTPUT_CLOSED = "output-closed"
    OUTPUT_FAILED = "output-failed"  # a result line could not be written (full disk, I/O error)
    INPUT_ERROR = "input-error"  # an input could not be read: exit 2 when nothing was sent yet, else 3


@dataclass(frozen=True, slots=True)
class RunEnd:
    """Why the run ended, and how many records it left undecided (no line written; ``--resume`` sends them)."""

    reason: StopReason
    message: str | None
    abandoned: int


class Stoppable(Protocol):
    def stop(self, reason: StopReason, message: str | None = None) -> None: ...


S = TypeVar("S", bound=Stoppable)


class StopLatch(Generic[S]):
    """A stop that may come before what it stops exists: the first reason given wins, and reaches what is held now
    and each thing held after (``hold``): a listing's runner per phase, a listing built after a look-up."""

    def __init__(self) -> None:
        self.reason: tuple[StopReason, str | None] | None = None
        self.held: S | None = None

    def __repr__(self) -> str:
        return f"<StopLatch reason={self.reason} held={self.held!r}>"

    @property
    def stopping(self) -> bool:
        return self.reason is not None

    def stop(self, reason: StopReason, message: str | None = None) -> None:
        if self.reason is None:
            self.reason = (reason, message)
        if self.held is not None:
            self.held.stop(reason, message)

    def hold(self, target: S) -> S:
        """``target`` from now on, already stopped if a stop came first."""
        self.held = target
        if self.reason is not None:
            target.stop(*self.reason)
        return target
