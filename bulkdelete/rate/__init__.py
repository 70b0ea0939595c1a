"""Stage 3, rate: how fast requests may start (pacing), finding an undisclosed quota (adaptive), and how long to wait
before a retry or after a throttle (backoff)."""
