"""File descriptors: the soft limit is raised for --concurrency, a too-low hard limit is refused before sending,
and EMFILE during a run is never reported as an unreachable API."""

from __future__ import annotations

import asyncio
import errno
import resource
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from bulkdelete.emulator import EmulatorConfig, run_emulator
from bulkdelete.errors import ConfigError
from bulkdelete.net.fd_limit import EXHAUSTED, ensure_fd_budget, fds_needed, is_fd_exhaustion, open_fd_count
from tests.conftest import KEY, ROOT, Completed, cli_env, coveo_args, write_ids

IDS = [f"https://site.example/fd/{n}" for n in range(600)]


def limit_to(soft: int, hard: int) -> Callable[[], None]:
    """A ``preexec_fn``: the child starts with these ``RLIMIT_NOFILE`` limits (``ulimit -Sn`` / ``-Hn``)."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return apply


async def run_limited(soft: int, hard: int, *args: str) -> Completed:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bulkdelete", *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=cli_env(), cwd=ROOT, preexec_fn=limit_to(soft, hard),
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    assert KEY not in err.decode()
    return Completed(proc.returncode, out, err.decode())


def test_the_need_counts_connections_open_files_and_a_margin() -> None:
    assert fds_needed(500, 10) == 10 + 500 + 2 + 32
    assert open_fd_count() >= 3  # at least stdin, stdout, stderr
    assert is_fd_exhaustion(OSError(errno.EMFILE, "Too many open files"))
    assert is_fd_exhaustion(OSError(errno.ENFILE, "File table overflow"))
    assert not is_fd_exhaustion(ConnectionRefusedError(errno.ECONNREFUSED, "refused"))
    assert not is_fd_exhaustion(None)


def test_the_budget_never_lowers_a_sufficient_limit() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < fds_needed(1, open_fd_count()):
        pytest.skip("this machine's own soft limit is tiny")
    assert ensure_fd_budget(1) == soft
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == soft


async def test_a_hard_limit_too_low_for_the_concurrency_exits_2_before_sending(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        done = await run_limited(64, 64, *coveo_args(emu.base_url, "--concurrency", "500", str(ids)))
        requests = emu.stats()["requests"]
    assert done.code == 2, done.stderr
    assert "lower --concurrency" in done.stderr and "raise ulimit -n" in done.stderr
    assert "--concurrency 500" in done.stderr and "unreachable" not in done.stderr
    assert requests == 0 and done.stdout == b""


async def test_the_soft_limit_is_raised_up_to_the_hard_one_so_500_connections_fit(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    async with run_emulator(EmulatorConfig(latency_ms=400), docs=IDS) as emu:
        args = coveo_args(emu.base_url, "--rate", "0", "--concurrency", "500", str(ids))
        done = await run_limited(64, 2048, *args)
        stats = emu.stats()
    assert done.code == 0, done.stderr
    assert len(done.lines) == len(IDS)
    assert stats["peak_inflight"] > 64  # more sockets at once than the soft limit it started with


EMFILE_RUN = """
import asyncio, os, sys
from bulkdelete import CoveoItemTarget, CoveoSettings, RunOptions, Secret, run_deletion
from bulkdelete.rate.backoff import BackoffPolicy
from bulkdelete.rate.control import Unlimited

hoard: list[int] = []

def use_up_every_descriptor(result: object) -> None:
    # The first line (an invalid id, decided before any request): from here on, as if a neighbour leaked them all.
    while not hoard or hoard[-1] >= 0:
        try:
            hoard.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            hoard.append(-1)

async def main() -> None:
    target = CoveoItemTarget(CoveoSettings(sys.argv[1], "o", "s", Secret("k")))
    options = RunOptions(
        inputs=(sys.argv[2],), rate=Unlimited(), concurrency=2, max_attempts=3,
        backoff=BackoffPolicy.instant(), quiet=True,
    )
    report = await run_deletion(target, options, on_result=use_up_every_descriptor)
    for fd in hoard[:-1]:
        os.close(fd)
    print(report.summary["stop_reason"], report.exit_code, report.summary["stop_message"], file=sys.stderr)

asyncio.run(main())
"""


async def test_emfile_during_a_run_is_retried_and_named_never_unreachable(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["not a uri", *IDS[:12]])
    script = tmp_path / "emfile_run.py"
    script.write_text(EMFILE_RUN)
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(script), emu.base_url, str(ids),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=cli_env(), cwd=ROOT, preexec_fn=limit_to(256, 256),
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        requests = emu.stats()["requests"]
    stderr = err.decode()
    assert proc.returncode == 0, stderr
    assert stderr.startswith("completed 1 "), stderr  # not aborted as "the API is unreachable"
    lines = [orjson.loads(line) for line in out.splitlines()]
    assert len(lines) == 13
    failed = [line for line in lines if line["outcome"] == "failed"]
    accepted = [line for line in lines if line["outcome"] == "accepted"]
    # A descriptor freed later (the reader closing its input at EOF) lets a connection or two through: fine.
    assert len(failed) >= 6 and len(failed) + len(accepted) == 12 and requests == len(accepted)
    assert all(EXHAUSTED in line["error"] and line["attempts"] == 3 for line in failed)


def test_a_config_error_names_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no hard limit here")
    with pytest.raises(ConfigError, match=rf"may open at most {hard} \(ulimit -n, hard limit\)"):
        ensure_fd_budget(hard + 10)
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (soft, hard)
