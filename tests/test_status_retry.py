"""Setting the source status survives transient errors: the IDLE after a run must not be lost to one 503.

Seeded emulator faults make the sequence of answers repeatable (one request at a time, so one draw each).
"""

from __future__ import annotations

from bulkdelete.emulator import EmulatorConfig, run_emulator
from tests.conftest import ORG, SOURCE, run_cli


async def test_status_is_retried_through_503s_until_it_holds() -> None:
    async with run_emulator(EmulatorConfig(fail_rate=0.5, seed=9)) as emu:
        done = await run_cli("coveo", "status", "IDLE", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE)
        stats = emu.stats()
    assert done.code == 0, done.stderr
    assert stats["by_status"] == {"503": 3, "201": 1}
    assert stats["status_history"] == {SOURCE: ["IDLE"]}


async def test_status_gives_up_after_a_bounded_number_of_attempts() -> None:
    async with run_emulator(EmulatorConfig(fail_rate=0.5, seed=4)) as emu:
        done = await run_cli("coveo", "status", "IDLE", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE)
        stats = emu.stats()
    assert done.code == 1
    assert stats["by_status"] == {"503": 5}
    assert "setting the source status to IDLE failed: 503" in done.stderr
