"""Stage 5, output: result lines (sink), the ``--resume`` journal (journal), live progress (progress), the run's
counters (stats) and the summary (summary)."""
