"""``bulkdelete emulator``: option validation, and a real process that exits 0 on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner

from bulkdelete.emulator.cli import emulator_command


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quota", "abc"], "quota must look like"),
        (["--quota", "0/1s"], "limit and a window"),
        (["--fail-rate", "2"], "--fail-rate"),
        (["--reset-rate", "-0.1"], "--reset-rate"),
        (["--latency-ms", "-1"], "--latency-ms"),
        (["--max-ids", "0"], "--max-ids"),
        (["--port", "70000"], "--port"),
        (["--api-key", ""], "api_key must not be empty"),
        (["--processing-delay", "-1"], "--processing-delay"),
        (["--delete-fail-rate", "1.5"], "--delete-fail-rate"),
        (["--secured-rate", "-0.5"], "--secured-rate"),
    ],
)
def test_bad_options_are_usage_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(emulator_command, args)
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_serves_until_a_signal_then_exits_zero_quietly(tmp_path: Path, sig: signal.Signals) -> None:
    docs = tmp_path / "ids.txt"
    docs.write_text("a\n# comment\n\nb\n")
    more = tmp_path / "velt-ids.txt"  # --docs is repeatable: a Coveo and a Velt sample in one emulator
    more.write_text("doc-1\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bulkdelete.emulator",
        "--port",
        "0",
        "--docs",
        str(docs),
        "--docs",
        str(more),
        "--api-key",
        "s3cret",
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    try:
        line = (await asyncio.wait_for(proc.stderr.readline(), timeout=20)).decode()
        assert line.startswith("bulkdelete: emulator listening on http://127.0.0.1:")
        assert "(3 documents)" in line
        assert "s3cret" not in line
        base_url = line.split(" on ", 1)[1].split(" ", 1)[0]
        async with aiohttp.ClientSession() as session, session.get(f"{base_url}/_emulator/stats") as resp:
            assert (await resp.json())["documents_left"] == 3
        proc.send_signal(sig)
        rest = await asyncio.wait_for(proc.stderr.read(), timeout=20)
        assert await proc.wait() == 0
        assert rest == b""
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_help_lists_the_verify_side_flags_and_routes() -> None:
    result = CliRunner().invoke(emulator_command, ["--help"])
    assert result.exit_code == 0
    for text in ("--processing-delay", "--delete-fail-rate", "--secured-rate", "--logs-denied", "/rest/search/v2"):
        assert text in result.output
