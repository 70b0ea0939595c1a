"""``--check ids|scan|auto`` as users run it (SPEC §13.1): the real CLI against the real emulator."""

from __future__ import annotations

from pathlib import Path

import orjson

from bulkdelete.emulator import EmulatorConfig, run_emulator
from tests.conftest import ORG, SOURCE, cli_env, read_lines, run_cli, write_ids
from tests.test_verify_scan import require_listing

IDS = [f"https://site.example/c/{n}" for n in range(30)]
POLL = ("--interval", "0.1s", "--logs-interval", "0", "--no-logs")


def verify_args(base_url: str, *extra: str) -> list[str]:
    return ["coveo", "verify", "--base-url", base_url, "--org", ORG, *POLL, *extra]


async def test_check_scan_without_a_source_is_a_usage_error_before_anything_is_sent(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        env = {k: v for k, v in cli_env().items() if k != "COVEO_SOURCE_ID"}
        done = await run_cli(*verify_args(emu.base_url, "--check", "scan"), str(ids), env=env)
        requests = emu.stats()["requests"]
    assert done.code == 2
    assert "--check scan needs the source to list" in done.stderr
    assert requests == 0 and done.lines == []


async def test_verify_by_scan_from_the_command_line(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    async with run_emulator(EmulatorConfig(), docs=[*IDS, "https://site.example/kept"]) as emu:
        await require_listing(emu)
        args = ["coveo", "delete", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE, "--rate", "0"]
        deleted = await run_cli(*args, "-o", str(tmp_path / "results.jsonl"), str(ids))
        assert deleted.code == 0, deleted.stderr
        summary = tmp_path / "v.json"
        done = await run_cli(
            *verify_args(emu.base_url, "--check", "scan", "--source-name", "demo-source", "--wait", "0"),
            "--summary",
            str(summary),
            str(tmp_path / "results.jsonl"),
            str(write_ids(tmp_path / "kept.txt", ["https://site.example/kept"])),
        )
    assert done.code == 1, done.stderr  # the kept document is present
    verdicts = {line["id"]: line for line in done.lines}
    assert {i for i, line in verdicts.items() if line["verdict"] == "gone"} == set(IDS)
    assert verdicts["https://site.example/kept"]["verdict"] == "present"
    assert verdicts[IDS[0]]["evidence"] == "scan: not in source demo-source (1 items listed, viewAllContent)"
    doc = orjson.loads(summary.read_bytes())
    assert doc["verification"]["checks"] == {"scan": 1}
    assert doc["verification"]["queries"] == doc["requests"]
    assert "1 by scan" in done.stderr


async def test_velt_verify_by_scan_from_the_command_line(tmp_path: Path) -> None:
    docs = [f"velt-doc-{n}" for n in range(12)]
    ids = write_ids(tmp_path / "ids.txt", docs)
    env = cli_env({"VELT_API_KEY": "k", "VELT_AUTH_TOKEN": "t"})
    async with run_emulator(EmulatorConfig(), docs=docs[8:]) as emu:
        await require_listing(emu, "velt")
        args = ["velt", "verify", "--base-url", emu.base_url, "--org", ORG, "--wait", "0", "--check", "scan"]
        done = await run_cli(*args, "--summary", str(tmp_path / "s.json"), str(ids), env=env)
    assert done.code == 1, done.stderr
    assert {line["id"] for line in done.lines if line["verdict"] == "gone"} == set(docs[:8])
    assert done.lines[0]["evidence"].startswith(f"scan: not in organization {ORG} (4 items listed)")
    assert orjson.loads((tmp_path / "s.json").read_bytes())["verification"]["checks"] == {"scan": 1}


async def test_delete_verify_by_scan_looks_the_source_name_up(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        args = ["coveo", "delete", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE, "--rate", "0"]
        await require_listing(emu)
        summary = tmp_path / "s.json"
        done = await run_cli(
            *args, *POLL, "--check", "scan", "--verify", str(tmp_path / "v.jsonl"), "--summary", str(summary), str(ids)
        )
    assert done.code == 0, done.stderr
    verdicts = read_lines(tmp_path / "v.jsonl")
    assert len(verdicts) == len(IDS) and all(line["verdict"] == "gone" for line in verdicts)
    assert orjson.loads(summary.read_bytes())["verification"]["checks"] == {"scan": 1}
