"""Stage 1, input: ids from files or stdin become ``Record``s, streaming (reader, formats), handed to the loop a
chunk at a time from a reader thread (feed)."""
