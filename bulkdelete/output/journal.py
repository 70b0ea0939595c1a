"""The ``--resume`` journal: a results file (one JSON line per record, SPEC §4) read back to skip done ids.

A run killed mid-write leaves a *torn* last line (no ``\\n``, cut JSON). The next run appends to the same
file, so a torn line can also end up in the middle. Both are expected, skipped and counted, never an error:

- ``load_ok_ids`` keeps the ids of lines with ``"ok": true`` (compactly, in a ``SeenIds``);
- ``prepare_for_append`` ends a torn tail with ``\\n`` before new lines are appended, so the first new line
  parses. The torn bytes stay as one ignorable line: a journal is the user's record, never truncated.

``planned`` lines (a ``--dry-run`` wrote them, with ``ok: true``) are *not* taken as done: nothing was sent,
and resuming a real run from a dry run's journal must still delete everything. Nor are ``duplicate`` lines: a repeat
is decided before its first occurrence is answered, and when that one failed the id is not gone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import orjson

from bulkdelete.errors import ConfigError
from bulkdelete.pipeline.dedupe import SeenIds

#: ok:true, yet they do not say the id is gone: ``planned`` (a dry run sent nothing) and ``duplicate`` (the repeat of an
#: id, decided at once: the line of its first occurrence says what became of the id, and that may be ``failed``).
NOT_DONE_OUTCOMES = frozenset({"planned", "duplicate"})


@dataclass(frozen=True, slots=True)
class JournalInfo:
    """What ``load_ok_ids`` found: ``lines`` read (blank ones excluded), distinct ``ok_ids`` kept, and
    ``torn_lines``: lines that were not a JSON object with a string ``id`` (a torn tail, a crash mid-file)."""

    lines: int
    ok_ids: int
    torn_lines: int


def load_ok_ids(path: str) -> tuple[SeenIds, JournalInfo]:
    """The ids ``path`` records as ok, streaming the file; a missing file is an empty journal (a first run).

    Never raises on content. Raises ``ConfigError`` only when the file exists but cannot be read.
    """
    done = SeenIds()
    lines = torn = 0
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below; a missing file is the common first-run case
    except FileNotFoundError:
        return done, JournalInfo(0, 0, 0)
    except OSError as exc:
        raise ConfigError(f"cannot read the --resume journal {path!r}: {exc.strerror}") from None
    with handle:
        try:
            for raw in handle:
                if not raw.strip():
                    continue
                lines += 1
                try:
                    doc = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    torn += 1
                    continue
                if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
                    torn += 1
                elif doc.get("ok") is True and doc.get("outcome") not in NOT_DONE_OUTCOMES:
                    done.add(doc["id"])
        except OSError as exc:
            raise ConfigError(f"cannot read the --resume journal {path!r}: {exc.strerror}") from None
    return done, JournalInfo(lines, len(done), torn)


def prepare_for_append(path: str) -> None:
    """Make the next line appended to ``path`` start on a line of its own.

    When the file exists, is not empty and does not end with ``\\n`` (a torn tail), append one ``\\n``. A
    missing or empty file is left alone (appending will create it). Raises ``ConfigError`` when it cannot be
    written.
    """
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() == 0:
                return
            handle.seek(-1, os.SEEK_END)
            last = handle.read(1)
        if last != b"\n":
            with open(path, "ab") as handle:
                handle.write(b"\n")
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"cannot append to the --resume journal {path!r}: {exc.strerror}") from None
