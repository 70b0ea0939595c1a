"""Coveo batch mode under upload faults: a throttled upload pauses every worker; 503s and timeouts are retried."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from bulkdelete.emulator import Emulator, EmulatorConfig, run_emulator
from bulkdelete.emulator.cli import emulator_command
from bulkdelete.records import Outcome
from bulkdelete.targets.base import Action, Reply
from bulkdelete.targets.coveo_batch import upload_verdict
from tests.conftest import coveo_args, run_cli, start_cli, write_ids

DOCS = [f"https://site.example/batch/{n}" for n in range(400)]
# ~40 ids per container: ten batches, so several workers have a batch in hand when one upload is throttled.
BATCH_ARGS = ["--mode", "batch", "--batch-bytes", "2048", "--rate", "0", "--concurrency", "4"]


def s3_reply(status: int, code: str, headers: dict[str, str] | None = None) -> Reply:
    body = f"<Error><Code>{code}</Code><Message>m</Message></Error>".encode()
    return Reply(status, body, headers or {}, 1.0)


def test_throttled_uploads_ask_every_worker_to_pause() -> None:
    throttled = upload_verdict(s3_reply(429, "TooManyRequests", {"Retry-After": "2"}), 100)
    assert throttled.action is Action.RETRY and throttled.throttled and throttled.retry_after == 2.0
    slow_down = upload_verdict(s3_reply(503, "SlowDown"), 100)
    assert slow_down.throttled and slow_down.retry_after is None
    failed = upload_verdict(s3_reply(503, "ServiceUnavailable"), 100)
    assert failed.action is Action.RETRY and not failed.throttled
    too_big = upload_verdict(s3_reply(413, "EntityTooLarge"), 100)
    assert too_big.action is Action.DONE and too_big.outcome is Outcome.FAILED


def emulator_counts(emu: Emulator) -> int:
    stats = emu.stats()
    return int(stats["requests"]) + int(stats["uploads"])


async def test_an_upload_429_pauses_every_worker_for_its_retry_after(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", DOCS)
    summary_path = tmp_path / "summary.json"
    config = EmulatorConfig(upload_throttle_rate=1.0, retry_after=3)
    async with run_emulator(config, docs=DOCS) as emu:
        proc = await start_cli(*coveo_args(emu.base_url, *BATCH_ARGS, "--summary", str(summary_path), str(ids)))
        deadline = time.monotonic() + 30
        while emu.stats()["upload_faults"] < 1:
            assert time.monotonic() < deadline, "no upload was ever throttled"
            await asyncio.sleep(0.005)
        throttled_at = time.monotonic()
        emu.state.config = dataclasses.replace(config, upload_throttle_rate=0.0)  # one burst of 429s, then clear
        # While the pause holds, no worker starts a request: after the in-flight ones, nothing arrives. The window
        # leaves 1 s for this loop to notice the 429 late on a busy machine.
        await asyncio.sleep(0.5)
        during = [emulator_counts(emu)]
        while time.monotonic() < throttled_at + 2.0:
            await asyncio.sleep(0.02)
            during.append(emulator_counts(emu))
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        left = emu.documents
    summary = orjson.loads(summary_path.read_bytes())
    assert proc.returncode == 0
    assert len(set(during)) == 1, f"requests were sent during the 3 s pause: {during}"
    assert left == []
    assert summary["throttled"] >= 1 and summary["paused_s"] >= 3.0
    assert Counter(orjson.loads(line)["outcome"] for line in out.splitlines()) == {"batched": len(DOCS)}


async def test_upload_503s_are_retried_from_a_new_container_until_every_record_is_batched(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", DOCS)
    async with run_emulator(EmulatorConfig(upload_fail_rate=0.4, seed=3), docs=DOCS) as emu:
        done = await run_cli(*coveo_args(emu.base_url, *BATCH_ARGS, "--max-attempts", "20", str(ids)))
        stats = emu.stats()
    assert done.code == 0, done.stderr
    assert stats["upload_faults"] >= 1 and stats["documents_left"] == 0
    assert Counter(str(line["outcome"]) for line in done.lines) == {"batched": len(DOCS)}
    assert any(int(str(line["attempts"])) > 1 for line in done.lines)


async def test_upload_timeouts_are_retried_then_fail_with_the_reason(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", DOCS[:30])
    async with run_emulator(EmulatorConfig(upload_latency_ms=3000), docs=DOCS) as emu:
        args = coveo_args(emu.base_url, *BATCH_ARGS, "--timeout", "0.3", "--max-attempts", "2", str(ids))
        done = await run_cli(*args)
        stats = emu.stats()
    assert done.code == 1, done.stderr
    assert stats["uploads"] >= 2 and stats["batches"] == []  # each batch tried twice, never pushed
    assert {(line["outcome"], line["attempts"]) for line in done.lines} == {("failed", 2)}
    assert all("timed out" in str(line["error"]) for line in done.lines)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--upload-fail-rate", "2"], "--upload-fail-rate"),
        (["--upload-throttle-rate", "-1"], "--upload-throttle-rate"),
        (["--upload-latency-ms", "-5"], "--upload-latency-ms"),
        (["--refuse", "500:X"], "400:INVALID_PARAMETER"),
    ],
)
def test_emulator_fault_flags_are_validated(args: list[str], message: str) -> None:
    result = CliRunner().invoke(emulator_command, args)
    assert result.exit_code == 2
    assert message in result.output


def test_emulator_help_lists_the_fault_flags() -> None:
    result = CliRunner().invoke(emulator_command, ["--help"])
    for flag in ("--refuse", "--org-paused", "--upload-fail-rate", "--upload-throttle-rate", "--upload-latency-ms"):
        assert flag in result.output
