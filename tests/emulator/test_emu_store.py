"""The document store: children semantics against a naive model, and the --docs reader."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bulkdelete.emulator import DocumentStore, read_doc_ids

SEGMENTS = st.sampled_from(["a", "b", "ab", "a b", "é", "%2F", "+"])
IDS = st.lists(SEGMENTS, min_size=1, max_size=3).map("/".join)


@given(
    st.lists(IDS, max_size=30),
    st.lists(st.tuples(IDS, st.booleans()), max_size=10),
    st.lists(IDS, max_size=5),
)
def test_store_matches_a_naive_model(seed: list[str], deletes: list[tuple[str, bool]], re_added: list[str]) -> None:
    store = DocumentStore(seed)
    model = set(seed)
    for doc_id, children in deletes:
        gone = {d for d in model if d == doc_id or (children and d.startswith(doc_id + "/"))}
        assert store.delete(doc_id, children) == len(gone)
        model -= gone
        store.add_many(re_added)  # re-adding deleted ids puts duplicates in the index
        model |= set(re_added)
    assert store.ids() == sorted(model)
    assert len(store) == len(model)


def test_children_are_only_slash_descendants() -> None:
    store = DocumentStore(["a", "a/b", "a/b/c", "ab", "a-b", "b/a"])
    assert store.delete("a", children=True) == 3
    assert store.ids() == ["a-b", "ab", "b/a"]
    assert store.delete("b/a/x", children=True) == 0


def test_ids_by_prefix_and_limit() -> None:
    store = DocumentStore(["x/2", "x/1", "y"])
    assert store.ids("x/") == ["x/1", "x/2"]
    assert store.ids(limit=1) == ["x/1"]
    assert store.clear() == 3
    assert "y" not in store


def test_read_doc_ids_skips_blanks_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_bytes("\ufeffa\r\n\n# comment\n  https://x.com/a b  \nhttps://例え.jp/ドキュメント\n".encode())
    assert list(read_doc_ids(path)) == ["a", "https://x.com/a b", "https://例え.jp/ドキュメント"]
