"""Shared helpers: run the real CLI as a subprocess while a real emulator serves in the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import os
import pty
import signal
import struct
import sys
import termios
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bulkdelete.pipeline.run import RunOptions, run_deletion
from bulkdelete.rate.backoff import BackoffPolicy
from bulkdelete.rate.control import Unlimited
from bulkdelete.records import Result
from bulkdelete.targets.base import Target

ROOT = Path(__file__).resolve().parent.parent
ORG, SOURCE, KEY = "myorg", "mysource", "s3cr3t-key-never-printed"
# Document URIs that break naive encoding: ? & # + % space, a literal %25 and a bare %, non-ASCII, quotes.
TRICKY_URIS = [
    "https://x.com/a b?q=1&r=2#frag",
    "file://dir/100%25+plus",
    "file://dir/100% real+plus",
    "https://例え.jp/ドキュメント",
    "https://x.com/plus+sign%2B and space",
    "smb://share/dept/Q&A #3?.docx",
    'smb://share/dept/Q&A #3?"quoted"\\.docx',
]
# A folder, its descendants, and the siblings a naive prefix match would wrongly delete with it.
CHILDREN_TREE = [
    "file://s/folder",
    "file://s/folder/a.pdf",
    "file://s/folder/sub/b.docx",
    "file://s/folder-archive/x",
    "file://s/folderx",
    "file://s/other/folder/c",
]


@dataclass(frozen=True)
class Completed:
    code: int
    stdout: bytes
    stderr: str

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.stdout.splitlines() if line.strip()]


# What the machine's environment may hold that would change a run: every test sets these itself.
NETWORK_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a CLI run: the machine's, without credentials, proxies, extra CAs and BULKDELETE_ defaults."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COVEO_", "VELT_", "BULKDELETE_"))
        and not k.lower().endswith("_proxy")
        and k not in NETWORK_VARIABLES
    }
    # BULKDELETE_UVLOOP=1: the suite runs the CLI on uvloop, what an install gets wherever uvloop exists;
    # tests/test_loop.py runs it on both loops, and the in-process tests run the engine on asyncio's.
    env.update({"COVEO_API_KEY": KEY, "PYTHONUNBUFFERED": "1", "BULKDELETE_UVLOOP": "1"})
    env.update(extra or {})
    return env


async def start_cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: int = asyncio.subprocess.DEVNULL,
    stderr: int = asyncio.subprocess.PIPE,
) -> asyncio.subprocess.Process:
    """``python -m bulkdelete ARGS`` started (tests that signal or kill it mid-run use it directly); ``stdin`` and
    ``stderr`` may be a terminal's fd (``open_terminal``)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bulkdelete",
        *args,
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
        env=dict(env) if env is not None else cli_env(),
        cwd=ROOT,
    )


async def run_cli(
    *args: str, stdin: bytes = b"", env: Mapping[str, str] | None = None, timeout: float = 60
) -> Completed:
    """``python -m bulkdelete ARGS`` with ``stdin``, awaited without blocking the emulator in this loop."""
    proc = await start_cli(*args, env=env, stdin=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    assert proc.returncode is not None
    # A secret never appears in any output, whatever the test is about.
    assert KEY.encode() not in out and KEY not in err.decode()
    return Completed(proc.returncode, out, err.decode())


async def interrupt_when(proc: asyncio.subprocess.Process, ready: Callable[[], bool], timeout: float = 30) -> str:
    """SIGINT to ``proc`` once ``ready()`` holds (polled every 50 ms for up to 10 s, sent anyway then); its stderr
    once it has exited. Killed if anything goes wrong meanwhile."""
    try:
        assert proc.stderr is not None
        for _ in range(200):
            await asyncio.sleep(0.05)
            if ready():
                break
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    return err.decode()


def open_terminal(columns: int) -> tuple[int, int]:
    """A pseudo-terminal of 24 rows and ``columns`` columns (a real terminal's size): ``(leader, follower)`` fds."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    return leader, follower


async def run_on_terminal(*args: str, timeout: float = 60) -> tuple[int, bytes, str]:
    """``python -m bulkdelete ARGS`` with stderr on a real pseudo-terminal (120 columns): ``(exit, stdout, screen)``.

    The terminal is read while the CLI runs (a full pty would block its writes), until the CLI closes it.
    """
    leader, follower = open_terminal(120)
    try:
        proc = await start_cli(*args, stderr=follower)
    finally:
        os.close(follower)

    def screen() -> bytes:
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                return seen
            if not chunk:
                return seen
            seen += chunk

    try:
        drawn = asyncio.ensure_future(asyncio.to_thread(screen))
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        text = (await asyncio.wait_for(drawn, timeout)).decode("utf-8", "replace")
    finally:
        os.close(leader)
    assert proc.returncode is not None and KEY not in text
    return proc.returncode, out, text


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a results file, skipping a torn last line."""
    lines = []
    for raw in path.read_bytes().splitlines():
        try:
            lines.append(orjson.loads(raw))
        except orjson.JSONDecodeError:
            continue
    return lines


def coveo_args(base_url: str, *extra: str) -> list[str]:
    return ["coveo", "delete", "--base-url", base_url, "--org", ORG, "--source", SOURCE, *extra]


def write_ids(path: Path, ids: Iterable[str]) -> Path:
    path.write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    return path


def options(inputs: list[Path], **changes: Any) -> RunOptions:
    """In-process run options for tests: unlimited rate, no backoff delays, no summary on stderr, seeded."""
    base = RunOptions(
        inputs=tuple(map(str, inputs)),
        rate=Unlimited(),
        concurrency=4,
        backoff=BackoffPolicy.instant(),
        quiet=True,
        seed=1,
    )
    return dataclasses.replace(base, **changes)


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass


async def collect(target: Target, opts: RunOptions) -> tuple[list[Result], dict[str, Any], int]:
    """Run the real engine in-process: the results, the summary and the exit status."""
    results: list[Result] = []
    report = await run_deletion(target, opts, on_result=results.append, stdout=_Discard())  # type: ignore[arg-type]
    return results, report.summary, report.exit_code
