"""uvloop (a default dependency where it exists): the CLI runs on it; ``BULKDELETE_UVLOOP=0`` keeps asyncio's loop.

Both loops get the same end-to-end checks: a run through injected faults, and an interrupt that drains.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bulkdelete.cli import loop
from bulkdelete.emulator import EmulatorConfig, run_emulator
from bulkdelete.rate.pacing import loop_clock
from tests.conftest import SOURCE, cli_env, coveo_args, read_lines, run_cli, start_cli, write_ids
from tests.test_safety import wait_for_requests

uvloop = pytest.importorskip("uvloop")  # a dependency; absent only where it does not exist (Windows, PyPy)
IDS = [f"https://site.example/loop/{n}" for n in range(300)]


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_the_cli_runs_on_uvloop_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BULKDELETE_UVLOOP", raising=False)
    assert loop.run(_loop_type()) is uvloop.Loop


def test_on_uvloop_the_engine_reads_the_unrounded_monotonic_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvloop's own ``time()`` counts whole milliseconds: latencies and pacing slots need better."""
    monkeypatch.delenv("BULKDELETE_UVLOOP", raising=False)

    async def clock() -> Callable[[], float]:
        return loop_clock(asyncio.get_running_loop())

    assert loop.run(clock()) is time.monotonic


def test_bulkdelete_uvloop_0_keeps_asyncio_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BULKDELETE_UVLOOP", "0")
    assert loop.loop_factory() is None
    assert not issubclass(loop.run(_loop_type()), uvloop.Loop)


@pytest.mark.parametrize("uv", ["1", "0"])
async def test_a_run_through_faults_ends_ok_on_either_loop(tmp_path: Path, uv: str) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    config = EmulatorConfig(fail_rate=0.05, reset_rate=0.02, seed=3)
    async with run_emulator(config, docs=IDS) as emu:
        done = await run_cli(
            *coveo_args(emu.base_url, "--rate", "0", "--max-attempts", "20", str(ids)),
            env=cli_env({"BULKDELETE_UVLOOP": uv}),
        )
        assert emu.documents == []
    assert done.code == 0, done.stderr
    assert sorted(line["id"] for line in done.lines) == sorted(IDS)


@pytest.mark.parametrize("uv", ["1", "0"])
async def test_sigint_drains_and_resets_status_on_either_loop(tmp_path: Path, uv: str) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    out = tmp_path / "out.jsonl"
    async with run_emulator(EmulatorConfig(latency_ms=20), docs=IDS) as emu:
        proc = await start_cli(
            *coveo_args(emu.base_url, "--rate", "40", "--status", "REFRESH", "-o", str(out), str(ids)),
            env=cli_env({"BULKDELETE_UVLOOP": uv}),
        )
        await wait_for_requests(emu, 15)
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
        deleted = len(IDS) - len(emu.documents)
        history = emu.stats()["status_history"]
    assert proc.returncode == 130, err.decode()
    assert len(read_lines(out)) == deleted
    assert history[SOURCE] == ["REFRESH", "IDLE"]
