"""SeenIds: set semantics on ids, at most ~100 bytes per distinct id."""

from __future__ import annotations

import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from bulkdelete.pipeline.dedupe import SeenIds


def test_add_reports_new_ids_and_contains_and_len() -> None:
    seen = SeenIds()
    assert seen.add("https://x/a") is True
    assert seen.add("https://x/a") is False
    assert seen.add("https://x/A") is True
    assert "https://x/a" in seen
    assert "https://x/b" not in seen
    assert 42 not in seen
    assert len(seen) == 2
    assert repr(seen) == "<SeenIds 2 ids>"


def test_unicode_and_lone_surrogates_never_raise() -> None:
    seen = SeenIds()
    assert seen.add("https://例え.jp/ドキュメント")
    assert seen.add("\udcff")  # cannot come from the reader, must not crash either
    assert "https://例え.jp/ドキュメント" in seen


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=20), max_size=50))
def test_behaves_like_a_set_of_ids(ids: list[str]) -> None:
    seen, reference = SeenIds(), set()
    for record_id in ids:
        assert seen.add(record_id) is (record_id not in reference)
        reference.add(record_id)
    assert len(seen) == len(reference)
    assert all(record_id in seen for record_id in reference)


def test_at_most_100_bytes_per_distinct_id() -> None:
    count = 200_000
    ids = [f"https://example.com/doc/{i}" for i in range(count)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        seen = SeenIds()
        for record_id in ids:
            seen.add(record_id)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(seen) == count
    assert used / count <= 100, f"{used / count:.1f} bytes per id"
