"""Read ids from files or stdin, streaming, into ``Record``s (the first stage of the pipeline).

``read_records`` is a synchronous generator: the engine runs it in a worker thread chunk by chunk, so the
event loop never blocks on I/O or parsing. Memory is constant in the input size: input is read in chunks of
``chunks.CHUNK_BYTES`` and a physical line is cut at ``MAX_LINE_BYTES`` (16 MiB).

Errors:

- ``ConfigError`` when ``read_records`` is *called* with a bad ``fmt``, ``--field`` with ``lines``, stdin
  given twice, or an input that is missing/unreadable: nothing has been read yet.
- ``ConfigError`` during iteration, *before any record of that input*, when its header or first line shows the
  format cannot work (CSV without the id column, ``--field`` on a plain list, a JSON array).
- ``ConfigError`` mid-stream only when the bytes themselves cannot be read (corrupt or truncated gzip, I/O
  error); the message names the input and the last line read. Records yielded before stay valid.
- Bad *content* never raises: such a line is a ``Record`` with ``problem`` set.
"""

from __future__ import annotations

import itertools
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

from bulkdelete.errors import ConfigError
from bulkdelete.input.chunks import byte_chunks, stdin_stream
from bulkdelete.input.formats import (
    MAX_LINE_BYTES,
    Batches,
    CutLine,
    ResultLines,
    find_column,
    parse_csv,
    parse_jsonl,
    parse_lines,
    sniff_delimiter,
)
from bulkdelete.records import Record

__all__ = ["FORMATS", "URI", "count_records", "is_stream", "looks_like_uri", "read_records"]

FORMATS = ("auto", "lines", "jsonl", "csv")
SNIFF_LINES = 1000  # auto-detection looks this far for the first line that is neither blank nor a comment
_BOM = b"\xef\xbb\xbf"
#: ``<scheme>://<rest>`` (see ``looks_like_uri``): a target that checks every id may call ``URI.fullmatch`` itself.
URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://.+", re.DOTALL)


def looks_like_uri(s: str) -> bool:
    """True when ``s`` is ``<scheme>://<rest>``: RFC 3986 scheme ``[A-Za-z][A-Za-z0-9+.-]*``, rest not empty.

    A pure helper for targets whose ids must be URIs (Coveo); the reader itself does not apply it.
    """
    return URI.fullmatch(s) is not None


def read_records(
    inputs: Sequence[str],
    *,
    fmt: str = "auto",
    field: str | None = None,
    stdin: BinaryIO | None = None,
    before_read: Callable[[], None] | None = None,
    on_input: Callable[[int], None] | None = None,
    results: ResultLines | None = None,
) -> Iterator[Record]:
    """Yield one ``Record`` per record of ``inputs``, in order, streaming.

    ``inputs`` are paths or ``-`` (stdin: ``stdin`` when given, else file descriptor 0, unbuffered); empty means stdin.
    Gzip input is recognised by its magic bytes (any name, stdin included). ``fmt`` is ``auto``, ``lines``,
    ``jsonl`` or ``csv``; ``field`` names the JSON key / CSV column (default: first of ``documentId``, ``id``,
    ``uri``).
    ``Record.file`` is the input name as given only when there are several inputs; ``Record.line`` is the
    1-based physical line where the record starts (a CSV header is line 1).

    ``before_read`` is called before each read that may block (every record read so far has been yielded by
    then): a consumer handing records on in chunks passes on a partial chunk there. ``on_input(i)`` is called as
    ``inputs[i]`` is about to be read (every record of the inputs before it has been yielded by then).
    ``results``: JSON lines are read as a delete run's result lines (``verify``: ``formats.parse_jsonl``).

    Arguments and the inputs' existence are checked now (``ConfigError``), the content while iterating.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    if field is not None and not field.strip():
        raise ConfigError("--field must not be empty")
    if fmt == "lines" and field is not None:
        raise ConfigError("--field applies to jsonl and csv input, not --format lines")
    names = list(inputs) or ["-"]
    if names.count("-") > 1:
        raise ConfigError("stdin (-) can be given only once")
    for name in names:
        # Not just isfile(): named pipes and /dev/fd/N (bash `<(zcat a.gz)`) are fine inputs too.
        if name != "-" and (not os.path.exists(name) or os.path.isdir(name)):
            raise ConfigError(f"input {name!r} does not exist or is a directory")
        if name != "-" and not os.access(name, os.R_OK):
            raise ConfigError(f"input {name!r} is not readable")
    return _generate(names, fmt, field, stdin, before_read or _nothing, on_input or _ignore, results)


def _nothing() -> None:
    return None


def _ignore(_: int) -> None:
    return None


def is_stream(name: str) -> bool:
    """True when input ``name`` (``-`` is stdin) is not a regular file: it cannot be read again, nor counted ahead."""
    if name == "-":
        return True
    try:
        return not stat.S_ISREG(os.stat(name).st_mode)
    except OSError:
        return True


def count_records(
    name: str, *, fmt: str = "auto", field: str | None = None, owns: Callable[[Record], bool] | None = None
) -> tuple[int, bool]:
    """How many records the regular file ``name`` holds (the reader's own count: blank and ``#`` lines are not
    records; with ``owns``, only those it accepts: ``Shard.owns``), and whether it could be read to its end (False
    after a read error: the count stops there)."""
    count = 0
    try:
        for record in read_records([name], fmt=fmt, field=field):
            if owns is None or owns(record):
                count += 1
    except ConfigError:
        return count, False
    return count, True


def _generate(
    names: list[str],
    fmt: str,
    field: str | None,
    stdin: BinaryIO | None,
    before_read: Callable[[], None],
    on_input: Callable[[int], None],
    results: ResultLines | None = None,
) -> Iterator[Record]:
    multi = len(names) > 1
    for index, name in enumerate(names):
        on_input(index)
        file = name if multi else None
        if name == "-":
            yield from _read_one(stdin or stdin_stream(), "stdin", file, fmt, field, name, before_read, results)
            continue
        try:
            # Unbuffered: each read is one read(2), and no BufferedReader lock is ever held across a blocking read.
            handle = open(name, "rb", buffering=0)  # noqa: SIM115 - closed in the finally below, across yields
        except OSError as exc:
            raise ConfigError(f"cannot open input {name!r}: {exc.strerror}") from None
        try:
            yield from _read_one(handle, repr(name), file, fmt, field, name, before_read, results)
        finally:
            handle.close()


def _read_one(
    stream: BinaryIO,
    label: str,
    file: str | None,
    fmt: str,
    field: str | None,
    name: str,
    before_read: Callable[[], None],
    results: ResultLines | None = None,
) -> Iterator[Record]:
    """The records of one input: a plain function, so that the caller delegates straight to the parser."""
    counter = [0]  # lines read so far, for the mid-stream error message
    chunks = byte_chunks(stream, before_read)
    batches = _line_batches(chunks, label, counter)
    if fmt == "auto":
        fmt, delimiter, batches = _detect(name, field, batches, label)
    else:
        delimiter = "\t" if fmt == "csv" and _base_name(name).endswith(".tsv") else None
    if fmt == "lines":
        return parse_lines(batches, file)
    if fmt == "jsonl":
        return parse_jsonl(batches, file, field, results)
    return parse_csv(batches, file, field, delimiter, label)


def _line_batches(chunks: Iterator[bytes], label: str, counter: list[int]) -> Batches:
    """Lists of physical lines without their ``\\n``, the first line's BOM removed; lines over
    ``MAX_LINE_BYTES`` come as a ``CutLine`` (the excess is discarded unread into memory).
    """
    pending: list[bytes] = []  # pieces of the current, unterminated line
    pending_len = 0
    first = True
    while True:
        try:
            chunk = next(chunks, b"")
        except (OSError, EOFError, zlib.error) as exc:
            raise ConfigError(f"cannot read {label} after line {counter[0]}: {exc}") from None
        if not chunk:
            break
        parts = chunk.split(b"\n")
        tail = parts.pop()
        if len(parts) == 0:  # no newline in this chunk: the line goes on
            pending_len += len(tail)
            if pending_len <= MAX_LINE_BYTES:
                pending.append(tail)
            continue
        if pending:
            pending.append(parts[0])
            parts[0] = _joined(pending, pending_len + len(parts[0]))
            pending, pending_len = [], 0
        if tail:
            pending, pending_len = [tail], len(tail)
        if first:
            parts[0] = _without_bom(parts[0])
            first = False
        counter[0] += len(parts)
        yield parts
    if pending:
        line = _joined(pending, pending_len)
        counter[0] += 1
        yield [_without_bom(line) if first else line]


def _joined(pieces: list[bytes], total: int) -> bytes:
    line = b"".join(pieces)
    return CutLine(line[:MAX_LINE_BYTES]) if total > MAX_LINE_BYTES else line


def _without_bom(line: bytes) -> bytes:
    if line.startswith(_BOM):
        stripped = line[len(_BOM) :]
        return CutLine(stripped) if isinstance(line, CutLine) else stripped
    return line


def _base_name(name: str) -> str:
    base = name.lower()
    return base[:-3] if base.endswith(".gz") else base


def _detect(name: str, field: str | None, batches: Batches, label: str) -> tuple[str, str | None, Batches]:
    """Auto-detect the format: by extension, else by the first line that is neither blank nor a comment.

    Returns the format, the CSV delimiter when known, and the batches (those looked at put back in front).
    """
    base = _base_name(name) if name != "-" else ""
    if base.endswith((".jsonl", ".ndjson")):
        return "jsonl", None, batches
    if base.endswith(".csv"):
        return "csv", None, batches
    if base.endswith(".tsv"):
        return "csv", "\t", batches
    seen: list[list[bytes]] = []
    first: bytes | None = None
    looked = 0
    for batch in batches:
        seen.append(batch)
        for raw in batch:
            s = raw.strip()
            if s and s[0] != 35:
                first = s
                break
            looked += 1
        if first is not None or looked >= SNIFF_LINES:
            break
    rest = itertools.chain(seen, batches)
    if first is None:  # empty, or only blanks and comments: no records in any format
        return "lines", None, rest
    fmt, delimiter = _sniff(first, field, label)
    return fmt, delimiter, rest


def _sniff(first: bytes, field: str | None, label: str) -> tuple[str, str | None]:
    if first.startswith(b"{"):
        return "jsonl", None
    if first.startswith(b"["):
        raise ConfigError(f"{label} looks like a JSON array; give JSON lines instead (e.g. jq -c '.[]')")
    text = first[:MAX_LINE_BYTES].decode("utf-8", "replace")
    delimiter = sniff_delimiter(text, field)
    if delimiter is not None:
        return "csv", delimiter
    if find_column([text], field) is not None:  # a one-column CSV: just the header name
        return "csv", ","
    if field is not None:
        raise ConfigError(
            f"--field {field!r} given but {label} is neither JSON lines nor a CSV whose header has that "
            f"column (first line: {text[:80]!r}); use --format"
        )
    return "lines", None
