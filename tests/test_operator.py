"""Operator experience: progress on a terminal (and not on a pipe), the summary, --rate auto, the library API."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import orjson

import bulkdelete
from bulkdelete import CoveoItemTarget, CoveoSettings, Outcome, RunOptions, Secret, delete_ids
from bulkdelete.emulator import EmulatorConfig, parse_quota, run_emulator
from bulkdelete.rate.backoff import BackoffPolicy
from bulkdelete.rate.control import Unlimited
from tests.conftest import KEY, ORG, SOURCE, coveo_args, run_cli, run_on_terminal, write_ids

IDS = [f"https://site.example/doc/{n}" for n in range(300)]


def test_public_names_are_pinned() -> None:
    assert bulkdelete.__all__ == [
        "AbortRun",
        "AutoRate",
        "BackoffPolicy",
        "BulkDeleteError",
        "ConfigError",
        "CoveoBatchTarget",
        "CoveoItemTarget",
        "CoveoListing",
        "CoveoLogs",
        "CoveoSearchCheck",
        "CoveoSettings",
        "Deletion",
        "FixedRate",
        "HttpCheck",
        "Listed",
        "Outcome",
        "RateControl",
        "RateSpec",
        "Record",
        "Result",
        "RunOptions",
        "RunReport",
        "Secret",
        "Target",
        "TransportError",
        "Unlimited",
        "VeltGetCheck",
        "VeltListing",
        "VeltSettings",
        "VeltTarget",
        "VerdictKind",
        "VerdictLine",
        "Verification",
        "VerifyOptions",
        "VerifyReport",
        "__version__",
        "delete_ids",
        "list_items",
        "run_deletion",
        "run_verification",
        "verify_ids",
    ]
    assert sorted(bulkdelete.__all__) == bulkdelete.__all__


async def test_library_api_deletes_and_yields_one_result_per_id() -> None:
    async def ids() -> AsyncIterator[str]:
        for doc in [*IDS[:50], IDS[0], "bad"]:
            yield doc

    async with run_emulator(EmulatorConfig(fail_rate=0.1, seed=5), docs=IDS) as emu:
        target = CoveoItemTarget(CoveoSettings(emu.base_url, ORG, SOURCE, Secret(KEY)))
        options = RunOptions(rate=Unlimited(), backoff=BackoffPolicy.instant(), quiet=True)
        results = [r async for r in delete_ids(target, ids(), options)]
        assert len(emu.documents) == len(IDS) - 50
    assert Counter(r.outcome for r in results) == {Outcome.ACCEPTED: 50, Outcome.DUPLICATE: 1, Outcome.INVALID: 1}


async def test_summary_agrees_with_what_the_emulator_saw(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS[:120])
    summary = tmp_path / "summary.json"
    config = EmulatorConfig(fail_rate=0.15, reset_rate=0.05, seed=11)
    async with run_emulator(config, docs=IDS) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--rate", "0", "--summary", str(summary), str(ids)))
        seen = emu.stats()
    doc = orjson.loads(summary.read_bytes())
    assert done.code == 0
    assert doc["requests"] == seen["requests"]
    assert doc["status_codes"] == dict(seen["by_status"])
    assert doc["transport_errors"] == seen["resets"]
    assert doc["retries"] == seen["requests"] - 120
    assert doc["outcomes"] == {"accepted": 120}
    assert doc["latency_ms"]["p50"] <= doc["latency_ms"]["p90"] <= doc["latency_ms"]["p99"] <= doc["latency_ms"]["max"]
    for word in ("accepted 120", "retries", "latency", "p99"):
        assert word in done.stderr


async def test_progress_is_drawn_on_a_terminal_and_not_on_a_pipe(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS[:200])
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        code, out, text = await run_on_terminal(*coveo_args(emu.base_url, "--rate", "400", str(ids)))
        piped = await run_cli(*coveo_args(emu.base_url, "--rate", "400", str(ids)))
    assert code == 0 and len(out.splitlines()) == 200
    assert "rec" in text and "200/200" in text and "ok 200" in text  # tqdm bar with the total and counts
    assert "\r" in text  # redrawn in place
    assert "rec/s" not in piped.stderr and "\r" not in piped.stderr
    assert "200 records" in piped.stderr  # the summary is still there


async def test_rate_auto_finds_and_holds_an_undisclosed_quota(tmp_path: Path) -> None:
    """Loose bounds (real time): the fine figures are in benchmarks/RESULTS.md."""
    ids = write_ids(tmp_path / "ids.txt", [f"https://site.example/auto/{n}" for n in range(2000)])
    summary = tmp_path / "summary.json"
    async with run_emulator(EmulatorConfig(quota=parse_quota("60/1s")), docs=[]) as emu:
        done = await run_cli(
            *coveo_args(emu.base_url, "--rate", "auto", "--stop-after", "8s", "--summary", str(summary), str(ids))
        )
        seen = emu.stats()
    doc = orjson.loads(summary.read_bytes())
    assert done.code == 4, done.stderr  # --stop-after with ids left
    accepted = doc["outcomes"]["accepted"]
    assert accepted >= 0.5 * 60 * 8  # starts at 10/s, must have climbed well past it
    assert seen["throttled"] <= 0.1 * seen["requests"]  # probing above the quota costs a few 429s, not a storm
    timeline = doc["timeline"]
    assert 8 <= len(timeline) <= 10 and [row["t"] for row in timeline] == list(range(len(timeline)))
    assert sum(row["sent"] for row in timeline) == doc["requests"] == seen["requests"]
    assert sum(row["throttled"] for row in timeline) == doc["throttled"]
    assert sum(row["ok"] for row in timeline) == accepted
    assert max(row["rate_target"] for row in timeline) > 30  # climbed from its start at 10/s (a row ends after a cut)
    assert 20 <= doc["rate_final"] <= 120  # what auto held, near the quota of 60/s
