"""The --resume journal: ok ids read back, torn lines skipped and counted, appends start on a clean line."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from bulkdelete.errors import ConfigError
from bulkdelete.output.journal import JournalInfo, load_ok_ids, prepare_for_append
from bulkdelete.records import Outcome, Record, Result


def line(record_id: str, outcome: Outcome) -> bytes:
    return Result(Record(record_id, 1), outcome).to_json_line()


def test_missing_file_is_an_empty_journal(tmp_path: Path) -> None:
    seen, info = load_ok_ids(str(tmp_path / "journal.jsonl"))
    assert len(seen) == 0
    assert info == JournalInfo(0, 0, 0)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b"")
    assert load_ok_ids(str(path))[1] == JournalInfo(0, 0, 0)


def test_only_ok_lines_count_and_not_ok_planned_or_duplicate_do_not(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(
        line("https://x/ok", Outcome.ACCEPTED)
        + line("https://x/failed", Outcome.FAILED)
        + line("https://x/invalid", Outcome.INVALID)
        + line("https://x/planned", Outcome.PLANNED)
        + line("velt-1", Outcome.NOT_FOUND)
        + line("https://x/ok", Outcome.SKIPPED)
        + line("https://x/failed", Outcome.DUPLICATE)  # its first occurrence failed: not gone
        + b"\n"
    )
    seen, info = load_ok_ids(str(path))
    assert "https://x/ok" in seen
    assert "velt-1" in seen
    assert "https://x/failed" not in seen
    assert "https://x/invalid" not in seen
    assert "https://x/planned" not in seen
    assert info == JournalInfo(lines=7, ok_ids=2, torn_lines=0)


def test_torn_last_line_is_ignored_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    whole = line("https://x/b", Outcome.ACCEPTED)
    path.write_bytes(line("https://x/a", Outcome.ACCEPTED) + whole[: len(whole) // 2])
    seen, info = load_ok_ids(str(path))
    assert "https://x/a" in seen
    assert "https://x/b" not in seen
    assert info == JournalInfo(lines=2, ok_ids=1, torn_lines=1)


def test_torn_middle_line_after_a_crash_and_a_resumed_run(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    torn = line("https://x/b", Outcome.ACCEPTED)[:-15]
    path.write_bytes(line("https://x/a", Outcome.ACCEPTED) + torn)
    prepare_for_append(str(path))
    with path.open("ab") as handle:
        handle.write(line("https://x/b", Outcome.ACCEPTED))
    seen, info = load_ok_ids(str(path))
    assert "https://x/a" in seen
    assert "https://x/b" in seen
    assert info == JournalInfo(lines=3, ok_ids=2, torn_lines=1)
    assert path.read_bytes().startswith(line("https://x/a", Outcome.ACCEPTED) + torn + b"\n")


def test_garbage_lines_never_raise(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'\xff\xfe\n[1,2]\n{"ok":true}\n{"id":5,"ok":true}\n{"id":"x","ok":"true"}\n')
    seen, info = load_ok_ids(str(path))
    assert len(seen) == 0
    assert info == JournalInfo(lines=5, ok_ids=0, torn_lines=4)


def test_unicode_ids(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    ids = ["https://例え.jp/ドキュメント", "https://x/emoji/🎉", "https://x/a\u00a0b"]
    path.write_bytes(b"".join(line(i, Outcome.BATCHED) for i in ids))
    seen, info = load_ok_ids(str(path))
    assert all(i in seen for i in ids)
    assert info.ok_ids == 3


def test_prepare_for_append_leaves_clean_missing_and_empty_files_alone(tmp_path: Path) -> None:
    clean = tmp_path / "clean.jsonl"
    clean.write_bytes(line("a", Outcome.ACCEPTED))
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    for path in (clean, empty, tmp_path / "missing.jsonl"):
        prepare_for_append(str(path))
    assert clean.read_bytes() == line("a", Outcome.ACCEPTED)
    assert empty.read_bytes() == b""
    assert not (tmp_path / "missing.jsonl").exists()


def test_prepare_for_append_ends_a_torn_tail_without_truncating(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'{"id":"a","ok":tr')
    prepare_for_append(str(path))
    assert path.read_bytes() == b'{"id":"a","ok":tr\n'
    prepare_for_append(str(path))  # idempotent
    assert path.read_bytes() == b'{"id":"a","ok":tr\n'


def test_an_unreadable_journal_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--resume journal"):
        load_ok_ids(str(tmp_path))  # a directory


def test_result_lines_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    result = Result(Record('https://x/"q"', 9, file="f.txt"), Outcome.ACCEPTED, status=202, attempts=1)
    path.write_bytes(result.to_json_line())
    assert orjson.loads(path.read_bytes())["id"] == 'https://x/"q"'
    assert 'https://x/"q"' in load_ok_ids(str(path))[0]
