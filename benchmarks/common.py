"""Shared helpers of the benchmarks: the emulator as a pinned process, measured child processes, id files.

Every benchmark runs the emulator (``python -m bulkdelete emulator --port 0``) as its own process, pinned with
``taskset`` to one core, and the measured clients as separate processes pinned to the other core, so that the
server and the client never share a CPU. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import compileall
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ORG, SOURCE, KEY = "bench", "src", "bench-key"
SERVER_CORE, CLIENT_CORE = 0, 1
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def two_cores() -> bool:
    return (os.cpu_count() or 1) > 1 and shutil.which("taskset") is not None


def pinned(cmd: Sequence[str], core: int) -> list[str]:
    """``cmd`` prefixed with ``taskset -c core`` (unchanged on a single-core machine)."""
    return ["taskset", "-c", str(core), *cmd] if two_cores() else list(cmd)


def cli(*args: str) -> list[str]:
    """The ``bulkdelete`` CLI, run the way a user runs it (the console script of this venv)."""
    script = Path(PYTHON).with_name("bulkdelete")
    return [str(script), *args] if script.exists() else [PYTHON, "-m", "bulkdelete", *args]


def coveo_id(i: int) -> str:
    """A document URI that needs quoting (space, ?, &, #, + and %)."""
    return f"https://example.com/item/{i} ?&#+%"


def write_ids(path: Path, count: int, offset: int = 0) -> Path:
    with path.open("w") as out:
        for start in range(offset, offset + count, 100_000):
            out.write("".join(f"{coveo_id(i)}\n" for i in range(start, min(start + 100_000, offset + count))))
    return path


class Emulator:
    """The emulator in its own process, pinned to ``SERVER_CORE``; ``base_url`` once it listens."""

    def __init__(self, *options: str, timeout_s: float = 60.0) -> None:
        cmd = pinned([PYTHON, "-m", "bulkdelete", "emulator", "--port", "0", "--api-key", KEY, *options], SERVER_CORE)
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stderr is not None
        deadline = time.monotonic() + timeout_s
        line = ""
        while " listening on " not in line:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError(f"the emulator did not start: {line!r}")
            line = self.proc.stderr.readline()
        # "bulkdelete: emulator listening on http://127.0.0.1:PORT (N documents)"
        self.base_url = line.split(" listening on ", 1)[1].split(" ", 1)[0]

    def stats(self) -> dict[str, Any]:
        with _NO_PROXY.open(f"{self.base_url}/_emulator/stats", timeout=30) as resp:
            doc: dict[str, Any] = json.loads(resp.read())
        return doc

    def reset_stats(self) -> None:
        req = urllib.request.Request(f"{self.base_url}/_emulator/reset-stats", data=b"", method="POST")
        with _NO_PROXY.open(req, timeout=30) as resp:
            resp.read()

    def cpu_s(self) -> float:
        return process_cpu_s(self.proc.pid)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextlib.contextmanager
def emulator(*options: str) -> Iterator[Emulator]:
    emu = Emulator(*options)
    try:
        yield emu
    finally:
        emu.close()


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Measured:
    """A finished child process: whole-process wall time, CPU time, peak RSS and exit status."""

    wall_s: float
    cpu_s: float
    max_rss_mb: float
    returncode: int
    stderr: str


def run_measured(
    cmd: Sequence[str],
    *,
    stdin: Path | IO[bytes] | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 300.0,
    core: int | None = CLIENT_CORE,
) -> Measured:
    """Run ``cmd`` (pinned to ``core``) to its end: wall time, CPU time (its rusage) and peak RSS.

    The peak is ``VmHWM`` of the child's own memory, polled from ``/proc`` every 5 ms until it exits (the last 5 ms
    of growth can be missed). Not ``ru_maxrss``: Linux carries the parent's high-water mark through fork and exec,
    so a child of a 400 MB benchmark reported 400 MB for ``python -c pass``.
    """
    full = pinned(cmd, core) if core is not None else list(cmd)
    with contextlib.ExitStack() as stack:
        source: IO[bytes] | int = subprocess.DEVNULL
        if isinstance(stdin, Path):
            source = stack.enter_context(stdin.open("rb"))
        elif stdin is not None:
            source = stdin
        err = stack.enter_context(_TempText())
        began = time.perf_counter()
        proc = subprocess.Popen(full, stdin=source, stdout=subprocess.DEVNULL, stderr=err.handle, env=env, cwd=ROOT)
        deadline = began + timeout_s
        peak_mb: float | None = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            now_mb = vm_hwm_mb(proc.pid)
            if now_mb is not None:
                peak_mb = now_mb if peak_mb is None else max(peak_mb, now_mb)
            if time.perf_counter() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        rss_mb = peak_mb if peak_mb is not None else usage.ru_maxrss / 1024  # exited before the first poll
        return Measured(wall, usage.ru_utime + usage.ru_stime, rss_mb, proc.returncode, err.text())


def vm_hwm_mb(pid: int) -> float | None:
    """The peak RSS so far of live process ``pid``'s memory (``VmHWM``), in MiB; None once it is gone."""
    try:
        found = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    except OSError:
        return None
    return int(found[1]) / 1024 if found else None


class _TempText:
    """A temporary file for a child's stderr (a pipe could fill up and block it)."""

    def __enter__(self) -> _TempText:
        import tempfile

        self.handle = tempfile.TemporaryFile("w+")
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()

    def text(self) -> str:
        self.handle.seek(0)
        return self.handle.read()[-4000:]


def precompile() -> None:
    """Write the bytecode of bulkdelete's modules, as ``pip install`` does for an installed package.

    An editable checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (as here) otherwise compiles its ~60 modules again
    at every start: ~40 ms per process (cProfile: 60 ``source_to_code`` calls), which the bare loop, whose
    aiohttp comes with its bytecode, does not pay. Start-up figures then measure the checkout, not the tool.
    """
    compileall.compile_dir(ROOT / "bulkdelete", quiet=1)


def bench_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(COVEO_API_KEY=KEY, PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    pinning = f"server on core {SERVER_CORE}, clients on core {CLIENT_CORE} (taskset)" if two_cores() else "no pinning"
    return (
        f"{model}, nproc {os.cpu_count()}, Linux {platform.release()}, Python {platform.python_version()}, "
        f"{pinning}, load average {load}"
    )


def versions() -> str:
    import aiohttp

    try:
        import uvloop  # type: ignore[import-not-found]

        uv = f"uvloop {uvloop.__version__} installed"
    except ImportError:
        uv = "no uvloop"
    return f"aiohttp {aiohttp.__version__}, {uv}"
