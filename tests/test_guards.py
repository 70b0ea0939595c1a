"""Blast-radius guards: whole-site ids under --delete-children, Velt's batch cap, a declined older-than prompt."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import struct
import sys
import termios
from collections import Counter
from pathlib import Path

import pytest

from bulkdelete.emulator import EmulatorConfig, run_emulator
from bulkdelete.targets.coveo import WHOLE_SITE, is_whole_site
from tests.conftest import ORG, ROOT, SOURCE, cli_env, coveo_args, run_cli, write_ids

SITE = [f"https://www.example.com/doc/{n}" for n in range(50)] + ["https://www.example.com/about"]
OTHER = ["https://other.example.com/keep"]


@pytest.mark.parametrize(
    ("uri", "whole"),
    [
        ("https://www.example.com", True),
        ("https://www.example.com/", True),
        ("https://www.example.com//", True),
        ("https://user@www.example.com:8443/", True),
        ("file:///", True),
        ("smb://share", True),
        ("https://www.example.com/doc", False),
        ("https://www.example.com/?page=1", False),
        ("https://www.example.com#top", False),
        ("file:///share/dept", False),
    ],
)
def test_whole_site_means_nothing_but_slashes_after_the_authority(uri: str, whole: bool) -> None:
    assert is_whole_site(uri) is whole


@pytest.mark.parametrize("mode", ["item", "batch"])
async def test_a_whole_site_id_under_delete_children_is_invalid_and_nothing_of_the_site_goes(
    tmp_path: Path, mode: str
) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["https://www.example.com/", "https://www.example.com", SITE[0]])
    async with run_emulator(EmulatorConfig(), docs=SITE + OTHER) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--delete-children", "--mode", mode, "--rate", "0", str(ids)))
        left = emu.documents
    assert done.code == 1, done.stderr
    by_id = {line["id"]: line for line in done.lines}
    assert by_id["https://www.example.com/"]["outcome"] == "invalid"
    assert by_id["https://www.example.com"]["outcome"] == "invalid"
    assert by_id["https://www.example.com"]["error"] == WHOLE_SITE
    assert by_id[SITE[0]]["ok"] is True
    assert sorted(left) == sorted(SITE[1:] + OTHER)


async def test_allow_site_children_lets_a_whole_site_go(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["https://www.example.com"])
    async with run_emulator(EmulatorConfig(), docs=SITE + OTHER) as emu:
        args = coveo_args(emu.base_url, "--delete-children", "--allow-site-children", "--rate", "0", str(ids))
        done = await run_cli(*args)
        left = emu.documents
    assert done.code == 0, done.stderr
    assert [line["outcome"] for line in done.lines] == ["accepted"]
    assert left == OTHER


async def test_without_delete_children_a_site_id_is_an_ordinary_item(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["https://www.example.com/"])
    async with run_emulator(EmulatorConfig(), docs=["https://www.example.com/", *SITE]) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--rate", "0", str(ids)))
        left = emu.documents
    assert done.code == 0, done.stderr
    assert sorted(left) == sorted(SITE)


async def test_dry_run_flags_whole_site_ids_too(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["https://www.example.com/", SITE[0]])
    done = await run_cli("coveo", "delete", "--dry-run", "--delete-children", str(ids), env=cli_env())
    assert Counter(str(line["outcome"]) for line in done.lines) == {"invalid": 1, "planned": 1}


@pytest.mark.parametrize("size", ["31", "50"])
async def test_velt_batch_size_over_30_is_a_usage_error_before_anything_is_sent(tmp_path: Path, size: str) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["a", "b"])
    async with run_emulator(EmulatorConfig(), docs=["a", "b"]) as emu:
        env = cli_env({"VELT_API_KEY": "k", "VELT_AUTH_TOKEN": "t"})
        args = ["velt", "delete", "--base-url", emu.base_url, "--org", ORG, "--batch-size", size, str(ids)]
        done = await run_cli(*args, env=env)
        requests = emu.stats()["requests"]
    assert done.code == 2
    assert "--batch-size" in done.stderr and "1<=x<=30" in done.stderr
    assert requests == 0
    assert done.stdout == b""


async def test_velt_help_examples_stay_within_the_batch_cap() -> None:
    done = await run_cli("velt", "delete", "--help")
    assert done.code == 0
    assert "--batch-size 50" not in done.stdout.decode()


async def test_a_declined_older_than_prompt_sends_nothing_and_exits_2() -> None:
    async with run_emulator(EmulatorConfig(), docs=["https://a/1"]) as emu:
        leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bulkdelete", "coveo", "older-than", "--base-url", emu.base_url,
            "--org", ORG, "--source", SOURCE, "--ordering-id", "1700000000000",
            stdin=follower, stdout=asyncio.subprocess.PIPE, stderr=follower, env=cli_env(), cwd=ROOT,
        )  # fmt: skip
        os.close(follower)
        screen = b""
        while b"[y/N]" not in screen:
            screen += await asyncio.wait_for(asyncio.to_thread(os.read, leader, 4096), 10)
        os.write(leader, b"n\n")
        assert proc.stdout is not None
        stdout = await asyncio.wait_for(proc.stdout.read(), 10)
        await asyncio.wait_for(proc.wait(), 10)
        screen += await _read_rest(leader)
        os.close(leader)
        stats = emu.stats()
    assert proc.returncode == 2
    assert stats["requests"] == 0 and stats["olderthan"] == []
    assert stdout.strip() == b""
    assert b"nothing sent" in screen


async def _read_rest(leader: int) -> bytes:
    """What the terminal still shows after the child ended (EIO once its side is closed and drained)."""
    rest = b""
    while True:
        try:
            chunk = await asyncio.wait_for(asyncio.to_thread(os.read, leader, 4096), 2)
        except (OSError, TimeoutError):
            return rest
        if not chunk:
            return rest
        rest += chunk
