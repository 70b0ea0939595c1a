"""What a job becomes when its request got no answer: the exception ``Target.send`` raised, as verdicts.

- ``StopSending`` (the run is stopping, or ``--max-requests`` is spent): not sent, its records are abandoned (no
  line: ``--resume`` sends them); a spent budget stops the run (``max-requests``).
- ``TransportError`` (timeout, reset, refused connection): every record is retried; once the first
  ``unreachable_after`` connects all failed, with no answer yet, the run stops (``aborted``).
- ``AbortRun`` (a run-wide refusal before any answer: untrusted certificate, proxy refused): abandoned, and the run
  stops (``aborted``).
- Anything else is a bug in the target: its records are ``failed`` (``internal error (...)``), never the whole run.
"""

from __future__ import annotations

from typing import NamedTuple

from bulkdelete.errors import AbortRun, ConnectError, TransportError
from bulkdelete.net.transport import HttpTransport, StopSending
from bulkdelete.output.stats import RunStats
from bulkdelete.pipeline.ending import StopReason
from bulkdelete.records import Outcome
from bulkdelete.targets.base import Action, Verdict


class Unanswered(NamedTuple):
    """``verdicts``: one per record of the job, or None when it was not sent (its records are abandoned).
    ``stop``: the reason and message the run must stop with, if it must."""

    verdicts: list[Verdict] | None
    stop: tuple[StopReason, str] | None = None


class UnansweredJobs:
    """Judges the jobs that got no answer, counting failed connects to tell an unreachable API from a flaky one.

    ``unreachable_after``: a run whose first requests all fail to connect is pointed at the wrong place (or the API
    is down): rather than crawl through every retry of every record, it stops once this many connects failed with
    no answer yet (``stats.status_codes`` empty).
    """

    def __init__(self, transport: HttpTransport | None, stats: RunStats, unreachable_after: int) -> None:
        self._transport = transport
        self._stats = stats
        self._unreachable_after = unreachable_after
        self._connect_failures = 0

    def __repr__(self) -> str:
        return f"<UnansweredJobs connect_failures={self._connect_failures} unreachable_after={self._unreachable_after}>"

    def judge(self, exc: Exception, size: int) -> Unanswered:
        """What becomes of the ``size`` records of a job whose ``send`` raised ``exc``."""
        if isinstance(exc, StopSending):
            assert self._transport is not None
            if self._transport.budget_spent:
                return Unanswered(None, (StopReason.MAX_REQUESTS, "--max-requests budget spent"))
            return Unanswered(None)
        if isinstance(exc, TransportError):
            stop = None
            if isinstance(exc, ConnectError):
                self._connect_failures += 1
                if self._connect_failures >= self._unreachable_after and not self._stats.status_codes:
                    stop = (StopReason.ABORTED, f"the API is unreachable ({exc}): check --base-url / --region")
            return Unanswered([Verdict(Action.RETRY, error=str(exc))] * size, stop)
        if isinstance(exc, AbortRun):  # a run-wide refusal before any answer (untrusted certificate, proxy refused)
            return Unanswered(None, (StopReason.ABORTED, str(exc)))
        error = f"internal error ({type(exc).__name__}: {str(exc)[:200]})"
        return Unanswered([Verdict(Action.DONE, Outcome.FAILED, error=error)] * size)
