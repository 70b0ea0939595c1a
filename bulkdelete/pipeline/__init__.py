"""Stage 2, the pipeline: one run (run), the engine that decides every record (engine), batches (batcher) and
in-run de-duplication (dedupe)."""
