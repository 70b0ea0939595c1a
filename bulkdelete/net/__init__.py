"""Stage 4, the network: the HTTP transport every target sends through (paced, budgeted, timed)."""
