"""The per-request shortcuts of the hot path give exactly what the plain ways give (benchmarks/RESULTS.md, issue 5)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from yarl import URL

from bulkdelete.rate.pacing import Pacer
from bulkdelete.records import Outcome
from bulkdelete.targets.urls import UrlPrefix, quote_path_segment, quote_query_value


def test_quote_query_value_equals_quote_on_every_ascii_character() -> None:
    for code in range(128):
        assert quote_query_value(chr(code)) == quote(chr(code), safe=""), repr(chr(code))


@given(st.text())
def test_quote_query_value_equals_quote_on_any_text(text: str) -> None:
    assert quote_query_value(text) == quote(text, safe="")


@given(st.text())
def test_quote_path_segment_equals_quote_but_for_dot_segments(text: str) -> None:
    expected = "%2E" * len(text) if text in (".", "..") else quote(text, safe="")
    assert quote_path_segment(text) == expected


@pytest.mark.parametrize(
    "base",
    [
        "http://127.0.0.1:18080",
        "https://api.cloud.coveo.com",
        "https://api-eu.cloud.coveo.com/",
        "http://[::1]:8080/pre%20fix",
        "http://user:pw@localhost:9/x",
        "http://127.0.0.1:80",
    ],
)
def test_url_prefix_builds_the_url_that_parsing_the_whole_string_gives(base: str) -> None:
    prefix = base.rstrip("/") + "/push/v1/organizations/o%20x/sources/s/documents"
    query = "documentId=a%2Fb%20%3F%26%23%2B%25&deleteChildren=false"
    built = UrlPrefix(prefix).with_query(query)
    parsed = URL(f"{prefix}?{query}", encoded=True)
    assert built == parsed
    assert str(built) == str(parsed)
    assert (built.host, built.port, built.raw_path_qs) == (parsed.host, parsed.port, parsed.raw_path_qs)


def test_outcome_ok_is_false_only_for_invalid_failed_and_a_check_that_still_sees_the_id() -> None:
    assert {outcome for outcome in Outcome if not outcome.ok} == {Outcome.INVALID, Outcome.FAILED, Outcome.PRESENT}


def test_try_acquire_grants_an_unlimited_slot_unless_paused() -> None:
    now = [10.0]
    pacer = Pacer(0, clock=lambda: now[0])
    assert pacer.try_acquire() and pacer.granted == 1
    pacer.pause(1.0)
    assert not pacer.try_acquire() and pacer.granted == 1
    now[0] = 11.0
    assert pacer.try_acquire() and pacer.granted == 2


def test_try_acquire_takes_nothing_before_the_next_slot() -> None:
    now = [0.0]
    pacer = Pacer(10, clock=lambda: now[0], margin=0.0)
    assert pacer.try_acquire()
    assert not pacer.try_acquire()  # the next slot is 100 ms away (less the 0.5 ms early grant)
    now[0] = 0.0995
    assert pacer.try_acquire()
    assert pacer.granted == 2
