"""Run-wide refusals: the same final 4xx for the first 20 answers, or 50 in a row, stops the run (exit 3)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import pytest

from bulkdelete.emulator import EmulatorConfig, run_emulator
from bulkdelete.emulator.config import parse_refusal
from bulkdelete.pipeline.refusals import FIRST_ANSWERS, STREAK, RefusalWatch, likely_cause, refusal_key
from bulkdelete.records import Outcome
from bulkdelete.targets.base import Action, Verdict
from tests.conftest import ORG, cli_env, coveo_args, run_cli, start_cli, write_ids

OK = Verdict(Action.DONE, Outcome.ACCEPTED, 202)
GONE = Verdict(Action.DONE, Outcome.NOT_FOUND, 404)
RETRY = Verdict(Action.RETRY, status=503, error="503 SERVICE_UNAVAILABLE: down")
THROTTLE = Verdict(Action.RETRY, status=429, error="429 TOO_MANY_REQUESTS", throttled=True)


def refused(status: int = 400, code: str = "INVALID_PARAMETER", request_id: str = "r1") -> Verdict:
    return Verdict(Action.DONE, Outcome.FAILED, status, f"{status} {code}: bad parameter (X-Request-ID {request_id})")


def feed(watch: RefusalWatch, verdicts: list[Verdict]) -> list[str]:
    """The messages observe returned, one request per verdict."""
    return [message for v in verdicts if (message := watch.observe([v])) is not None]


def test_the_first_20_answers_alike_trip_on_the_20th() -> None:
    watch = RefusalWatch()
    assert feed(watch, [refused(request_id=str(n)) for n in range(FIRST_ANSWERS - 1)]) == []
    message = watch.observe([refused(request_id="last")])
    assert message is not None
    assert "the first 20 answers were all 400 INVALID_PARAMETER" in message
    assert "check your flags / source id" in message
    assert "X-Request-ID last" in message


def test_after_any_other_answer_it_takes_50_in_a_row() -> None:
    watch = RefusalWatch()
    assert feed(watch, [OK, *[refused()] * (STREAK - 1)]) == []
    message = watch.observe([refused()])
    assert message is not None and "50 answers in a row" in message


def test_a_success_or_a_gone_answer_breaks_the_streak_and_retries_do_not_count() -> None:
    watch = RefusalWatch()
    answers = [*[refused()] * 19, OK, *[refused()] * 49, GONE, *[refused()] * 49]
    assert feed(watch, answers) == []
    # Retried answers are not final: they neither count nor break the streak.
    assert feed(watch, [RETRY, THROTTLE] * 10) == []
    assert len(feed(watch, [refused()])) == 1


def test_different_codes_or_statuses_are_not_alike() -> None:
    watch = RefusalWatch()
    mixed = [refused(code="INVALID_PARAMETER"), refused(code="MISSING_PARAMETER")] * 30
    assert feed(watch, mixed) == []
    other = RefusalWatch()
    assert feed(other, [refused(400, "X"), refused(404, "X")] * 30) == []


def test_a_batch_is_one_answer_and_counts_only_when_all_its_records_got_the_same_refusal() -> None:
    watch = RefusalWatch()
    for _ in range(30):
        assert watch.observe([refused(), refused(), OK]) is None
    assert watch.observe([refused()] * 30) is None  # one answer, however many records
    batches = [watch.observe([refused()] * 30) for _ in range(STREAK - 1)]
    assert batches[-1] is not None and all(b is None for b in batches[:-1])


def test_refusal_keys() -> None:
    assert refusal_key(refused()) == (400, "INVALID_PARAMETER")
    assert refusal_key(Verdict(Action.DONE, Outcome.FAILED, 422, "422 HTTP error: nope")) == (422, None)
    assert refusal_key(Verdict(Action.DONE, Outcome.FAILED, 400, None)) == (400, None)
    assert refusal_key(Verdict(Action.DONE, Outcome.FAILED, 500, "500 INTERNAL")) is None
    assert refusal_key(Verdict(Action.DONE, Outcome.FAILED, None, "internal error (KeyError)")) is None
    assert refusal_key(GONE) is None and refusal_key(OK) is None and refusal_key(RETRY) is None


def test_likely_causes() -> None:
    assert "flags / source id" in likely_cause(400, "INVALID_PARAMETER")
    assert "--source" in likely_cause(404, "SOURCE_NOT_FOUND")
    assert "paused" in likely_cause(400, "ORGANIZATION_IS_PAUSED")
    assert "document limit" in likely_cause(412, "DOCUMENT_LIMIT_EXCEEDED")
    assert "check your flags" in likely_cause(418, None)
    with pytest.raises(ValueError, match="first <= streak"):
        RefusalWatch(first=60, streak=50)


def test_emulator_refusal_flag_parses() -> None:
    assert parse_refusal("400:INVALID_PARAMETER") == (400, "INVALID_PARAMETER")
    for bad in ("400", "500:X", "abc:X", "400:"):
        with pytest.raises(ValueError, match="400:INVALID_PARAMETER"):
            parse_refusal(bad)


# -- end to end ------------------------------------------------------------------------------------------------


async def test_20000_ids_all_refused_stop_after_about_20_requests_with_exit_3(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [f"https://site.example/r/{n}" for n in range(20_000)])
    async with run_emulator(EmulatorConfig(refuse=(400, "INVALID_PARAMETER")), docs=[]) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--rate", "0", "--concurrency", "8", str(ids)))
        requests = emu.stats()["requests"]
    assert done.code == 3, done.stderr
    assert FIRST_ANSWERS <= requests <= FIRST_ANSWERS + 8  # the 20th answer stops it; in-flight ones complete
    assert "run-wide refusal" in done.stderr
    assert "400 INVALID_PARAMETER" in done.stderr and "check your flags / source id" in done.stderr
    assert len(done.lines) == requests  # every request's record got its line; the rest none (for --resume)
    assert all(line["outcome"] == "failed" and line["status"] == 400 for line in done.lines)


async def test_50_refusals_in_a_row_midway_stop_the_run(tmp_path: Path) -> None:
    docs = [f"https://site.example/m/{n}" for n in range(2000)]
    ids = write_ids(tmp_path / "ids.txt", docs)
    config = EmulatorConfig()
    async with run_emulator(config, docs=docs) as emu:
        proc = await start_cli(*coveo_args(emu.base_url, "--rate", "200", "--concurrency", "4", str(ids)))
        deadline = time.monotonic() + 30
        while emu.stats()["requests"] < 100:
            assert time.monotonic() < deadline, "the run never got going"
            await asyncio.sleep(0.01)
        emu.state.config = dataclasses.replace(config, refuse=(404, "SOURCE_NOT_FOUND"))  # e.g. the source deleted
        before = emu.stats()["requests"]
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        after = emu.stats()["requests"]
    stderr = err.decode()
    assert proc.returncode == 3, stderr
    assert "50 answers in a row were all 404 SOURCE_NOT_FOUND" in stderr and "--source" in stderr
    assert after - before <= STREAK + 2 * 4  # requests in flight at the switch, 50, requests in flight at the stop


async def test_velt_batches_all_refused_alike_stop_the_run(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [f"doc-{n}" for n in range(3000)])
    async with run_emulator(EmulatorConfig(max_ids=10), docs=[]) as emu:
        env = cli_env({"VELT_API_KEY": "k", "VELT_AUTH_TOKEN": "t"})
        args = ["velt", "delete", "--base-url", emu.base_url, "--org", ORG, "--rate", "0", "--batch-size", "20"]
        done = await run_cli(*args, "--concurrency", "4", str(ids), env=env)
        requests = emu.stats()["requests"]
    assert done.code == 3, done.stderr
    assert FIRST_ANSWERS <= requests <= FIRST_ANSWERS + 4
    assert "400 INVALID_ARGUMENT" in done.stderr


@pytest.mark.parametrize("mode", ["item", "batch"])
async def test_a_paused_organization_aborts_at_once_with_exit_3(tmp_path: Path, mode: str) -> None:
    docs = [f"https://site.example/p/{n}" for n in range(500)]
    ids = write_ids(tmp_path / "ids.txt", docs)
    async with run_emulator(EmulatorConfig(org_paused=True), docs=docs) as emu:
        args = coveo_args(emu.base_url, "--rate", "0", "--concurrency", "4", "--mode", mode, str(ids))
        done = await run_cli(*args)
        stats = emu.stats()
    assert done.code == 3, done.stderr
    assert stats["requests"] <= 4 and stats["documents_left"] == len(docs)
    assert "ORGANIZATION_IS_PAUSED" in done.stderr and "the organization is paused" in done.stderr


def http_args(base_url: str, *extra: str) -> list[str]:
    return ["http", "delete", "--url", f"{base_url}/rest/docs/{{id}}", "--header", "Authorization: Bearer k", *extra]


async def test_gone_answers_are_outcomes_never_refusals(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [f"absent-{n}" for n in range(300)])
    async with run_emulator(EmulatorConfig(), docs=["present"]) as emu:
        done = await run_cli(*http_args(emu.base_url, "--rate", "0", str(ids)))
        requests = emu.stats()["requests"]
    assert done.code == 0, done.stderr
    assert requests == 300 and {line["outcome"] for line in done.lines} == {"not_found"}
    assert "refusal" not in done.stderr


async def test_404s_that_do_not_mean_gone_are_a_refusal(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [f"absent-{n}" for n in range(3000)])
    async with run_emulator(EmulatorConfig(), docs=[]) as emu:
        args = http_args(emu.base_url, "--rate", "0", "--concurrency", "4", "--gone-status", "none", str(ids))
        done = await run_cli(*args)
        requests = emu.stats()["requests"]
    assert done.code == 3, done.stderr
    assert FIRST_ANSWERS <= requests <= FIRST_ANSWERS + 4
    assert "404 document_not_found" in done.stderr and "--base-url" in done.stderr


async def test_the_rest_emulator_refuses_on_demand(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [f"doc-{n}" for n in range(3000)])
    async with run_emulator(EmulatorConfig(refuse=(422, "invalid_document_id")), docs=[]) as emu:
        done = await run_cli(*http_args(emu.base_url, "--rate", "0", "--concurrency", "4", str(ids)))
        requests = emu.stats()["requests"]
    assert done.code == 3, done.stderr
    assert FIRST_ANSWERS <= requests <= FIRST_ANSWERS + 4
    assert "422 invalid_document_id" in done.stderr and "ids' format" in done.stderr
