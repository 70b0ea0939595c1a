"""The id reader: formats, auto-detection, cleaning, invalid records, line numbers, streaming inputs."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from bulkdelete.errors import ConfigError
from bulkdelete.input.formats import MAX_ID_BYTES, TRUNCATED_MARK, make_record
from bulkdelete.input.reader import looks_like_uri, read_records
from bulkdelete.records import Record

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def from_bytes(data: bytes, **kwargs: object) -> list[Record]:
    return list(read_records([], stdin=io.BytesIO(data), **kwargs))  # type: ignore[arg-type]


def ids_lines(records: list[Record]) -> list[tuple[str, int]]:
    return [(r.id, r.line) for r in records]


# -- lines --


def test_lines_skip_blank_and_comment_lines_and_number_physical_lines() -> None:
    records = from_bytes(b"a\n\n# comment\n   # indented comment\n  b  \n")
    assert ids_lines(records) == [("a", 1), ("b", 5)]
    assert all(r.problem is None and r.file is None for r in records)


def test_bom_crlf_and_no_trailing_newline() -> None:
    records = from_bytes(b"\xef\xbb\xbfhttps://x/1\r\nhttps://x/2\r\nhttps://x/3")
    assert ids_lines(records) == [("https://x/1", 1), ("https://x/2", 2), ("https://x/3", 3)]


def test_make_record_equals_the_constructor() -> None:
    assert make_record("a", 3, "f", None) == Record("a", 3, "f", None)
    assert from_bytes(b"a") == [Record("a", 1)]


def test_unicode_ids_and_unicode_surrounding_whitespace() -> None:
    records = from_bytes("https://例え.jp/ドキュメント\n\u00a0 https://x/ü \u3000\n\u00a0\n".encode())
    assert ids_lines(records) == [("https://例え.jp/ドキュメント", 1), ("https://x/ü", 2)]


def test_undecodable_bytes_are_an_invalid_record_with_a_printable_id() -> None:
    records = from_bytes(b"ok\nbad-\xff\xfe-id\nok2\n")
    assert ids_lines(records) == [("ok", 1), ("bad-\\xff\\xfe-id", 2), ("ok2", 3)]
    assert records[1].problem == "undecodable bytes (not UTF-8)"
    assert records[0].problem is None
    assert records[2].problem is None


@pytest.mark.parametrize("raw", [b"a\tb", b"a\x00b", b"a\x1bb", b"a\x7fb", "a\u0085b".encode(), b"a\rb"])
def test_control_characters_inside_an_id_are_invalid(raw: bytes) -> None:
    (record,) = from_bytes(raw + b"\n")
    assert record.problem == "control character in id"
    assert record.id == raw.decode()


def test_non_control_unicode_that_is_not_printable_is_accepted() -> None:
    # NBSP, a zero-width joiner and a soft hyphen inside an id are odd but legal: no C0/C1 control.
    text = "https://x/a\u00a0b\u200dc\u00add"
    assert from_bytes(text.encode()) == [Record(text, 1)]


def test_an_id_over_8_kib_is_invalid_and_truncated() -> None:
    long_id = "https://x/" + "a" * 10_000
    records = from_bytes(f"short\n{long_id}\nnext\n".encode())
    assert [r.line for r in records] == [1, 2, 3]
    assert records[1].problem == f"id longer than 8 KiB ({len(long_id)} bytes)"
    assert records[1].id.endswith(TRUNCATED_MARK)
    assert len(records[1].id) < 300
    assert records[2] == Record("next", 3)


def test_an_id_of_exactly_8_kib_is_valid_and_multibyte_length_counts_bytes() -> None:
    exact = "a" * MAX_ID_BYTES
    over = "é" * (MAX_ID_BYTES // 2 + 1)  # 4097 characters, 8194 bytes
    records = from_bytes(f"{exact}\n{over}\n".encode())
    assert records[0] == Record(exact, 1)
    assert records[1].problem == "id longer than 8 KiB (8194 bytes)"


def test_a_huge_line_is_cut_not_held(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bulkdelete.input.reader.MAX_LINE_BYTES", 50_000)
    monkeypatch.setattr("bulkdelete.input.chunks.CHUNK_BYTES", 4096)
    records = from_bytes(b"a\n" + b"x" * 200_000 + b"\nb\n")
    assert ids_lines(records)[0] == ("a", 1)
    assert records[1].problem == "line longer than 16 MiB"
    assert records[1].line == 2
    assert records[2] == Record("b", 3)


def test_lines_split_across_small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bulkdelete.input.chunks.CHUNK_BYTES", 3)
    assert ids_lines(from_bytes(b"\xef\xbb\xbfabcdef\n\nghij\nk")) == [("abcdef", 1), ("ghij", 3), ("k", 4)]


# -- jsonl --


def test_jsonl_default_fields_in_order_and_blank_lines() -> None:
    data = b'{"documentId":"a","id":"no"}\n\n{"id":"b"}\n{"uri":"c"}\n'
    assert ids_lines(from_bytes(data)) == [("a", 1), ("b", 3), ("c", 4)]


def test_jsonl_field_option() -> None:
    assert ids_lines(from_bytes(b'{"docId":" x ","id":"no"}\n', field="docId")) == [("x", 1)]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"id": "\xff"}', "undecodable bytes (not UTF-8)"),
        (b'["a"]', "not a JSON object"),
        (b'{"title":"t"}', 'no "documentId" or "id" or "uri" field'),
        (b'{"id":42}', '"id" is not a string'),
        (b'{"id":"  "}', "empty id"),
        (b'{"id":"a\\tb"}', "control character in id"),
    ],
)
def test_jsonl_invalid_lines(line: bytes, problem: str) -> None:
    records = from_bytes(b'{"id":"first"}\n' + line + b'\n{"id":"last"}\n', fmt="jsonl")
    assert [r.line for r in records] == [1, 2, 3]
    assert records[1].problem == problem
    assert records[0].problem is None
    assert records[2].problem is None


# -- csv --


def test_csv_quoted_fields_multiline_record_and_blank_rows() -> None:
    data = b'title,DocumentID,x\n"a, b",https://x/1,1\n\n"multi\nline",https://x/2,2\n'
    assert ids_lines(from_bytes(data)) == [("https://x/1", 2), ("https://x/2", 4)]


def test_tsv_detected_from_header_and_by_extension(tmp_path: Path) -> None:
    assert ids_lines(from_bytes(b"id\ttitle\nx, y\tt\n")) == [("x, y", 2)]
    path = tmp_path / "export.tsv"
    path.write_bytes(b"uri\ttitle\nhttps://x/1\tT\n")
    assert ids_lines(list(read_records([str(path)]))) == [("https://x/1", 2)]


def test_csv_preamble_comments_shift_line_numbers() -> None:
    assert ids_lines(from_bytes(b"# exported 2024\n\ndocumentId\nhttps://x/1\n")) == [("https://x/1", 4)]


def test_csv_invalid_rows() -> None:
    data = b'uri,title\nhttps://x/1,a\n,empty\nshort\n\xff\xfe,bad\n"x\ry",cr\n'
    records = from_bytes(data, fmt="csv")
    assert [(r.line, r.problem) for r in records] == [
        (2, None),
        (3, "empty 'uri' cell"),
        (4, None),
        (5, "undecodable bytes (not UTF-8)"),
        (6, "control character in id"),
    ]
    records = from_bytes(b"title,uri\nonly-one-cell\n", fmt="csv")
    assert records[0].problem == "row has 1 cells, no 'uri' column"


def test_csv_without_the_column_is_a_config_error_before_any_record() -> None:
    with pytest.raises(ConfigError, match="no column 'documentId'"):
        from_bytes(b"a,b\n1,2\n", fmt="csv", field="documentId")
    with pytest.raises(ConfigError, match="pass --field"):
        from_bytes(b"a,b\n1,2\n", fmt="csv")


# -- auto-detection and arguments --


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"# ids\n\nhttps://x/1,2\n", [("https://x/1,2", 3)]),  # a comma in a URI is not a CSV
        (b'\n{"id":"j"}\n', [("j", 2)]),
        (b"documentId;title\nx;y\n", [("x", 2)]),
        (b"documentId\nx\n", [("x", 2)]),  # a one-column CSV
        (b"", []),
        (b"# only a comment\n", []),
    ],
)
def test_auto_detection_by_content(data: bytes, expected: list[tuple[str, int]]) -> None:
    assert ids_lines(from_bytes(data)) == expected


def test_auto_detection_by_extension(tmp_path: Path) -> None:
    jsonl = tmp_path / "a.ndjson"
    jsonl.write_bytes(b'{"id":"j"}\n')
    csv_gz = tmp_path / "b.csv.gz"
    csv_gz.write_bytes(gzip.compress(b"id\nc\n"))
    assert [r.id for r in read_records([str(jsonl)])] == ["j"]
    assert [r.id for r in read_records([str(csv_gz)])] == ["c"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fmt": "xml"}, "--format must be one of"),
        ({"fmt": "lines", "field": "id"}, "--field applies to jsonl and csv"),
        ({"field": " "}, "--field must not be empty"),
    ],
)
def test_bad_arguments_raise_config_error_at_call_time(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        read_records([], stdin=io.BytesIO(b"a\n"), **kwargs)


def test_missing_input_and_double_stdin_raise_at_call_time(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        read_records([str(tmp_path / "nope.txt")])
    with pytest.raises(ConfigError, match="only once"):
        read_records(["-", "-"])


def test_field_on_a_plain_list_and_json_array_raise_before_any_record() -> None:
    with pytest.raises(ConfigError, match="--field 'docId' given"):
        from_bytes(b"https://x/1\n", field="docId")
    with pytest.raises(ConfigError, match="JSON array"):
        from_bytes(b'["https://x/1"]\n')


# -- inputs --


def test_several_inputs_in_order_with_file_set(tmp_path: Path) -> None:
    first = tmp_path / "one.txt"
    first.write_bytes(b"a\nb\n")
    second = tmp_path / "two.txt.gz"
    second.write_bytes(gzip.compress(b"\nc\n"))
    records = list(read_records([str(first), "-", str(second)], stdin=io.BytesIO(b"s\n")))
    assert [(r.id, r.line, r.file) for r in records] == [
        ("a", 1, str(first)),
        ("b", 2, str(first)),
        ("s", 1, "-"),
        ("c", 2, str(second)),
    ]


def test_gzip_on_stdin_is_detected_by_magic() -> None:
    assert ids_lines(from_bytes(gzip.compress(b"a\nb\n"))) == [("a", 1), ("b", 2)]


class _Trickle(io.RawIOBase):
    """A pipe that delivers one byte per read, as a slow producer's may."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        piece, self._data = bytes(self._data[:1]), self._data[1:]
        return piece


def test_gzip_is_read_as_gzip_does_members_concatenated_zero_padding_and_byte_by_byte() -> None:
    data = gzip.compress(b"a\nb\n") + gzip.compress(b"c\n") + b"\0" * 7
    assert [r.id for r in from_bytes(data)] == ["a", "b", "c"]
    trickled = list(read_records([], stdin=_Trickle(data)))  # type: ignore[arg-type]
    assert ids_lines(trickled) == [("a", 1), ("b", 2), ("c", 3)]
    assert ids_lines(list(read_records([], stdin=_Trickle(b"x\n")))) == [("x", 1)]  # type: ignore[arg-type]


def test_gzip_followed_by_garbage_or_bombing_is_bounded_and_named() -> None:
    with pytest.raises(ConfigError, match=r"cannot read stdin after line 1"):
        from_bytes(gzip.compress(b"a\n") + b"not gzip")
    bomb = gzip.compress(b"\n" * (64 * 1024 * 1024) + b"z\n")  # 64 MiB of blank lines, inflated a bit at a time
    assert ids_lines(from_bytes(bomb)) == [("z", 64 * 1024 * 1024 + 1)]


def test_truncated_gzip_raises_config_error_naming_the_input(tmp_path: Path) -> None:
    path = tmp_path / "cut.txt.gz"
    path.write_bytes(gzip.compress(b"".join(b"id-%d\n" % i for i in range(5000)))[:-20])
    with pytest.raises(ConfigError, match=r"cut\.txt\.gz"):
        list(read_records([str(path)]))


def test_samples_read_cleanly() -> None:
    export = list(read_records([str(SAMPLES / "export.csv")]))
    assert len(export) == 40
    assert all(r.problem is None for r in export)
    assert sum(not looks_like_uri(r.id) for r in export) == 1
    assert [r.id for r in read_records([str(SAMPLES / "ids.txt")])][:2] == [
        "https://www.example.com/products/widget-pro",
        "https://例え.jp/ドキュメント",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://x.com/a", True),
        ("file://server/share/a b.pdf", True),
        ("svn+ssh://h/x", True),
        ("a.b-c://x", True),
        ("https://", False),
        ("1http://x", False),
        ("no-scheme", False),
        ("mailto:a@b.c", False),
        ("://x", False),
    ],
)
def test_looks_like_uri(text: str, expected: bool) -> None:
    assert looks_like_uri(text) is expected


# -- properties --

_ID_CHARS = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\ufeff")
ids_strategy = (
    st.text(_ID_CHARS, min_size=1, max_size=40).map(str.strip).filter(lambda s: bool(s) and not s.startswith("#"))
)
padding = st.sampled_from(["", " ", "  ", "\t", " \t "])
noise = st.sampled_from(["", "   ", "# a comment", "  # indented"])


@settings(max_examples=150, deadline=None)
@given(
    ids=st.lists(st.tuples(ids_strategy, padding, padding, st.lists(noise, max_size=2)), max_size=30),
    bom=st.booleans(),
    newline=st.sampled_from(["\n", "\r\n"]),
    final_newline=st.booleans(),
)
def test_round_trip_lines(
    ids: list[tuple[str, str, str, list[str]]], bom: bool, newline: str, final_newline: bool
) -> None:
    lines: list[str] = []
    expected: list[tuple[str, int]] = []
    for record_id, before, after, extras in ids:
        lines.extend(extras)
        lines.append(before + record_id + after)
        expected.append((record_id, len(lines)))
    text = newline.join(lines) + (newline if final_newline and lines else "")
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    records = from_bytes(data, fmt="lines")
    assert ids_lines(records) == expected
    assert all(r.problem is None for r in records)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
@example(b"\x1c#\x80")  # a comment behind \x1c (whitespace to str.strip, not to bytes.strip) on an undecodable line
def test_arbitrary_bytes_never_crash_and_give_one_record_per_significant_line(data: bytes) -> None:
    assume(not data.startswith(b"\x1f\x8b"))  # gzip magic: decompressed (a cut stream is a ConfigError)
    records = from_bytes(data, fmt="lines")
    significant = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        text = raw.decode("utf-8", "replace").strip()
        if text and not text.startswith("#"):
            significant.append(number)
    assert [r.line for r in records] == significant
    assert all(isinstance(r.id, str) for r in records)


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["jsonl", "csv", "auto"]))
@example(b"\x00\r;", "auto")  # a lone CR in a would-be CSV header once crashed the csv module
@example(b"documentId;x\r;\n", "csv")
def test_arbitrary_bytes_in_any_format_never_crash(data: bytes, fmt: str) -> None:
    try:
        records = from_bytes(b"id\n" + data if fmt == "csv" else data, fmt=fmt)
    except ConfigError:  # auto-detection may refuse (a JSON array); never another exception
        return
    assert all(r.line >= 1 for r in records)
