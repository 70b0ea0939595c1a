"""End to end: the real engine against the real emulator on 127.0.0.1, Coveo per-item mode."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bulkdelete.emulator import EmulatorConfig, run_emulator
from bulkdelete.secrets import Secret
from bulkdelete.targets.coveo import CoveoItemTarget, CoveoSettings
from tests.conftest import CHILDREN_TREE, KEY, ORG, SOURCE, TRICKY_URIS, collect, options, write_ids

TRICKY = TRICKY_URIS


def settings(base_url: str, *, children: bool = False) -> CoveoSettings:
    return CoveoSettings(base_url, ORG, SOURCE, Secret(KEY), delete_children=children)


async def test_every_valid_id_is_accepted_exactly_once_despite_503s_and_dropped_connections(tmp_path: Path) -> None:
    valid = [f"https://site.example/page/{n}" for n in range(150)] + TRICKY
    survivors = ["https://site.example/other", "https://site.example/page/1000"]
    ids = write_ids(tmp_path / "ids.txt", [*valid, "not a uri", valid[3], "ftp:/missing-slashes", valid[7]])
    config = EmulatorConfig(fail_rate=0.2, reset_rate=0.1, seed=42)
    async with run_emulator(config, docs=valid + survivors) as emu:
        results, _, code = await collect(CoveoItemTarget(settings(emu.base_url)), options([ids], max_attempts=20))
        stats = emu.stats()
        left = emu.documents
    by_outcome = Counter(r.outcome.value for r in results)
    assert by_outcome == {"accepted": len(valid), "invalid": 2, "duplicate": 2}
    accepted = [r.record.id for r in results if r.outcome.value == "accepted"]
    assert sorted(accepted) == sorted(valid)
    assert sorted(left) == sorted(survivors)
    assert code == 1  # invalid records are not ok
    # Each attempt is one request: the emulator saw exactly the attempts the lines report.
    assert sum(r.attempts for r in results) == stats["requests"]
    assert any(r.attempts > 1 for r in results)
    assert {r.record.line for r in results} == set(range(1, len(valid) + 5))
    assert all(r.status == 202 and r.error is None for r in results if r.ok and r.attempts)


async def test_delete_children_removes_descendants_and_nothing_else(tmp_path: Path) -> None:
    docs = CHILDREN_TREE
    ids = write_ids(tmp_path / "ids.txt", ["file://s/folder"])
    async with run_emulator(EmulatorConfig(), docs=docs) as emu:
        results, _, code = await collect(CoveoItemTarget(settings(emu.base_url, children=True)), options([ids]))
        left = emu.documents
    assert code == 0
    assert [r.outcome.value for r in results] == ["accepted"]
    assert sorted(left) == ["file://s/folder-archive/x", "file://s/folderx", "file://s/other/folder/c"]


async def test_without_delete_children_only_the_item_goes(tmp_path: Path) -> None:
    docs = ["file://s/folder", "file://s/folder/a.pdf"]
    ids = write_ids(tmp_path / "ids.txt", ["file://s/folder"])
    async with run_emulator(EmulatorConfig(), docs=docs) as emu:
        _, _, code = await collect(CoveoItemTarget(settings(emu.base_url)), options([ids]))
        assert emu.documents == ["file://s/folder/a.pdf"]
    assert code == 0


@pytest.mark.parametrize("tricky", TRICKY)
async def test_tricky_ids_round_trip(tmp_path: Path, tricky: str) -> None:
    ids = write_ids(tmp_path / "ids.txt", [tricky])
    near = [tricky + "x", tricky.replace("+", " "), tricky.replace(" ", "+")]
    docs = [tricky, *(n for n in near if n != tricky)]
    async with run_emulator(EmulatorConfig(), docs=docs) as emu:
        results, _, code = await collect(CoveoItemTarget(settings(emu.base_url)), options([ids]))
        assert tricky not in emu.documents
        assert sorted(emu.documents) == sorted(set(docs) - {tricky})
    assert code == 0
    assert results[0].record.id == tricky


async def test_attempts_exhausted_gives_failed_with_the_last_error(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["https://a.example/1", "https://a.example/2"])
    async with run_emulator(EmulatorConfig(fail_rate=1.0, seed=1), docs=[]) as emu:
        results, _, code = await collect(CoveoItemTarget(settings(emu.base_url)), options([ids], max_attempts=3))
        assert emu.stats()["requests"] == 6
    assert code == 1
    assert [(r.outcome.value, r.attempts, r.status) for r in results] == [("failed", 3, 503)] * 2
    assert all(r.error and r.error.startswith("gave up after 3 attempts: 503") for r in results)


async def test_a_rejected_key_aborts_after_about_concurrency_requests(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [f"https://a.example/{n}" for n in range(500)])
    async with run_emulator(EmulatorConfig(api_key="the-right-key"), docs=[]) as emu:
        results, _, code = await collect(CoveoItemTarget(settings(emu.base_url)), options([ids], concurrency=8))
        requests = emu.stats()["requests"]
    assert code == 3
    assert requests <= 8 + 1
    assert len(results) == requests  # every sent request is reported, nothing else is
    assert all(r.outcome.value == "failed" and r.status == 401 for r in results)
    assert all(KEY not in (r.error or "") for r in results)


async def test_a_bug_in_a_target_costs_its_records_a_failed_line_not_the_run(tmp_path: Path) -> None:
    class Broken(CoveoItemTarget):
        async def send(self, transport, records):  # type: ignore[no-untyped-def]
            if records[0].id.endswith("/3"):
                raise KeyError("boom")
            return await super().send(transport, records)

    ids = write_ids(tmp_path / "ids.txt", [f"https://a.example/{n}" for n in range(6)])
    async with run_emulator(EmulatorConfig(), docs=[]) as emu:
        results, _, code = await collect(Broken(settings(emu.base_url)), options([ids]))
    assert code == 1
    assert len(results) == 6
    (bad,) = [r for r in results if not r.ok]
    assert bad.record.id.endswith("/3")
    assert bad.error is not None and "KeyError" in bad.error


@pytest.mark.parametrize("concurrency", [1, 5, 16])
async def test_requests_in_flight_never_exceed_concurrency(tmp_path: Path, concurrency: int) -> None:
    """The emulator is the spy: it records the most requests it ever had in flight at once."""
    ids = write_ids(tmp_path / "ids.txt", [f"https://a.example/{n}" for n in range(120)])
    async with run_emulator(EmulatorConfig(latency_ms=20), docs=[]) as emu:
        results, _, code = await collect(
            CoveoItemTarget(settings(emu.base_url)), options([ids], concurrency=concurrency)
        )
        stats = emu.stats()
    assert code == 0 and len(results) == 120
    assert stats["peak_inflight"] <= concurrency
    assert stats["peak_inflight"] > concurrency // 2  # and the pool is really used (20 ms per request overlaps)
