"""``--check auto``'s round choice (SPEC §13.1) and the scan's children-by-prefix, as pure functions: numbers in,
decision out, no server and no clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulkdelete.pipeline.dedupe import id_key
from bulkdelete.verify.choice import CheckMode, QueryCosts, round_check
from bulkdelete.verify.scan import count_below

COSTS = QueryCosts()  # 100 ids a query, 1,000 items a page, 2 bounds queries


def test_ids_cost_one_query_per_hundred_pending_ids() -> None:
    assert [COSTS.ids(n) for n in (0, 1, 100, 101, 1_000_000)] == [0, 1, 1, 2, 10_000]


def test_children_add_a_query_per_id_that_may_be_gone() -> None:
    assert QueryCosts(children=True).ids(250) == 3 + 250


def test_a_scan_costs_its_pages_and_the_bounds_and_an_empty_source_still_a_page() -> None:
    assert [COSTS.scan(n) for n in (0, 1, 1000, 1001, 2_000_000)] == [3, 3, 3, 4, 2002]


def test_most_of_a_big_source_deleted_scans() -> None:
    # 1,000,000 ids deleted from a source of 1,050,000: 50,000 items left to list against 10,000 id queries.
    assert COSTS.choose(pending=1_000_000, count=50_000) is CheckMode.SCAN


def test_few_ids_among_many_documents_ask_for_the_ids() -> None:
    assert COSTS.choose(pending=5_000, count=2_000_000) is CheckMode.IDS


def test_a_tie_goes_to_the_ids() -> None:
    # ids: 30 queries; scan: 28 pages + 2 bounds = 30.
    assert COSTS.choose(pending=3_000, count=28_000) is CheckMode.IDS
    assert COSTS.choose(pending=3_001, count=28_000) is CheckMode.SCAN


def test_no_count_is_asked_when_no_scan_could_be_cheaper() -> None:
    # ids cost 4 = the count query + the smallest scan (1 page + 2 bounds): counting cannot pay for itself.
    assert not COSTS.worth_counting(400)
    assert COSTS.worth_counting(401)
    assert not COSTS.worth_counting(0)


def test_round_check_keeps_a_fixed_mode_and_takes_ids_without_a_count() -> None:
    assert round_check(CheckMode.SCAN, COSTS, 1, None) is CheckMode.SCAN
    assert round_check(CheckMode.IDS, COSTS, 10**6, 0) is CheckMode.IDS
    assert round_check(CheckMode.AUTO, COSTS, 10**6, None) is CheckMode.IDS  # the count could not be read
    assert round_check(CheckMode.AUTO, COSTS, 10**6, 10) is CheckMode.SCAN


@given(st.integers(0, 10**7), st.integers(0, 10**8), st.booleans())
def test_auto_takes_the_cheaper_check(pending: int, count: int, children: bool) -> None:
    costs = QueryCosts(children=children)
    chosen = costs.choose(pending, count)
    spent = costs.scan(count) if chosen is CheckMode.SCAN else costs.ids(pending)
    assert spent == min(costs.scan(count), costs.ids(pending))


def test_bad_costs_are_refused() -> None:
    with pytest.raises(ValueError, match="ids_per_query"):
        QueryCosts(ids_per_query=0)


def _below(uri: str, pending: list[str]) -> dict[str, int]:
    keys = {id_key(i) for i in pending}
    slashed = {id_key(i.rstrip("/")) for i in pending if i.endswith("/")}
    below: dict[int, int] = {}
    count_below(uri, keys, slashed, below)
    return {i: below[id_key(i.rstrip("/"))] for i in pending if id_key(i.rstrip("/")) in below}


def test_a_listed_uri_counts_below_each_pending_ancestor_byte_for_byte() -> None:
    pending = ["file://s/folder", "file://s/folder/sub/", "file://s/Folder", "file://s/fold"]
    assert _below("file://s/folder/sub/b.docx", pending) == {"file://s/folder": 1, "file://s/folder/sub/": 1}
    assert _below("file://s/folder-archive/x", pending) == {}  # a sibling, not a descendant
    assert _below("file://s/folderx", pending) == {}


@given(st.text("ab/", max_size=12), st.lists(st.text("ab/", max_size=6), max_size=6))
def test_children_by_prefix_match_the_per_id_rule(uri: str, ids: list[str]) -> None:
    """The per-id check's rule: ``uri.startswith(ID.rstrip("/") + "/")``, for every id with a non-empty base."""
    pending = sorted({i for i in ids if i.rstrip("/")})
    expected = {i: 1 for i in pending if uri.startswith(i.rstrip("/") + "/")}
    assert _below(uri, pending) == expected
