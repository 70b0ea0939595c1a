"""Results that tell the truth and are never silently lost (issue 12 points 2 and 3, SPEC §4 and §5).

Exit codes and counts: 4 for a budget stop with records left, 70 for a bug, ``unsent`` counting the rest of every
input file. Output: a full disk or a closed pipe stops the run, ``-o`` never replaces an earlier run's results by
accident, and every line carries when it was decided and the API's request id.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import sys
from pathlib import Path

import orjson

from bulkdelete.emulator import EmulatorConfig, run_emulator
from bulkdelete.output.timestamps import make_utc_stamp
from tests.conftest import ROOT, cli_env, coveo_args, read_lines, run_cli, write_ids

IDS = [f"https://site.example/doc/{n}" for n in range(400)]
TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
NOISE = ("Traceback", "Warning", "Exception ignored", "never awaited", "Fatal Python error")


def quiet(stderr: str) -> bool:
    return not [noise for noise in NOISE if noise in stderr]


async def test_unsent_counts_the_rest_of_every_input_file_in_records_not_lines(tmp_path: Path) -> None:
    first = tmp_path / "a.txt"  # 100 records among blank lines and comments, which are not records
    first.write_text("# export of 2026-12-01\n" + "".join(f"{i}\n\n# note\n" for i in IDS[:100]), encoding="utf-8")
    second = tmp_path / "b.txt.gz"
    second.write_bytes(gzip.compress("".join(f"{i}\n" for i in IDS[100:150]).encode()))
    summary = tmp_path / "summary.json"
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        done = await run_cli(
            *coveo_args(emu.base_url, "--rate", "0", "--concurrency", "2", "--max-requests", "10"),
            "--summary",
            str(summary),
            str(first),
            str(second),
        )
    doc = orjson.loads(summary.read_bytes())
    assert done.code == 4, done.stderr
    assert len(done.lines) == doc["records"] == 10
    assert (doc["unsent"], doc["unsent_exact"], doc["stop_reason"]) == (140, True, "max-requests")
    assert "unsent    140 records got no line: run again with --resume" in done.stderr


async def test_a_run_that_ends_on_its_own_tells_nothing_is_unsent(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--rate", "0", "--summary", str(summary), "-"), stdin=b"a\n")
    doc = orjson.loads(summary.read_bytes())
    assert (doc["unsent"], doc["unsent_exact"], doc["stop_reason"]) == (0, True, "completed")
    assert done.code == 1 and "unsent" not in done.stderr  # 'a' is not a URI: invalid, nothing left unsent


# A bug cannot be provoked through the public surface (that would be a bug to fix): one is injected where the run
# builds its summary, in a real CLI process.
INJECT = """
import sys
import bulkdelete.pipeline.run as run
def broken(*args, **kwargs):
    raise RuntimeError("injected fault")
run.build_summary = broken
from bulkdelete.cli import main
main()
"""


async def run_injected(script: str, args: list[str], debug: str = "") -> tuple[int, bytes, str]:
    """The CLI with ``args``, run by ``python -c script`` (which injects a fault, then calls the CLI's ``main``):
    its exit code, stdout and stderr. ``debug``: ``BULKDELETE_DEBUG``."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env({"BULKDELETE_DEBUG": debug}),
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out, err.decode()


async def test_an_internal_error_exits_70_in_one_line_with_the_traceback_only_on_demand(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS[:5])
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        runs = []
        for debug in ("", "1"):
            code, _, err = await run_injected(INJECT, coveo_args(emu.base_url, "--rate", "0", str(ids)), debug)
            runs.append((code, err))
    (code, err), (debug_code, debug_err) = runs
    assert code == 70 and debug_code == 70
    assert err.count("\n") == 1 and "internal error (RuntimeError: injected fault)" in err and "bug" in err
    assert "Traceback" not in err and "BULKDELETE_DEBUG=1" in err
    assert "Traceback" in debug_err and "injected fault" in debug_err


# The reader fails mid-input with an exception that is not an input error (a bug): injected after 150 ids.
INJECT_READER = """
import bulkdelete.input.feed as feed
real_read_records = feed.read_records
def read_records(*args, **kwargs):
    records = real_read_records(*args, **kwargs)
    def failing():
        for n, record in enumerate(records):
            if n == 150:
                raise RuntimeError("injected reader fault")
            yield record
    return failing()
feed.read_records = read_records
from bulkdelete.cli import main
main()
"""


async def test_a_reader_bug_exits_70_naming_it_after_the_lines_of_the_ids_read_before_it(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    async with run_emulator(EmulatorConfig(latency_ms=5), docs=IDS) as emu:
        code, raw_out, err = await run_injected(INJECT_READER, coveo_args(emu.base_url, "--rate", "0", str(ids)))
        remaining = emu.documents
    assert code == 70
    assert "internal error (RuntimeError: injected reader fault)" in err  # the error itself, not an ExceptionGroup
    lines = [orjson.loads(line) for line in raw_out.splitlines()]
    assert sorted(line["id"] for line in lines) == sorted(IDS[:150])  # every id read before it: sent, one line each
    assert all(line["outcome"] == "accepted" for line in lines)
    assert remaining == sorted(IDS[150:])


async def test_results_on_a_full_disk_stop_the_run_at_the_first_failed_write(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        done = await run_cli(
            *coveo_args(emu.base_url, "--rate", "0", "--concurrency", "4", "-o", "/dev/full", str(ids))
        )
        sent = emu.stats()["requests"]
    assert done.code == 3, done.stderr
    assert "'/dev/full'" in done.stderr and "No space left on device" in done.stderr
    assert "output-failed" in done.stderr and quiet(done.stderr), done.stderr
    # The failure shows at the first flush (end of the loop turn of the first result): nothing new is sent after
    # it; what was in flight, or started in that same turn, completes.
    assert sent <= 2 * 4, sent


async def test_a_summary_that_cannot_be_written_exits_3_naming_the_file_and_the_reason(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS[:20])
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--rate", "0", "--summary", "/dev/full", str(ids)))
    assert done.code == 3, done.stderr
    assert len(done.lines) == 20  # the results themselves were written
    assert "'/dev/full'" in done.stderr and "No space left on device" in done.stderr and quiet(done.stderr)


def _read_one_line_then_close(fd: int) -> bytes:
    with os.fdopen(fd, "rb", buffering=0) as pipe:  # `| head -1`
        line = b""
        while not line.endswith(b"\n"):
            piece = pipe.read(1)
            if not piece:
                break
            line += piece
    return line


async def test_a_results_pipe_closed_by_its_reader_stops_the_run_quietly_with_a_non_zero_exit(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    read_end, write_end = os.pipe()
    async with run_emulator(EmulatorConfig(latency_ms=5), docs=IDS) as emu:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bulkdelete",
            *coveo_args(emu.base_url, "--rate", "200", "--concurrency", "4", str(ids)),
            stdout=write_end,
            stderr=asyncio.subprocess.PIPE,
            env=cli_env(),
            cwd=ROOT,
        )
        os.close(write_end)
        first = await asyncio.to_thread(_read_one_line_then_close, read_end)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        sent = emu.stats()["requests"]
    assert orjson.loads(first)["ok"] is True
    assert proc.returncode == 3, err.decode()
    assert quiet(err.decode()) and "output-closed" in err.decode(), err.decode()
    assert sent < len(IDS)


async def test_o_never_replaces_an_earlier_runs_results_unless_overwrite(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS[:10])
    earlier = tmp_path / "results.jsonl"
    earlier.write_text('{"id":"https://site.example/doc/0","outcome":"accepted","ok":true}\n')
    journal = tmp_path / "journal.jsonl"
    journal.write_bytes(earlier.read_bytes())
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        refused = await run_cli(*coveo_args(emu.base_url, "-o", str(earlier), str(ids)))
        assert emu.stats()["requests"] == 0  # exit 2 before anything is sent
        replaced = await run_cli(*coveo_args(emu.base_url, "--rate", "0", "-o", str(earlier), "--overwrite", str(ids)))
        appended = await run_cli(*coveo_args(emu.base_url, "--rate", "0", "--resume", str(journal), str(ids)))
        device = await run_cli(*coveo_args(emu.base_url, "--rate", "0", "-o", "/dev/null", str(ids)))
    assert refused.code == 2 and "--overwrite" in refused.stderr and str(earlier) in refused.stderr
    assert replaced.code == 0 and len(read_lines(earlier)) == 10
    assert appended.code == 0 and len(read_lines(journal)) == 1 + 9  # the journal kept its line, got the rest
    assert device.code == 0, device.stderr


async def test_every_result_line_carries_when_it_was_decided_and_the_apis_request_id(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [*IDS[:5], IDS[0], "not a uri"])
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--rate", "0", str(ids)))
    assert done.code == 1
    by_outcome: dict[object, list[dict[str, object]]] = {}
    for line in done.lines:
        by_outcome.setdefault(line["outcome"], []).append(line)
        assert TS.fullmatch(str(line["ts"])), line
    request_ids = [line["request_id"] for line in by_outcome["accepted"]]
    assert len(request_ids) == 5 and all(str(rid).startswith("emu-") for rid in request_ids)
    assert len(set(request_ids)) == 5  # each line names its own request
    assert by_outcome["duplicate"][0]["request_id"] is None and by_outcome["invalid"][0]["request_id"] is None


def test_utc_stamp_is_iso_8601_utc_with_milliseconds_at_every_edge() -> None:
    assert make_utc_stamp(lambda: 0.0)() == "1970-01-01T00:00:00.000Z"
    assert make_utc_stamp(lambda: 1764643383.9995)() == "2025-12-02T02:43:03.999Z"  # never rounds into the next second
    ticks = iter([1764643383.001, 1764643383.5, 1764643384.25])
    stamp = make_utc_stamp(lambda: next(ticks))
    assert [stamp(), stamp(), stamp()] == [
        "2025-12-02T02:43:03.001Z",
        "2025-12-02T02:43:03.500Z",
        "2025-12-02T02:43:04.250Z",  # a new second: the cached date-time is formatted again
    ]
