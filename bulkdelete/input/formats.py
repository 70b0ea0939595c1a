"""The three input shapes, parsed from batches of raw lines into ``Record``s (the reader's inner loop).

Every parser takes an iterator of *batches* (lists of physical lines, terminator removed, UTF-8 BOM already
stripped from the input's first line) and yields one ``Record`` per record, numbered by the physical line
where it starts.
Nothing here raises on bad content: a line that cannot become an id is yielded with ``problem`` set.

Cleaning shared by all formats (SPEC §4: the id "exactly as read, after trimming surrounding whitespace"):

- surrounding whitespace is trimmed (``str.strip``: CR of CRLF, spaces, tabs, NBSP, ...);
- undecodable bytes (not UTF-8) → ``problem``; the id is a printable rendering (``\\xff`` escapes);
- a control character inside the id (C0, DEL, C1; a tab inside the id counts) → ``problem``;
- over ``MAX_ID_BYTES`` UTF-8 bytes → ``problem``; the stored id is cut to ``SHOWN_CHARS`` characters followed
  by ``TRUNCATED_MARK`` so that a hostile input cannot make results (or memory) grow without bound.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence

import orjson

from bulkdelete.errors import ConfigError
from bulkdelete.records import Record

MAX_ID_BYTES = 8192  # SPEC §4: longer ids are invalid
MAX_LINE_BYTES = 16 * 1024 * 1024  # a physical line is cut beyond this: reader memory stays bounded
SHOWN_CHARS = 200  # how much of an overlong id / unparsable line is kept in the record
TRUNCATED_MARK = "…[truncated]"
DEFAULT_FIELDS = ("documentId", "id", "uri")
# ``verify`` reads the result lines of a delete run: a line that says the delete was not ok becomes a record with this
# problem (followed by its outcome and error), which ``verify`` turns into ``not_deleted`` without a query.
NOT_OK_RESULT = "the delete run's line is not ok: "


class ResultLines:
    """Reading JSON lines as a delete run's result lines (``verify``): what the reader noticed on the way.

    ``earliest_ts``: the earliest ``ts`` of the lines read so far (ISO 8601 ``Z`` times sort as text), or None. Written
    by the reader thread, read by the event loop: one reference assignment, atomic in CPython.
    """

    __slots__ = ("earliest_ts",)

    def __init__(self) -> None:
        self.earliest_ts: str | None = None

    def __repr__(self) -> str:
        return f"<ResultLines earliest_ts={self.earliest_ts!r}>"


Batches = Iterator[list[bytes]]

# C0 controls, DEL and C1 controls. Only consulted when ``str.isprintable()`` already said no: that C call is
# the fast path, and it is stricter (it also rejects NBSP, ZWJ, unassigned code points), so it cannot decide.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_SAFE_CHARS = MAX_ID_BYTES // 4  # a str this short cannot exceed MAX_ID_BYTES in UTF-8


class CutLine(bytes):
    """The first ``MAX_LINE_BYTES`` of a physical line that was longer; the rest was discarded unread."""

    __slots__ = ()


def make_record(record_id: str, line: int, file: str | None, problem: str | None) -> Record:
    """``Record(record_id, line, file, problem)``."""
    return Record(record_id, line, file, problem)


def shown(text: str) -> str:
    """``text`` cut to ``SHOWN_CHARS`` characters with the truncation marker when longer."""
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + TRUNCATED_MARK


def render(raw: bytes) -> str:
    """A printable rendering of bytes that are not (all) UTF-8, bounded in length."""
    return shown(raw[: SHOWN_CHARS * 4].decode("utf-8", "backslashreplace"))


def check_text(text: str) -> tuple[str, str | None]:
    """Validate an already trimmed id: ``(id to store, problem or None)``."""
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_ID_BYTES:
        return shown(text), f"id longer than 8 KiB ({size} bytes)"
    if not text.isprintable() and _CONTROL.search(text):
        return text, "control character in id"
    return text, None


def clean_bytes(s: bytes, cut: bool = False) -> tuple[str, str | None]:
    """Decode and validate stripped id bytes (the slow path): ``(id, problem or None)``; id may be empty."""
    if cut:
        return render(s), "line longer than 16 MiB"
    if len(s) > MAX_ID_BYTES * 4:  # no need to decode megabytes to know they are too long
        return render(s), f"id longer than 8 KiB ({len(s)} bytes)"
    try:
        text = s.decode("utf-8")
    except UnicodeDecodeError:
        return render(s), "undecodable bytes (not UTF-8)"
    return check_text(text.strip())


def parse_lines(batches: Batches, file: str | None) -> Iterator[Record]:
    """``lines`` format: one id per line; blank lines and ``#`` comments are not records."""
    # The hot loop of a 10-million-line run, kept in one generator (each nested ``yield from`` level costs per
    # record).
    lineno = 0
    for batch in batches:
        # Decoding a whole batch at once and splitting the text costs far less than decoding each line; a
        # batch with any undecodable byte takes the line-by-line path, which pins the problem on its line.
        try:
            texts = b"\n".join(batch).decode("utf-8").split("\n")
        except UnicodeDecodeError:
            yield from _lines_checked(batch, lineno, file)
            lineno += len(batch)
            continue
        for index, text in enumerate(texts):
            text = text.strip()
            if not text or text[0] == "#":
                continue
            if len(text) > _SAFE_CHARS:  # may be over 8 KiB, or a cut line: the checked path says
                yield from _lines_checked([batch[index]], lineno + index, file)
                continue
            problem = None
            if not text.isprintable():  # the C fast path; the regex decides only for the rare rest
                text, problem = check_text(text)
            yield Record(text, lineno + index + 1, file, problem)
        lineno += len(batch)


def _lines_checked(batch: list[bytes], lineno: int, file: str | None) -> Iterator[Record]:
    make = make_record
    for raw in batch:
        lineno += 1
        s = raw.strip()
        if not s or s[0] == 35:  # 35 == ord("#")
            continue
        if len(s) <= MAX_ID_BYTES and s.isascii():
            text = s.decode("ascii")
            if text.isprintable():
                yield make(text, lineno, file, None)
                continue
        text, problem = clean_bytes(s, isinstance(raw, CutLine))
        if problem is None and (not text or text[0] == "#"):
            continue  # only Unicode whitespace around a blank or comment line
        if problem is not None and _blank_or_comment(s):
            continue  # b"\x1c# caf\xe9": a comment behind whitespace that bytes.strip() keeps, str.strip() not
        yield make(text, lineno, file, problem)


def _blank_or_comment(s: bytes) -> bool:
    """Whether a line that cannot be an id as it is (undecodable, overlong) is blank or a comment, trimmed as the text
    path trims (``str.strip``: ``\x1c``-``\x1f``, NBSP, ...), undecodable bytes read as U+FFFD."""
    text = s.decode("utf-8", "replace").strip()
    return not text or text[0] == "#"


def _json_id(obj: object, fields: Sequence[str]) -> tuple[str | None, str | None]:
    """The id in one decoded JSON line: ``(value, None)`` or ``(None, problem)``."""
    if not isinstance(obj, dict):
        return None, "not a JSON object"
    for name in fields:
        if name in obj:
            value = obj[name]
            if not isinstance(value, str):
                return None, f'"{name}" is not a string'
            return value, None
    return None, "no " + " or ".join(f'"{name}"' for name in fields) + " field"


def parse_jsonl(
    batches: Batches, file: str | None, field: str | None, results: ResultLines | None = None
) -> Iterator[Record]:
    """``jsonl`` format: one JSON object per line, the id under ``field`` (default: first of DEFAULT_FIELDS).

    Blank lines and ``#`` lines are skipped (a JSON value never starts with ``#``). A line that is not valid
    JSON, not an object, lacks the field or holds a non-string there is a record with ``problem``; its id is
    the line itself (cut to ``SHOWN_CHARS``). ``results``: a bulkdelete result line (``outcome`` and a boolean
    ``ok``) whose ``ok`` is false is a record whose problem starts with ``NOT_OK_RESULT``.
    """
    fields = (field,) if field else DEFAULT_FIELDS
    lineno = 0
    for batch in batches:
        for raw in batch:
            lineno += 1
            s = raw.strip()
            if not s or s[0] == 35:
                continue
            if isinstance(raw, CutLine):
                yield make_record(render(s), lineno, file, "line longer than 16 MiB")
                continue
            try:
                obj = orjson.loads(s)
            except orjson.JSONDecodeError:
                yield make_record(render(s), lineno, file, _why_not_json(s))
                continue
            value, problem = _json_id(obj, fields)
            if value is None:
                yield make_record(render(s), lineno, file, problem)
                continue
            text, problem = check_text(value.strip())
            if results is not None and "outcome" in obj:
                _note_result(results, obj)
                if problem is None and obj.get("ok") is False:
                    problem = f"{NOT_OK_RESULT}{obj['outcome']}" + (f": {obj['error']}" if obj.get("error") else "")
            yield make_record(text, lineno, file, problem if text else "empty id")


def _note_result(results: ResultLines, line: dict[str, object]) -> None:
    ts = line.get("ts")
    if isinstance(ts, str) and (results.earliest_ts is None or ts < results.earliest_ts):
        results.earliest_ts = ts


def _why_not_json(s: bytes) -> str:
    try:
        s.decode("utf-8")
    except UnicodeDecodeError:
        return "undecodable bytes (not UTF-8)"
    return "not valid JSON"


def find_column(cells: Sequence[str], field: str | None) -> int | None:
    """Index of the id column in a header: ``field`` exactly, else case-insensitively; by default the first of
    ``DEFAULT_FIELDS`` present. None when absent."""
    names = [cell.strip().lstrip("\ufeff") for cell in cells]
    wanted = (field,) if field else DEFAULT_FIELDS
    for name in wanted:
        if name in names:
            return names.index(name)
        folded = [n.casefold() for n in names]
        if name.casefold() in folded:
            return folded.index(name.casefold())
    return None


def _csv_cell(row: list[str], col: int, delimiter: str, column: str) -> tuple[str, str | None]:
    if len(row) <= col:
        return shown(delimiter.join(row)), f"row has {len(row)} cells, no {column!r} column"
    text = row[col].strip()
    if not text:
        return text, f"empty {column!r} cell"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: bytes that were not UTF-8 (surrogateescape)
            raw = text.encode("utf-8", "surrogateescape")
            return render(raw), "undecodable bytes (not UTF-8)"
    return check_text(text)


def parse_csv(
    batches: Batches, file: str | None, field: str | None, delimiter: str | None, name: str
) -> Iterator[Record]:
    """``csv`` format: a header row, then one record per row; the id in column ``field``.

    Blank and ``#`` lines before the header are skipped; after it, only blank rows are. ``delimiter`` None
    detects tab, comma or semicolon from the header. Raises ``ConfigError`` at the header (before any record
    of this input) when the column is missing. A row the ``csv`` module rejects (a stray CR, an unterminated
    quote that runs past the 128 KiB field limit) is one record with ``problem`` and parsing goes on.
    """
    last: list[str] = [""]  # the physical line read last: what a malformed row's record shows
    lines = _csv_lines(batches, last)
    header, skipped = _header_line(lines)
    if header is None:
        return
    delimiter = delimiter or sniff_delimiter(header, field) or ("\t" if "\t" in header else ",")
    cells, col = _id_column(header, delimiter, field, name)
    column = cells[col].strip()
    reader = csv.reader(lines, delimiter=delimiter)
    offset = skipped + 1  # physical lines before the reader's first one
    while True:
        start = offset + reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield make_record(shown(last[0].strip()), start, file, f"malformed CSV row ({exc})")
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        text, problem = _csv_cell(row, col, delimiter, column)
        yield make_record(text, start, file, problem)


def _csv_lines(batches: Batches, last: list[str]) -> Iterator[str]:
    """The physical lines as text, each with its terminator (the csv module needs them to keep newlines inside
    quoted fields); ``last[0]`` is kept as the line read last."""
    for batch in batches:
        for raw in batch:
            if isinstance(raw, CutLine):
                raw = raw[: MAX_ID_BYTES * 2]  # still too long for any field: the row becomes invalid
            # surrogateescape keeps bad bytes recoverable; the id cell is checked for them later.
            line = raw.decode("utf-8", "surrogateescape")
            last[0] = line
            yield line + "\n"


def _header_line(lines: Iterator[str]) -> tuple[str | None, int]:
    """The first line that is neither blank nor a ``#`` comment, and how many lines came before it."""
    skipped = 0
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return line, skipped
        skipped += 1
    return None, skipped


def _id_column(header: str, delimiter: str, field: str | None, name: str) -> tuple[list[str], int]:
    """The header's cells and the index of the id column; raises ``ConfigError`` naming the columns there are."""
    cells = header_cells(header, delimiter)
    if cells is None:
        raise ConfigError(f"{name}: the CSV header is malformed (a stray quote or carriage return?)")
    col = find_column(cells, field)
    if col is None:
        wanted = f"column {field!r}" if field else "column " + ", ".join(DEFAULT_FIELDS[:-1]) + " or uri"
        columns = ", ".join(c.strip() for c in cells)[:300]
        raise ConfigError(f"{name}: the CSV header has no {wanted} (columns: {columns}); pass --field NAME")
    return cells, col


def sniff_delimiter(header: str, field: str | None) -> str | None:
    """The delimiter (tab, comma, semicolon) under which a cell of ``header`` names the id column, or None."""
    for delimiter in ("\t", ",", ";"):
        if delimiter in header:
            cells = header_cells(header, delimiter)
            if cells is not None and find_column(cells, field) is not None:
                return delimiter
    return None


def header_cells(header: str, delimiter: str) -> list[str] | None:
    """The cells of a CSV header line, or None when the csv module rejects it (e.g. a lone carriage return)."""
    try:
        return next(csv.reader([header], delimiter=delimiter), [])
    except csv.Error:
        return None
