"""``list_items`` (the library's listing, SPEC §10 and §13) against the emulator: every item once, backpressure,
an early close that leaves nothing sending, and a refused expression that ends the listing with its reason.

Backpressure is checked without the wall clock: the caller holds the first item and only yields to the loop.
"""

from __future__ import annotations

import asyncio
import contextlib

from bulkdelete import CoveoListing, RunOptions, Secret, Unlimited, VeltListing, list_items
from bulkdelete.emulator import Emulator, EmulatorConfig, run_emulator
from bulkdelete.emulator.store import ROWID_BASE, DocSpec
from bulkdelete.pipeline.ending import StopReason
from bulkdelete.rate.backoff import BackoffPolicy
from tests.conftest import KEY, ORG, SOURCE

OTHER = "other-source"


def options(concurrency: int = 4) -> RunOptions:
    return RunOptions(rate=Unlimited(), concurrency=concurrency, backoff=BackoffPolicy.instant(), quiet=True, seed=1)


def listing(emu: Emulator, aq: str | None = None, ranges: int = 4) -> CoveoListing:
    return CoveoListing(emu.base_url, ORG, Secret(KEY), source=SOURCE, aq=aq, ranges=ranges)


async def test_every_item_of_the_source_once_with_its_exact_rowid() -> None:
    docs = [DocSpec(f"https://site.example/l/{k}", SOURCE) for k in range(4321)]
    docs += [DocSpec(f"https://other.example/l/{k}", OTHER) for k in range(200)]
    async with run_emulator(EmulatorConfig(), docs=docs) as emu:
        store = emu.state.documents
        expected = {i: ROWID_BASE + (store.row_of(i) or 0) for i in store.ids() if i.startswith("https://site.")}
        selection = listing(emu)
        items = [item async for item in list_items(selection, options())]
    assert {item.id: item.rowid for item in items} == expected
    assert len(items) == len(expected) == 4321  # each once
    assert all(item.source == SOURCE for item in items)
    assert selection.complete and selection.total_count == 4321 and selection.listed == 4321
    assert selection.end.reason is StopReason.COMPLETED


async def test_a_slow_caller_holds_the_pages_back_and_an_early_close_leaves_nothing_sending() -> None:
    docs = [DocSpec(f"https://site.example/s/{k}", SOURCE) for k in range(20_000)]  # 20 pages
    async with run_emulator(EmulatorConfig(search_latency_ms=5), docs=docs) as emu:
        selection = listing(emu, ranges=4)
        items = list_items(selection, options(concurrency=4))
        first = await anext(items)
        for _ in range(2000):  # the caller holds its first item: pages already asked may arrive, no more are asked
            await asyncio.sleep(0)
        held = emu.stats()["searches"]
        await items.aclose()  # returns once the queries in flight have completed
        closed, in_flight = emu.stats(), emu.state.stats.search_inflight
        for _ in range(200):
            await asyncio.sleep(0)
        after = emu.stats()
    assert first.id.startswith("https://site.example/s/")
    assert held <= 2 + 4 + 4  # the two bounds queries, a page per range, and each range's next page at most
    assert in_flight == 0 and after["searches"] == closed["searches"]  # nothing sent after close
    assert not selection.complete and selection.listed < 20_000


async def test_an_expression_the_api_refuses_ends_the_listing_with_its_reason() -> None:
    async with run_emulator(EmulatorConfig(), docs=[DocSpec("https://site.example/x", SOURCE)]) as emu:
        selection = listing(emu, aq="@date<<2024")
        items = [item async for item in list_items(selection, options())]
    assert items == []
    assert not selection.complete
    assert selection.end.reason is StopReason.INPUT_ERROR and "@date<<2024" in (selection.end.message or "")


async def test_a_velt_listing_from_python_follows_its_page_tokens() -> None:
    docs = [DocSpec(f"doc-{k}", SOURCE, fields=(("folder", "f1" if k % 2 else "f2"),)) for k in range(2500)]
    async with run_emulator(EmulatorConfig(), docs=docs) as emu:
        selection = VeltListing(emu.base_url, ORG, Secret("velt-key"), Secret("velt-token"), folder="f1")
        async with contextlib.aclosing(list_items(selection, options())) as items:
            ids = [item.id async for item in items]
    assert sorted(ids) == sorted(f"doc-{k}" for k in range(1, 2500, 2))
    assert selection.complete and selection.queries >= 2
