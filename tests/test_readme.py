"""The README runs as written: every ``sh`` and ``python`` block, in order, in one shell, against the emulator.

The blocks run in a scratch directory holding a copy of ``samples/``, with this interpreter's ``bin`` first on
``PATH`` (what the Quick start's ``. .venv/bin/activate`` does) and no ``COVEO_*``/``VELT_*``/``BULKDELETE_*`` in
the environment: the README sets what it needs. The ports the README names (the emulators' 8787-8789, Redis's 6379,
the Pushgateway's 9091, a run's /metrics on 9464) are swapped for free ones, so parallel suites never collide. A block
preceded by ``<!-- readme-test: skip (why) -->`` is not run; one preceded by ``<!-- readme-test: exits N -->`` may end
with status N, and one preceded by ``<!-- readme-test: needs CMD -->`` runs where ``CMD`` is on ``PATH`` (CI installs
``redis-server``, ``prometheus-pushgateway``). Any other failing command fails the test.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from tests.conftest import ROOT

README = ROOT / "README.md"
MARKER = re.compile(r"<!-- readme-test: (skip|exits ([\d ]+)|needs (\S+))\b[^>]*-->")
PORTS = ("8787", "8788", "8789", "6379", "9091", "9464")
RUNNABLE = {"sh": "sh", "bash": "sh", "python": "python"}


@dataclass(frozen=True)
class Block:
    number: int
    info: str
    body: str
    line: int  # of the opening fence, 1-based
    skip: bool
    exits: frozenset[int]


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block of ``text`` with the marker comment just above it, if any."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("```"):
            i += 1
            continue
        info, start = lines[i][3:].strip(), i
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        marker = MARKER.fullmatch(lines[start - 1].strip()) if start else None
        skip = bool(marker and (marker.group(1) == "skip" or (marker.group(3) and not shutil.which(marker.group(3)))))
        exits = frozenset(int(n) for n in marker.group(2).split()) if marker and marker.group(2) else frozenset()
        blocks.append(Block(len(blocks) + 1, info, "\n".join(lines[start + 1 : end]), start + 1, skip, exits))
        i = end + 1
    return blocks


def free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def shell_script(blocks: list[Block], ports: dict[str, str]) -> str:
    """One bash script: each runnable block in turn; a failing command reports its block and status on stderr."""
    parts = ["set -o pipefail", "trap 'echo \"readme-test: block $BLOCK status $?\" >&2' ERR"]
    for block in blocks:
        kind = RUNNABLE.get(block.info)
        if kind is None or block.skip:
            continue
        body = block.body
        for port, free in ports.items():
            body = re.sub(rf"\b{port}\b", free, body)
        parts.append(f"BLOCK={block.number}")
        parts.append(body if kind == "sh" else f"python - <<'README_PYTHON'\n{body}\nREADME_PYTHON")
    return "\n".join(parts) + "\n"


def test_every_block_is_sorted_into_run_skip_or_shown() -> None:
    """A block is run (sh, python), skipped with a reason, or shown (text, json, yaml, crontab): never unlabelled."""
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "no fenced blocks found"
    for block in blocks:
        assert block.info in {*RUNNABLE, "text", "json", "yaml", "crontab"}, (
            f"README block at line {block.line} has info {block.info!r}: label output ```text, commands ```sh "
            "(they are run by the next test), or skip them with <!-- readme-test: skip (why) -->"
        )
    assert "{{OUT:" not in README.read_text(encoding="utf-8")  # every output shown was pasted from a real run
    for block in blocks:
        if block.info == "json":
            orjson.loads(block.body)


@pytest.mark.slow
def test_readme_blocks_run_as_written_against_the_emulator(tmp_path: Path) -> None:
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COVEO_", "VELT_", "BULKDELETE_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    script = shell_script(blocks, {port: free_port() for port in PORTS})
    (tmp_path / "readme.sh").write_text(script, encoding="utf-8")
    # Output goes to files, not pipes: the emulators the README starts in the background keep its stdout and stderr
    # open, so waiting for the pipes' end would wait for them; bash's own exit is what ends the README.
    with (tmp_path / "out.txt").open("wb") as out_file, (tmp_path / "err.txt").open("wb") as err_file:
        proc = subprocess.Popen(
            ["bash", "readme.sh"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out_file,
            stderr=err_file,
            start_new_session=True,  # the README's background emulators are stopped with this group
        )
        try:
            proc.wait(timeout=300)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)  # the group this test started, and nothing else
            proc.wait()
    out, err = (tmp_path / "out.txt").read_bytes(), (tmp_path / "err.txt").read_bytes()
    stderr = err.decode()
    failures = [(int(b), int(s)) for b, s in re.findall(r"readme-test: block (\d+) status (\d+)", stderr)]
    allowed = {block.number: block.exits for block in blocks}
    unexpected = [(block, status) for block, status in failures if status not in allowed[block]]
    assert not unexpected, f"README blocks failed (block, status): {unexpected}\n{stderr[-4000:]}"
    for block in (b for b in blocks if b.exits and not b.skip):
        assert any(number == block.number for number, _ in failures), f"block {block.number} did not exit as noted"
    assert "Traceback" not in stderr, stderr[-4000:]
    text = out.decode()
    assert "accepted https://www.example.com/products/widget-pro" in text  # the Python example ran
    assert "emulator-key" not in text + stderr
    # Selecting what to delete (SPEC §13): auto verified the --where deletion by scan, the orphans' bound kept the
    # items indexed after the export, and the eight pods deleted every listed item once.
    assert '{"verdicts":{"gone":2000},"checks":{"scan":1}' in text
    assert "\n2801\n2999\n" in text
    assert "\n725\n725\n91 88 108 93 99 85 90 71\n53\n" in text
