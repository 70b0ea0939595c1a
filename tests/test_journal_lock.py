"""One run per --resume journal: a second run exits 2 at once naming the holder; a killed holder frees it."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from bulkdelete.emulator import Emulator, EmulatorConfig, run_emulator
from bulkdelete.errors import ConfigError
from bulkdelete.output.journal_lock import JournalLock, journal_locked, lock_path_for
from tests.conftest import coveo_args, read_lines, run_cli, start_cli, write_ids

IDS = [f"https://site.example/lock/{n}" for n in range(300)]


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    journal = str(tmp_path / "journal.jsonl")
    first = JournalLock.acquire(journal)
    with pytest.raises(ConfigError, match=rf"in use by another run \(pid {os.getpid()};"):
        JournalLock.acquire(journal)
    first.release()
    first.release()  # idempotent
    with journal_locked(journal) as again:
        assert again is not None
        assert Path(lock_path_for(journal)).read_text() == f"{os.getpid()}\n"
    assert Path(lock_path_for(journal)).exists()  # never unlinked: see the module docstring
    with journal_locked(None) as nothing:
        assert nothing is None


def test_a_lock_file_that_cannot_be_created_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot create the --resume lock file"):
        JournalLock.acquire(str(tmp_path / "missing-dir" / "journal.jsonl"))


async def wait_for_requests(emu: Emulator, count: int, limit_s: float = 30) -> None:
    deadline = time.monotonic() + limit_s
    while emu.stats()["requests"] < count:
        assert time.monotonic() < deadline, "the run never got going"
        await asyncio.sleep(0.02)


def lines_of(ids: list[str]) -> bytes:
    return "".join(f"{i}\n" for i in ids).encode()


async def start_holder(emu: Emulator, journal: Path) -> asyncio.subprocess.Process:
    """A run on ``journal`` that cannot end before the test closes its stdin: 100 ids sent, the rest to come."""
    args = coveo_args(emu.base_url, "--rate", "0", "--concurrency", "4", "--resume", str(journal), "-")
    holder = await start_cli(*args, stdin=asyncio.subprocess.PIPE)
    assert holder.stdin is not None
    holder.stdin.write(lines_of(IDS[:100]))
    await holder.stdin.drain()
    await wait_for_requests(emu, 100)
    return holder


async def test_a_second_run_on_the_same_journal_exits_2_naming_the_pid_and_sends_nothing(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    journal = tmp_path / "journal.jsonl"
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        first = await start_holder(emu, journal)
        second = await run_cli(*coveo_args(emu.base_url, "--rate", "0", "--resume", str(journal), str(ids)))
        sent_while_refused = emu.stats()["requests"]
        await asyncio.wait_for(first.communicate(lines_of(IDS[100:])), 60)
        stats = emu.stats()
    assert second.code == 2, second.stderr
    assert f"pid {first.pid}" in second.stderr and "in use by another run" in second.stderr
    assert second.stdout == b""
    assert sent_while_refused == 100
    assert first.returncode == 0
    # Only the first run sent anything: one delete per id, one journal line per id.
    assert stats["requests"] == len(IDS) and stats["deleted"] == len(IDS)
    lines = read_lines(journal)
    assert Counter(str(line["id"]) for line in lines) == Counter(IDS)
    assert {line["outcome"] for line in lines} == {"accepted"}


async def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    journal = tmp_path / "journal.jsonl"
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        first = await start_holder(emu, journal)
        first.send_signal(signal.SIGKILL)
        await asyncio.wait_for(first.communicate(), 30)
        second = await run_cli(*coveo_args(emu.base_url, "--rate", "0", "--resume", str(journal), str(ids)))
        left = emu.documents
    assert first.returncode == -signal.SIGKILL
    assert second.code == 0, second.stderr
    assert left == []
    ok_ids = [str(line["id"]) for line in read_lines(journal) if line["ok"]]
    assert set(ok_ids) == set(IDS)
