"""The command line (SPEC §3): thin commands that check options and hand a target to ``run_deletion``.

stdout carries only result JSON lines (unless ``-o``); everything for people goes to stderr. Every check runs
before anything is sent; a bad option exits 2.
"""

from bulkdelete.cli.app import cli, main

__all__ = ["cli", "main"]
