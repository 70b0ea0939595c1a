"""The listing's pure parts: rowid ranges cut and paged (every rowid exactly once), pages read exactly, item lines."""

from __future__ import annotations

import random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkdelete.errors import ConfigError
from bulkdelete.select import Listed
from bulkdelete.select.coveo_query import read_page, selection, too_large
from bulkdelete.select.ranges import Range, RangePlan
from bulkdelete.targets.base import Reply

BIG = 2**53 + 1000


def _page(rowids: list[int], after: int, upper: int, size: int) -> list[int]:
    return [r for r in rowids if after < r <= upper][:size]


def list_all(rowids: list[int], n: int, size: int, seed: int, min_items: int = 1) -> list[int]:
    """Page ``rowids`` (sorted) as the listing does, in a random order of ranges, cutting as ranges end."""
    plan = RangePlan(rowids[0], rowids[-1], len(rowids), n, min_items=min_items)
    rng = random.Random(seed)
    # In flight: (range, after asked, upper asked) — answered later, after cuts may have lowered the upper.
    flight = [(r, r.after, r.upper) for r in plan.ranges]
    listed: list[int] = []
    while flight:
        part, after, upper = flight.pop(rng.randrange(len(flight)))
        got = _page(rowids, after, upper, size)
        start, stop = part.take(after, got, size)
        listed.extend(got[start:stop])
        if not part.done:
            flight.append((part, part.after, part.upper))
        else:
            new = plan.cut()
            if new is not None:
                flight.append((new, new.after, new.upper))
    assert plan.finished
    return listed


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 10_000), min_size=1, max_size=300, unique=True),
    st.integers(1, 20),
    st.integers(1, 50),
    st.integers(0, 1000),
)
def test_every_rowid_is_listed_exactly_once_however_ranges_are_cut(
    offsets: list[int], n: int, size: int, seed: int
) -> None:
    rowids = sorted(BIG + o for o in offsets)
    listed = list_all(rowids, n, size, seed)
    assert sorted(listed) == rowids and len(set(listed)) == len(listed)


def test_ranges_cover_the_bounds_exactly_and_items_at_both_ends_are_kept() -> None:
    plan = RangePlan(BIG, BIG + 99, 100, 4, min_items=1)
    assert plan.ranges[0].after == BIG - 1 and plan.ranges[-1].upper == BIG + 99
    assert all(a.upper == b.after for a, b in zip(plan.ranges, plan.ranges[1:], strict=False))
    assert sorted(list_all(list(range(BIG, BIG + 100)), 4, 7, 1)) == list(range(BIG, BIG + 100))


def test_a_small_span_gets_no_more_ranges_than_rowids() -> None:
    assert len(RangePlan(BIG, BIG + 2, 3, 16, min_items=1).ranges) == 3


def test_an_ending_range_cuts_the_biggest_one_left_in_two_when_it_holds_enough() -> None:
    plan = RangePlan(0, 999, 1000, 2, min_items=100)
    first, second = plan.ranges
    first.done = True
    new = plan.cut()
    assert new is not None and second.upper == new.after and new.upper == 999
    assert plan.cut() is None  # two open again: the target
    small = RangePlan(0, 99, 100, 2, min_items=1000)
    small.ranges[0].done = True
    assert small.cut() is None  # 50 items left: not worth a range


def test_a_page_past_a_lowered_upper_bound_keeps_only_its_own_rowids_and_ends() -> None:
    part = Range(after=10, upper=20, lower=10)
    start, stop = part.take(10, [11, 15, 21, 25], 4)
    assert (start, stop) == (0, 2) and part.done


def test_a_full_page_moves_the_keyset_and_a_short_one_ends_the_range() -> None:
    part = Range(after=0, upper=100, lower=0)
    assert part.take(0, [1, 2, 3], 3) == (0, 3) and part.after == 3 and not part.done
    assert part.take(3, [4, 5], 3) == (0, 2) and part.done


def _reply(doc: object, status: int = 200) -> Reply:
    return Reply(status, orjson.dumps(doc), {}, 1.0)


def test_rowids_above_2_53_are_read_exactly_and_a_float_rowid_is_no_page() -> None:
    rowid = 2**53 + 1
    page = read_page(_reply({"totalCount": 7, "results": [{"uri": "u", "raw": {"rowid": rowid, "date": 5}}]}))
    assert page is not None and page.total == 7 and page.items[0].rowid == rowid and page.items[0].date == 5
    body = b'{"totalCount": 1, "results": [{"uri": "u", "raw": {"rowid": 9007199254740993.0}}]}'
    assert read_page(Reply(200, body, {}, 1.0)) is None
    assert read_page(_reply({"results": [{"uri": "u", "raw": {}}]})) is None


def test_only_the_response_cap_400_asks_for_less() -> None:
    cap = {"statusCode": 400, "errorCode": "ResponseExceededMaximumSizeException", "message": "too big"}
    assert too_large(_reply(cap, 400))
    assert not too_large(_reply({"errorCode": "InvalidQuerySyntax", "message": "bad"}, 400))
    assert not too_large(_reply(cap, 500))


def test_the_selection_wraps_the_expression_and_refuses_an_unquotable_source_name() -> None:
    assert selection("@date<now-90d", "My Source") == '(@date<now-90d) @source=="My Source"'
    assert selection(None, "S") == '@source=="S"' and selection("@a==1", None) == "(@a==1)"
    with pytest.raises(ConfigError):
        selection(None, 'a "quoted" name')


def test_item_lines_are_those_of_spec_13() -> None:
    coveo = Listed("https://x/a b?c#d", source="S", rowid=2**53 + 3, date=None)
    assert orjson.loads(coveo.to_json(4, "T")) == {
        "id": "https://x/a b?c#d",
        "source": "S",
        "rowid": 2**53 + 3,
        "date": None,
        "line": 4,
        "ts": "T",
    }
    assert orjson.loads(Listed("doc-1", folder="f").to_json(1, "T")) == {
        "id": "doc-1",
        "folder": "f",
        "line": 1,
        "ts": "T",
    }
    assert coveo.to_json(1, "T").endswith(b"\n")
