"""``bulkdelete coveo list`` as users run it: the real CLI against the real emulator (SPEC §13)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson

from bulkdelete.emulator import EmulatorConfig, run_emulator
from bulkdelete.emulator.store import DocSpec
from tests.conftest import (
    KEY,
    ORG,
    SOURCE,
    TRICKY_URIS,
    cli_env,
    interrupt_when,
    read_lines,
    run_cli,
    run_on_terminal,
    start_cli,
    write_ids,
)

OTHER = "other-source"


def config(**fields: Any) -> EmulatorConfig:
    """The emulator's configuration, SPEC §13's fields included (given by name: see the skip above)."""
    return EmulatorConfig(**fields)


def docs(n: int, source: str = SOURCE, prefix: str = "https://site.example/d/") -> list[Any]:
    return [DocSpec(f"{prefix}{k}", source) for k in range(n)]


def list_args(base_url: str, *extra: str) -> list[str]:
    return ["coveo", "list", "--base-url", base_url, "--org", ORG, "--source-name", SOURCE, "--rate", "0", *extra]


def source_ids(emu: Any, source: str = SOURCE) -> list[str]:
    """The ids the emulator holds in ``source`` now."""
    store = emu.state.documents
    return sorted(i for i in store.ids() if store.source_of(store.row_of(i)) == source)


async def test_every_item_of_the_source_is_listed_exactly_once_with_exact_rowids(tmp_path: Path) -> None:
    seeded = docs(2345) + docs(300, OTHER, "https://other.example/")
    async with run_emulator(EmulatorConfig(), docs=seeded) as emu:
        summary = tmp_path / "s.json"
        done = await run_cli(*list_args(emu.base_url, "--ranges", "5", "--summary", str(summary)))
        held = source_ids(emu)
    assert done.code == 0, done.stderr
    ids = [line["id"] for line in done.lines]
    assert len(ids) == len(set(ids)) and sorted(ids) == held  # no duplicate, no gap
    rowids = [line["rowid"] for line in done.lines]
    assert all(isinstance(r, int) and r > 2**53 for r in rowids) and len(set(rowids)) == len(rowids)
    assert all(set(line) == {"id", "source", "rowid", "date", "line", "ts"} for line in done.lines)
    assert [line["line"] for line in done.lines] == list(range(1, len(ids) + 1))
    assert {line["source"] for line in done.lines} == {SOURCE}
    doc = orjson.loads(summary.read_bytes())
    part = doc["selection"]
    assert part["api"] == "coveo" and part["source"] == SOURCE and part["aq"] is None
    assert part["total_count"] == part["listed"] == 2345 and part["excepted"] == 0
    assert (
        part["queries"] == doc["requests"] and doc["exit_code"] == 0 and doc["status_codes"] == {"200": doc["requests"]}
    )


async def test_items_at_both_range_bounds_are_listed_once(tmp_path: Path) -> None:
    """One range per item pair: every bound is an item's rowid, the first and last ones included."""
    async with run_emulator(EmulatorConfig(), docs=docs(40)) as emu:
        done = await run_cli(*list_args(emu.base_url, "--ranges", "20", "--concurrency", "20"))
        held = source_ids(emu)
    assert done.code == 0, done.stderr
    ids = [line["id"] for line in done.lines]
    assert sorted(ids) == held and len(ids) == len(set(ids))


async def test_tricky_ids_and_secured_items_are_listed_byte_for_byte(tmp_path: Path) -> None:
    config = EmulatorConfig(secured_rate=0.5, seed=3)
    async with run_emulator(config, docs=[DocSpec(u, SOURCE) for u in TRICKY_URIS] + docs(50)) as emu:
        secured = set(emu.state.secured)
        done = await run_cli(*list_args(emu.base_url))
    assert done.code == 0, done.stderr
    ids = {line["id"] for line in done.lines}
    assert set(TRICKY_URIS) <= ids and secured and secured <= ids  # secured: seen only with viewAllContent
    assert len(ids) == len(TRICKY_URIS) + 50


async def test_a_second_listing_does_not_read_a_cached_answer(tmp_path: Path) -> None:
    """maximumAge 0: an item deleted since the first listing is not listed by the second."""
    async with run_emulator(EmulatorConfig(), docs=docs(30)) as emu:
        first = await run_cli(*list_args(emu.base_url, "--ranges", "1"))
        gone = sorted(line["id"] for line in first.lines)[:5]
        for doc_id in gone:
            emu.state.documents.delete(doc_id)
        second = await run_cli(*list_args(emu.base_url, "--ranges", "1"))
    assert first.code == second.code == 0
    assert len(first.lines) == 30 and {line["id"] for line in second.lines} == {
        line["id"] for line in first.lines
    } - set(gone)


async def test_a_page_over_the_response_cap_is_asked_again_with_half_the_page(tmp_path: Path) -> None:
    async with run_emulator(config(response_cap=60_000), docs=docs(1500)) as emu:
        summary = tmp_path / "s.json"
        done = await run_cli(*list_args(emu.base_url, "--ranges", "1", "--summary", str(summary)))
        held = source_ids(emu)
    assert done.code == 0, done.stderr
    assert sorted(line["id"] for line in done.lines) == held
    doc = orjson.loads(summary.read_bytes())
    assert doc["status_codes"].get("400", 0) >= 1 and doc["selection"]["listed"] == 1500


async def test_list_lines_are_what_delete_reads(tmp_path: Path) -> None:
    async with run_emulator(EmulatorConfig(), docs=docs(60) + docs(5, OTHER, "https://other.example/")) as emu:
        listed = await run_cli(*list_args(emu.base_url, "-o", str(tmp_path / "items.jsonl")))
        assert listed.code == 0, listed.stderr
        deleted = await run_cli(
            "coveo",
            "delete",
            "--base-url",
            emu.base_url,
            "--org",
            ORG,
            "--source",
            SOURCE,
            "--rate",
            "0",
            "-",
            stdin=(tmp_path / "items.jsonl").read_bytes(),
        )
        left = source_ids(emu)
        others = source_ids(emu, OTHER)
    assert deleted.code == 0, deleted.stderr
    assert len(deleted.lines) == 60 and all(line["outcome"] == "accepted" for line in deleted.lines)
    assert left == [] and len(others) == 5


async def test_except_leaves_out_the_ids_it_holds_and_an_empty_one_is_a_usage_error(tmp_path: Path) -> None:
    kept = write_ids(tmp_path / "kept.txt", [f"https://site.example/d/{k}" for k in range(0, 50, 2)])
    empty = write_ids(tmp_path / "empty.txt", [])
    async with run_emulator(EmulatorConfig(), docs=docs(50)) as emu:
        summary = tmp_path / "s.json"
        done = await run_cli(*list_args(emu.base_url, "--except", str(kept), "--summary", str(summary)))
        nothing = await run_cli(*list_args(emu.base_url, "--except", str(empty)))
        searches = emu.stats()["searches"]
    assert done.code == 0, done.stderr
    assert sorted(line["id"] for line in done.lines) == sorted(f"https://site.example/d/{k}" for k in range(1, 50, 2))
    part = orjson.loads(summary.read_bytes())["selection"]
    assert part["excepted"] == 25 and part["listed"] == 25 and part["total_count"] == 50
    assert nothing.code == 2 and "no id" in nothing.stderr and nothing.lines == []
    assert searches == done_queries(summary)  # the empty --except sent nothing


def done_queries(summary: Path) -> int:
    queries: int = orjson.loads(summary.read_bytes())["selection"]["queries"]
    return queries


async def test_an_expression_the_api_refuses_is_a_usage_error_with_its_message() -> None:
    async with run_emulator(EmulatorConfig(), docs=docs(5)) as emu:
        done = await run_cli(*list_args(emu.base_url, "--aq", "@date<<<"))
    assert done.code == 2, done.stderr
    assert "InvalidQuerySyntax" in done.stderr and done.lines == []


async def test_an_expression_narrows_the_listing() -> None:
    seeded = [DocSpec(f"https://site.example/e/{k}", SOURCE, date=1_600_000_000_000 + k) for k in range(20)]
    async with run_emulator(EmulatorConfig(), docs=seeded) as emu:
        done = await run_cli(*list_args(emu.base_url, "--aq", "@date>=1600000000010"))
    assert done.code == 0, done.stderr
    assert sorted(line["date"] for line in done.lines) == [1_600_000_000_000 + k for k in range(10, 20)]


async def test_an_unknown_source_id_is_a_usage_error_and_nothing_is_listed() -> None:
    async with run_emulator(EmulatorConfig(), docs=docs(5)) as emu:
        args = ["coveo", "list", "--base-url", emu.base_url, "--org", ORG, "--source", "no-such-source-id"]
        done = await run_cli(*args)
        searches = emu.stats()["searches"]
    assert done.code == 2, done.stderr
    assert "no-such-source-id" in done.stderr and done.lines == [] and searches == 0


async def test_a_refused_key_aborts_with_exit_3() -> None:
    async with run_emulator(EmulatorConfig(api_key=KEY), docs=docs(5)) as emu:
        done = await run_cli(*list_args(emu.base_url), env=cli_env({"COVEO_SEARCH_API_KEY": "wrong"}))
    assert done.code == 3 and "COVEO_SEARCH_API_KEY" in done.stderr and done.lines == []


async def test_budgets_stop_the_listing_with_exit_4(tmp_path: Path) -> None:
    async with run_emulator(EmulatorConfig(), docs=docs(3000)) as emu:
        spent = await run_cli(*list_args(emu.base_url, "--ranges", "1", "--max-requests", "3"))
    assert spent.code == 4, spent.stderr
    assert 0 < len(spent.lines) < 3000


async def test_ctrl_c_exits_130_with_every_line_whole(tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    async with run_emulator(config(search_latency_ms=200), docs=docs(20_000)) as emu:
        proc = await start_cli(*list_args(emu.base_url, "--rate", "5", "-o", str(out)), env=cli_env())
        err = await interrupt_when(proc, lambda: out.exists() and out.stat().st_size > 0)
    assert proc.returncode == 130, err
    raw = out.read_bytes()
    assert raw.endswith(b"\n") and len(read_lines(out)) == raw.count(b"\n") > 0


async def test_items_added_and_deleted_during_a_listing_leave_the_others_listed_once(tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    async with run_emulator(config(search_latency_ms=50), docs=docs(6000)) as emu:
        before = set(source_ids(emu))
        proc = await start_cli(*list_args(emu.base_url, "--ranges", "4", "--concurrency", "4", "-o", str(out)))
        store = emu.state.documents
        removed = sorted(before)[::7]
        added = [DocSpec(f"https://site.example/new/{k}", SOURCE) for k in range(500)]
        for k, doc_id in enumerate(removed):
            store.delete(doc_id)
            if k < len(added):
                store.add(added[k])
            if k % 50 == 0:
                await asyncio.sleep(0.02)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    ids = [line["id"] for line in read_lines(out)]
    assert len(ids) == len(set(ids))
    assert before - set(removed) <= set(ids) <= before | {d.id for d in added}


async def test_ranges_are_paged_at_once_so_latency_does_not_set_the_pace(tmp_path: Path) -> None:
    """SPEC §13: pages of several ranges in flight at once (20/s at 300 ms needs 6); one range pages one at a time.

    Structural, not timed: the emulator's peak of searches in flight. The pages-per-second figure against --rate is
    measured in benchmarks/selection.py (RESULTS §16), where a busy machine cannot fail the suite.
    """
    summary = tmp_path / "s.json"
    async with run_emulator(config(search_latency_ms=300), docs=docs(20_000)) as emu:
        done = await run_cli(*list_args(emu.base_url, "--rate", "20", "--summary", str(summary), "-o", "/dev/null"))
        peak = emu.stats()["search_peak_inflight"]
    assert done.code == 0, done.stderr
    doc = orjson.loads(summary.read_bytes())
    assert doc["selection"]["listed"] == 20_000
    assert peak >= 4, peak
    async with run_emulator(config(search_latency_ms=300), docs=docs(3_000)) as emu:
        done = await run_cli(
            *list_args(emu.base_url, "--rate", "20", "--ranges", "1", "--concurrency", "1", "-o", "/dev/null")
        )
        assert done.code == 0, done.stderr
        assert emu.stats()["search_peak_inflight"] == 1


async def test_progress_counts_the_items_listed_up_to_the_count() -> None:
    """Progress against totalCount (SPEC §13): a bar of items on a terminal, else a line every --log-every."""
    async with run_emulator(config(search_latency_ms=50), docs=docs(10_000)) as emu:
        code, _, screen = await run_on_terminal(*list_args(emu.base_url, "--rate", "10", "-o", "/dev/null"))
        args = list_args(emu.base_url, "--rate", "10", "--log-every", "0.2", "--log-format", "json", "-o", "/dev/null")
        logged = await run_cli(*args)
    assert code == 0, screen
    assert "10000/10000" in screen and "items/s" in screen and "throttled 0" in screen and "\r" in screen
    assert "ok 10" not in screen  # a listing has no outcomes to count
    assert logged.code == 0, logged.stderr
    progress = [e for e in map(orjson.loads, logged.stderr.splitlines()) if e["event"] == "progress"]
    counted = [e for e in progress if e["total"] is not None]  # the first line may come before the count
    assert counted and {e["total"] for e in counted} == {10_000}, progress
    assert [e["done"] for e in progress] == sorted(e["done"] for e in progress) and progress[-1]["done"] <= 10_000
