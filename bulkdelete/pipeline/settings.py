"""How the engine runs (``EngineSettings``), including its error budget (``--max-errors``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bulkdelete.output.stats import RunStats
from bulkdelete.rate.backoff import BackoffPolicy


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How the engine runs. ``max_error_percent`` applies once ``min_records_for_percent`` records are decided.

    ``linger_s``: a batch is sent once input pauses that long; ``max_batch_age_s``: or once it is that old.
    """

    concurrency: int = 16
    max_attempts: int = 6
    dedupe: bool = True
    dry_run: bool = False
    max_errors: int | None = None
    max_error_percent: float | None = None
    min_records_for_percent: int = 100
    linger_s: float = 0.05
    max_batch_age_s: float = 1.0
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    seed: int | None = None

    def too_many_errors(self, stats: RunStats) -> bool:
        """True once the records not ok reach ``max_errors``, or ``max_error_percent`` of the records decided."""
        if self.max_errors is not None and stats.not_ok >= self.max_errors:
            return True
        if self.max_error_percent is None or stats.records < self.min_records_for_percent:
            return False
        return stats.not_ok * 100.0 >= self.max_error_percent * stats.records
