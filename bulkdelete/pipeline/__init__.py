"""Stage 2, the pipeline: one run (run), the engine that decides every record (engine) with its settings (settings),
how a run ends (ending), what a request without an answer becomes (unanswered), run-wide refusals (refusals),
batches (batcher) and in-run de-duplication (dedupe)."""
