"""Logs for unattended runs (SPEC §3 ``--log-every``, ``--log-format``): the real CLI, stderr to a pipe (no TTY)."""

from __future__ import annotations

from pathlib import Path

import orjson

from bulkdelete.emulator import EmulatorConfig, run_emulator
from tests.conftest import coveo_args, run_cli, write_ids
from tests.test_console import parse_logfmt

IDS = [f"https://site.example/log/{n}" for n in range(60)]
PROGRESS_KEYS = {"done", "ok", "not_ok", "rate", "target", "throttled", "paused"}


async def test_text_logs_a_logfmt_progress_line_every_interval_then_the_summary(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--rate", "40", "--log-every", "0.2s", str(ids)))
    assert done.code == 0, done.stderr
    lines = done.stderr.splitlines()
    progress = [parse_logfmt(line.removeprefix("bulkdelete: progress ")) for line in lines if "progress" in line]
    assert len(progress) >= 2, done.stderr
    for fields in progress:
        assert fields.keys() >= PROGRESS_KEYS
        decided, total = fields["done"].split("/")
        assert int(total) == len(IDS) and 0 <= int(decided) <= len(IDS)
        assert fields["target"] == "40/s" and fields["rate"].endswith("/s")
    assert [int(f["done"].split("/")[0]) for f in progress] == sorted(int(f["done"].split("/")[0]) for f in progress)
    assert all(line.startswith(("bulkdelete: progress ", "bulkdelete coveo", "  ")) for line in lines), done.stderr
    assert "\r" not in done.stderr  # no live bar on a pipe


async def test_json_makes_every_stderr_line_one_event_progress_then_summary(tmp_path: Path) -> None:
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        stdin = "".join(f"{i}\n" for i in IDS).encode()
        done = await run_cli(
            *coveo_args(emu.base_url, "--rate", "40", "--log-every", "0.2", "--log-format", "json", "-"), stdin=stdin
        )
    assert done.code == 0, done.stderr
    events = [orjson.loads(line) for line in done.stderr.splitlines()]  # every line parses, or this raises
    kinds = [event["event"] for event in events]
    assert kinds.count("progress") >= 2 and kinds[-1] == "summary" and set(kinds) == {"progress", "summary"}
    for event in (e for e in events if e["event"] == "progress"):
        assert event["total"] is None and event["eta_s"] is None  # stdin: no total known
        assert event["target_per_s"] == 40 and event["done"] == event["ok"] + event["not_ok"]
    summary = events[-1]
    assert summary["records"] == len(IDS) and summary["ok"] == len(IDS) and summary["exit_code"] == 0
    assert len(done.lines) == len(IDS)  # stdout still holds only the result lines


async def test_log_every_zero_logs_no_progress(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS[:20])
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--rate", "40", "--log-every", "0", str(ids)))
    assert done.code == 0, done.stderr
    assert "progress" not in done.stderr and done.stderr.startswith("bulkdelete coveo")


async def test_json_config_error_is_one_error_event_and_exit_2(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS[:3])
    done = await run_cli("coveo", "delete", "--log-format", "json", "--source", "s", str(ids))
    assert done.code == 2
    (event,) = [orjson.loads(line) for line in done.stderr.splitlines()]
    assert event["event"] == "error" and "--org" in event["message"]


async def test_a_bad_log_every_is_a_usage_error_before_anything_is_sent(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS[:3])
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--log-every", "soon", str(ids)))
        assert emu.stats()["requests"] == 0
    assert done.code == 2 and "--log-every" in done.stderr
