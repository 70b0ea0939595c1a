"""How a run ends: why it stopped (``StopReason``) and what it left undecided (``RunEnd``).

The engine, the run, the outputs and the summary all speak of the end of a run; this module is the one place it
is defined, so none of them imports the engine for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
