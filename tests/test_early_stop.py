"""Early stops while a slow producer keeps stdin open: the process always ends by itself, with its documented code.

`slow-export-tool | bulkdelete coveo delete -`: the producer writes bursts with pauses, so when the run stops (a bad
key, a budget, an interrupt) the reader is blocked in a read of stdin. That once killed the interpreter at shutdown
(SIGABRT, "Fatal Python error: _enter_buffered_busy") in 39 runs of 40, and left "coroutine 'Queue.put' was never
awaited" behind. Each scenario runs many times, a few at a time, with real processes on a real pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from bulkdelete.emulator import EmulatorConfig, run_emulator
from tests.conftest import coveo_args, start_cli

# Bursts of 40 ids every 50 ms, for far longer than any run lasts; gzip-compressed (flushed per burst) on demand.
PRODUCER = r"""
import os, sys, time, zlib
packer = zlib.compressobj(wbits=31) if sys.argv[1] == "gz" else None
n = 0
try:
    while n < 400_000:
        data = "".join(f"https://slow.example/doc/{n + i}\n" for i in range(40)).encode()
        n += 40
        if packer is not None:
            data = packer.compress(data) + packer.flush(zlib.Z_SYNC_FLUSH)
        os.write(1, data)
        time.sleep(0.05)
except OSError:  # the reader went away
    pass
"""
RUNS_PER_KIND = 10  # 4 kinds: 40 early stops
AT_ONCE = 6  # concurrent runs: a busy 2-core machine keeps up, and the whole test stays well under a minute
SHUTDOWN_NOISE = ("Fatal Python error", "Traceback", "Warning", "Exception ignored", "never awaited")


@dataclass(frozen=True)
class Kind:
    name: str
    args: tuple[str, ...]
    code: int
    bad_key: bool = False
    interrupt: bool = False


KINDS = [
    Kind("abort", ("--rate", "0"), 3, bad_key=True),
    Kind("max-requests", ("--rate", "0", "--max-requests", "30"), 4),
    Kind("stop-after", ("--rate", "200", "--stop-after", "400ms"), 4),
    Kind("interrupt", ("--rate", "100"), 130, interrupt=True),
]


async def one_run(kind: Kind, gz: bool, base_url: str, summary: Path) -> tuple[int, bytes, str]:
    """One CLI run reading a live producer's pipe; returns its exit code, stdout and stderr."""
    read_end, write_end = os.pipe()
    try:
        producer = await asyncio.create_subprocess_exec(
            sys.executable,
            "-S",
            "-c",
            PRODUCER,
            "gz" if gz else "plain",
            stdout=write_end,
            stderr=asyncio.subprocess.DEVNULL,
        )
        proc = await start_cli(*coveo_args(base_url, *kind.args, "--summary", str(summary), "-"), stdin=read_end)
    finally:
        os.close(read_end)
        os.close(write_end)
    try:
        assert proc.stdout is not None
        first = b""
        if kind.interrupt:
            first = await asyncio.wait_for(proc.stdout.readline(), 30)  # requests are going out: the run is live
            proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        for process in (proc, producer):
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
                    process.kill()
            await process.wait()
    assert proc.returncode is not None
    return proc.returncode, first + out, err.decode()


@pytest.mark.slow
async def test_every_early_stop_with_a_slow_producer_on_stdin_ends_with_its_documented_code(tmp_path: Path) -> None:
    gate = asyncio.Semaphore(AT_ONCE)
    async with (
        run_emulator(EmulatorConfig(), docs=[]) as emu,
        run_emulator(EmulatorConfig(api_key="not-the-key-the-cli-sends"), docs=[]) as locked,
    ):

        async def guarded(n: int, kind: Kind) -> tuple[Kind, int, tuple[int, bytes, str]]:
            async with gate:
                base_url = locked.base_url if kind.bad_key else emu.base_url
                return kind, n, await one_run(kind, n % 2 == 1, base_url, tmp_path / f"{kind.name}-{n}.json")

        runs = await asyncio.gather(*(guarded(n, kind) for n in range(RUNS_PER_KIND) for kind in KINDS))
    assert len(runs) >= 40
    for kind, n, (code, out, err) in runs:
        where = f"{kind.name} run {n} ({'gzip' if n % 2 else 'plain'} stdin)"
        assert code == kind.code, f"{where}: exit {code}\n{err}"
        assert not [noise for noise in SHUTDOWN_NOISE if noise in err], f"{where}:\n{err}"
        lines = [orjson.loads(line) for line in out.splitlines()]  # whole JSON lines, even when stopped
        summary = orjson.loads((tmp_path / f"{kind.name}-{n}.json").read_bytes())
        assert summary["exit_code"] == code and summary["records"] == len(lines), where
        assert summary["unsent_exact"] is False, where  # stdin was still open: what followed is unknown
        assert ("--resume" in err) is (not kind.bad_key), f"{where}: resume advice only where it helps\n{err}"
