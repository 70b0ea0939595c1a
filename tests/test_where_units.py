"""``delete --where``'s pure parts: the listing as records (lines, --shard), the guards' words (SPEC §13)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from bulkdelete.input.shard import Shard, shard_of
from bulkdelete.records import Record
from bulkdelete.select import Listed
from bulkdelete.select.where import WhereFeed, count_line, over_max_delete, question

IDS = [f"https://x.example/{n}" for n in range(250)]


async def pages(size: int = 40) -> AsyncIterator[list[Listed]]:
    for start in range(0, len(IDS), size):
        yield [Listed(i, "web", 2**53 + n) for n, i in enumerate(IDS[start : start + size], start)]


async def collect(feed: WhereFeed) -> list[Record]:
    return [record async for chunk in feed for record in chunk]


async def test_each_listed_item_is_a_record_numbered_in_listing_order() -> None:
    records = await collect(WhereFeed(pages()))
    assert [r.id for r in records] == IDS
    assert [r.line for r in records] == list(range(1, len(IDS) + 1))
    assert all(r.file is None and r.problem is None for r in records)


async def test_shards_split_the_listing_exactly_and_count_the_others() -> None:
    feeds = [WhereFeed(pages(), Shard(i, 3)) for i in range(3)]
    taken = [await collect(feed) for feed in feeds]
    ids = [{r.id for r in records} for records in taken]
    assert set().union(*ids) == set(IDS) and sum(map(len, ids)) == len(IDS)
    for index, feed in enumerate(feeds):
        assert all(shard_of(i, 3) == index for i in ids[index])
        assert feed.other_shards == len(IDS) - len(ids[index]) and feed.taken == len(IDS)
    # a record keeps its listing line whatever shard takes it
    assert sorted(r.line for records in taken for r in records) == list(range(1, len(IDS) + 1))


async def test_closing_the_feed_closes_the_listings_pages() -> None:
    closed: list[bool] = []

    async def listing() -> AsyncIterator[list[Listed]]:
        try:
            async for page in pages():
                yield page
        finally:
            closed.append(True)

    feed = WhereFeed(listing())
    async for _ in feed:
        break
    await feed.aclose()
    assert closed == [True]


def test_the_count_line_and_the_question_say_the_count_with_thousands_separators() -> None:
    assert count_line(12345, "NAME") == "--where matches 12,345 items of source NAME"
    assert question(12345, "NAME", excepting=False) == "delete 12,345 items of source NAME?"
    assert "less the ids of --except" in question(3, "S", excepting=True)


def test_max_delete_refuses_only_more_than_n() -> None:
    assert over_max_delete(10, None, "S") is None
    assert over_max_delete(10, 10, "S") is None
    refusal = over_max_delete(11, 10, "S")
    assert refusal is not None and "more than --max-delete 10" in refusal and "nothing deleted" in refusal
