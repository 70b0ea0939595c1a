"""The emulator's query language: the parser, the predicates, and the rowid-range selection against a naive model."""

from __future__ import annotations

import calendar
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkdelete.emulator.predicates import compile_node
from bulkdelete.emulator.query import And, Not, Or, QuerySyntaxError, Term, Value, date_ms, parse
from bulkdelete.emulator.selection import SelectionCache, select
from bulkdelete.emulator.store import ROWID_BASE, DocSpec, DocumentStore

NOW = 1_717_200_000_000  # 2024-06-01, epoch ms
DAY = 86_400_000


def term(field: str, op: str, *values: str) -> Term:
    return Term(field, op, tuple(Value(v, True) for v in values))


def test_a_space_is_an_and_and_or_binds_tighter() -> None:
    a, b, c = term("source", "==", "a"), term("source", "==", "b"), term("source", "==", "c")
    assert parse('@source=="a" @source=="b" OR @source=="c"') == And((a, Or((b, c))))
    assert parse('@source=="a" AND (@source=="b" OR @source=="c")') == And((a, Or((b, c))))
    assert parse('NOT @source=="a" OR @source=="b"') == Or((Not(a), b))


def test_values_are_quoted_words_or_lists() -> None:
    assert parse("@rowid>9007199254741992") == Term("rowid", ">", (Value("9007199254741992"),))
    assert parse("@date<now-90d") == Term("date", "<", (Value("now-90d"),))
    assert parse('@Author==(jdoe, "a smith")') == Term("author", "==", (Value("jdoe"), Value("a smith", True)))
    assert parse("@folder") == Term("folder", "")


@pytest.mark.parametrize(
    ("aq", "says"),
    [
        ('(@source=="a"', "unclosed parenthesis"),
        ('@source=="a")', "unexpected"),
        ("hello", "free text"),
        ('@uri=="a\\b"', "escapes"),
        ('@uri=="a', "unterminated"),
        ("@uri==(a b)", "expected , or )"),
    ],
)
def test_syntax_errors_name_the_problem(aq: str, says: str) -> None:
    with pytest.raises(QuerySyntaxError, match=re.escape(says)):
        parse(aq)


def test_dates_are_utc_and_relative_to_now() -> None:
    assert date_ms("2024/01/01", NOW) == calendar.timegm((2024, 1, 1, 0, 0, 0)) * 1000
    assert date_ms("2024/01/01@12:30:15", NOW) == calendar.timegm((2024, 1, 1, 12, 30, 15)) * 1000
    assert date_ms("2024-01-01T12:30:15Z", NOW) == date_ms("2024/01/01@12:30:15", NOW)
    assert date_ms("now-90d", NOW) == NOW - 90 * DAY
    assert date_ms("now-2h", NOW) == NOW - 7_200_000
    assert date_ms("now", NOW) == NOW
    assert date_ms("2024/13/01", NOW) is None
    assert date_ms("yesterday", NOW) is None


@pytest.fixture
def store() -> DocumentStore:
    return DocumentStore(
        [
            DocSpec("https://w/Old", "web", NOW - 400 * DAY, NOW - 10 * DAY, (("author", "jdoe"), ("size", 10))),
            DocSpec("https://w/new", "web", NOW - DAY, NOW - DAY, (("author", ["jdoe", "asmith"]),)),
            DocSpec("https://i/old", "intranet", NOW - 400 * DAY, NOW, (("size", 2.5),)),
            "plain",
        ],
        clock_ms=lambda: NOW,
    )


def matched(store: DocumentStore, aq: str) -> list[str]:
    pred = compile_node(parse(aq), store, NOW)
    return [store.row_ids[row] for row in range(len(store.row_ids)) if pred(row)]


@pytest.mark.parametrize(
    ("aq", "expected"),
    [
        ('@source=="WEB"', ["https://w/Old", "https://w/new"]),
        ("@source==(web,intranet)", ["https://w/Old", "https://w/new", "https://i/old"]),
        ("@date<2024/01/01", ["https://w/Old", "https://i/old"]),
        ("@date>=now-30d", ["https://w/new", "plain"]),
        ("@indexeddate<now-5d", ["https://w/Old"]),
        ('@author=="jdoe"', ["https://w/Old", "https://w/new"]),
        ("@author==asmith", ["https://w/new"]),
        ("@author<>jdoe", ["https://i/old", "plain"]),
        ("@size>2", ["https://w/Old", "https://i/old"]),
        ("@size<=2.5", ["https://i/old"]),
        ('@uri*="https://?/old"', ["https://w/Old", "https://i/old"]),
        ('@uri="w/"', ["https://w/Old", "https://w/new"]),
        ('NOT @source=="web" NOT @uri==plain', ["https://i/old"]),
        ('@source=="web" @date<now-365d OR @author==asmith', ["https://w/Old", "https://w/new"]),
        ("@author", ["https://w/Old", "https://w/new"]),
        (f"@rowid=={ROWID_BASE + 3}", ["plain"]),
        (f"@rowid>{ROWID_BASE + 1} @rowid<>{ROWID_BASE + 3}", ["https://i/old"]),
    ],
)
def test_predicates(store: DocumentStore, aq: str, expected: list[str]) -> None:
    assert matched(store, aq) == expected


@pytest.mark.parametrize(
    ("aq", "says"),
    [
        ("@rowid>abc", "integers"),
        ("@date<yesterday", "compares dates"),
        ("@date<<<", "compares dates"),
        ("@rowid<(1,2)", "one value"),
        ("@rowid*=1", "does not take"),
    ],
)
def test_values_of_the_wrong_kind_are_syntax_errors(store: DocumentStore, aq: str, says: str) -> None:
    with pytest.raises(QuerySyntaxError, match=says):
        compile_node(parse(aq), store, NOW)


def test_rowids_are_exact_integers_above_2_53() -> None:
    store = DocumentStore(["a", "b"])
    first = ROWID_BASE
    assert first > 2**53 and int(float(first + 1)) != first + 1  # a float cannot hold it
    assert matched(store, f"@rowid=={first + 1}") == ["b"]
    assert matched(store, f"@rowid>{first}") == ["b"]


SOURCES = st.sampled_from(["s", "t", "u"])
BOUND = st.integers(-2, 60)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(SOURCES, min_size=1, max_size=50),
    st.lists(st.tuples(st.integers(0, 80), st.booleans()), max_size=40),
    SOURCES,
    BOUND,
    BOUND,
    st.booleans(),
)
def test_selection_matches_a_naive_model_through_adds_and_deletes(
    sources: list[str], steps: list[tuple[int, bool]], source: str, lo: int, hi: int, descending: bool
) -> None:
    """A cached selection stays exact as rows are added and deleted between queries (the keyset-paging case)."""
    store = DocumentStore([DocSpec(f"d{n}", s) for n, s in enumerate(sources)])
    cache = SelectionCache()
    aq = f'@source=="{source}" @rowid>{ROWID_BASE + lo} @rowid<={ROWID_BASE + hi}'
    for k, (n, delete) in enumerate(steps):
        if delete:
            store.delete(f"d{n}")
        else:
            store.add(DocSpec(f"d{n}", sources[k % len(sources)]))
        matches = select(store, parse(aq), NOW, cache)
        expected = [
            row
            for row in range(len(store.row_ids))
            if store.is_live(row) and store.source_of(row) == source and lo < row <= hi
        ]
        assert matches.total == len(expected)
        order = "descending" if descending else "ascending"
        assert matches.rows(5, order) == (expected[::-1] if descending else expected)[:5]


def test_secured_ids_are_hidden_from_a_selection() -> None:
    store = DocumentStore([DocSpec(f"d{n}", "s") for n in range(10)])
    matches = select(store, parse('@source=="s"'), NOW, SelectionCache(), hidden={"d1", "d2"})
    assert matches.total == 8
    assert [store.row_ids[row] for row in matches.rows(3, "ascending")] == ["d0", "d3", "d4"]


def test_a_wide_uri_prefix_is_selected_not_read_from_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    from bulkdelete.emulator import selection

    monkeypatch.setattr(selection, "URI_CANDIDATES_MAX", 3)
    store = DocumentStore([f"https://x/{n}" for n in range(10)])
    cache = SelectionCache()
    assert select(store, parse('@uri*="https://x/*"'), NOW, cache).total == 10
    assert len(cache) == 1  # cached: the prefix reaches more than 3 ids
    assert select(store, parse('@uri*="https://x/1*"'), NOW, cache).total == 1
    assert len(cache) == 1  # narrow: read from the index each time
