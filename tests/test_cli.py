"""The command line as users and scripts drive it: exit codes, stdout/stderr, checks before anything is sent."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import orjson
import pytest

from bulkdelete._version import __version__
from bulkdelete.emulator import EmulatorConfig, run_emulator
from tests.conftest import ORG, SOURCE, cli_env, coveo_args, run_cli, write_ids

IDS = [f"https://site.example/doc/{n}" for n in range(20)]


async def test_pipe_from_stdin_writes_one_line_per_record_and_exits_0() -> None:
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--rate", "0", "-"), stdin="\n".join(IDS).encode())
        assert emu.documents == []
    assert done.code == 0, done.stderr
    assert sorted(line["id"] for line in done.lines) == sorted(IDS)
    assert all(line["outcome"] == "accepted" and line["ok"] is True for line in done.lines)
    assert "20 records" in done.stderr and "accepted 20" in done.stderr


async def test_some_not_ok_exits_1_and_summary_file_has_the_spec_keys(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [*IDS[:5], "not-a-uri", IDS[0]])
    summary = tmp_path / "summary.json"
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--summary", str(summary), str(ids)))
        seen = emu.stats()
    assert done.code == 1
    doc = orjson.loads(summary.read_bytes())
    for key in (
        "records",
        "outcomes",
        "ok",
        "not_ok",
        "requests",
        "retries",
        "throttled",
        "status_codes",
        "elapsed_s",
        "rate_per_s",
        "latency_ms",
        "paused_s",
        "exit_code",
        "started_at",
        "finished_at",
        "version",
        "target",
        "rate_final",
        "timeline",
    ):
        assert key in doc
    assert doc["target"] == {"api": "coveo", "org": ORG, "source": SOURCE, "base_url": emu.base_url, "mode": "item"}
    assert doc["version"] == __version__ and doc["rate_final"] == 50
    assert doc["started_at"] <= doc["finished_at"] and doc["finished_at"].endswith("Z")
    assert sum(row["sent"] for row in doc["timeline"]) == 5
    assert sum(row["ok"] for row in doc["timeline"]) == 6 and doc["timeline"][0]["rate_target"] == 50
    assert doc["outcomes"] == {"accepted": 5, "duplicate": 1, "invalid": 1}
    assert (doc["records"], doc["ok"], doc["not_ok"], doc["exit_code"]) == (7, 6, 1, 1)
    assert doc["requests"] == seen["requests"] == 5
    assert doc["status_codes"] == {"202": 5}
    assert set(doc["latency_ms"]) == {"p50", "p90", "p99", "max"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "-1"], "--rate must be >= 0"),
        (["--rate", "fast"], "--rate must be"),
        (["--max-errors", "lots"], "--max-errors"),
        (["--stop-after", "soon"], "--stop-after"),
        (["--concurrency", "0"], "--concurrency"),
        (["--ordering-id", str(int(time.time() * 1000) + 86_400_000)], "in the future"),
        (["--ordering-id", "yesterday"], "--ordering-id"),
        (["--format", "xml"], "--format"),
        (["--no-such-flag"], "no such option"),
        (["-o", "/nonexistent-dir/out.jsonl"], "does not exist"),
        (["--summary", "/nonexistent-dir/summary.json"], "does not exist"),
    ],
)
async def test_a_bad_flag_exits_2_before_anything_is_sent(tmp_path: Path, args: list[str], message: str) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        done = await run_cli(*coveo_args(emu.base_url, *args, str(ids)))
        assert emu.stats()["requests"] == 0
    assert done.code == 2
    assert message in done.stderr
    assert done.stdout == b""


async def test_missing_credentials_exit_2() -> None:
    env = cli_env()
    del env["COVEO_API_KEY"]
    done = await run_cli(
        "coveo",
        "delete",
        "--base-url",
        "http://127.0.0.1:9",
        "--org",
        ORG,
        "--source",
        SOURCE,
        "-",
        stdin=b"https://a/b\n",
        env=env,
    )
    assert done.code == 2
    assert "COVEO_API_KEY" in done.stderr


async def test_plain_http_to_a_remote_host_is_refused() -> None:
    done = await run_cli(*coveo_args("http://search.example.com"), stdin=b"https://a/b\n")
    assert done.code == 2
    assert "clear text" in done.stderr


async def test_dry_run_sends_nothing_and_plans_every_valid_record(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [*IDS, IDS[0], "bad id"])
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        env = cli_env()
        del env["COVEO_API_KEY"]  # a rehearsal needs no credentials
        done = await run_cli("coveo", "delete", "--dry-run", str(ids), env=env)
        assert emu.stats()["requests"] == 0
    outcomes = [line["outcome"] for line in done.lines]
    assert outcomes.count("planned") == 20 and outcomes.count("duplicate") == 1 and outcomes.count("invalid") == 1
    assert done.code == 1


@pytest.mark.parametrize(
    ("command", "start"),
    [
        (["coveo", "delete", "--org", "o", "--source", "s"], 50.0),
        (["http", "delete", "--url", "https://api.example.com/d/{id}"], 10.0),
    ],
)
async def test_rate_auto_starts_from_the_commands_default_rate(
    tmp_path: Path, command: list[str], start: float
) -> None:
    """``--rate auto`` starts moderately: from the rate the command uses by default (Coveo 50/s), which a dry run
    (nothing sent, so nothing learnt) reports as the rate it ended on."""
    ids = write_ids(tmp_path / "ids.txt", IDS[:3])
    summary = tmp_path / "summary.json"
    done = await run_cli(*command, "--dry-run", "--rate", "auto", "--summary", str(summary), str(ids), env=cli_env())
    assert done.code == 0, done.stderr
    assert orjson.loads(summary.read_bytes())["rate_final"] == start


async def test_help_states_defaults_and_examples() -> None:
    done = await run_cli("coveo", "delete", "--help")
    assert done.code == 0
    text = done.stdout.decode()
    for expected in ("--rate", "50", "--concurrency", "16", "--max-attempts", "--resume", "Examples:", "cut -f1"):
        assert expected in text


@pytest.mark.parametrize("flag", ["--version", "-V"])
async def test_python_m_and_version(flag: str) -> None:
    done = await run_cli(flag)
    assert done.code == 0 and done.stdout.decode().strip() == f"bulkdelete, version {__version__}"


async def test_demo_deletes_the_sample_export_and_leaves_exactly_the_survivors(tmp_path: Path) -> None:
    done = await run_cli("demo", "--rate", "0", "--report", str(tmp_path / "demo.html"))
    assert done.code == 0, done.stderr
    assert f"demo: report: {tmp_path / 'demo.html'}" in done.stderr  # it ends by writing the report
    page = (tmp_path / "demo.html").read_text(encoding="utf-8")
    assert "quota 25/s" in page and "accepted" in page
    assert "exactly the 25 documents that should survive are left, and every deleted id is proven gone" in done.stderr
    assert "verdicts  gone 37, not_deleted 2, unknown 1" in done.stderr  # unknown: the id holding a double quote
    assert 'id="verification"' in page  # the page's verification part
    assert "['REFRESH', 'IDLE']" in done.stderr
    outcomes = [line["outcome"] for line in done.lines]
    # 2 invalid: a non-URI, and the home page https://www.example.com/ (a whole site under --delete-children).
    assert outcomes.count("accepted") == 37 and outcomes.count("invalid") == 2 and outcomes.count("duplicate") == 1


async def test_demo_without_the_report_extra_says_how_to_get_the_report(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['bokeh'] = None; from bulkdelete.cli import main; "
        f"sys.argv = ['bulkdelete', 'demo', '--rate', '0', '--report', {str(tmp_path / 'r.html')!r}]; main()"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=cli_env()
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0 and "pip install 'bulkdelete[report]'" in err.decode()
    assert not (tmp_path / "r.html").exists()


async def test_an_unreadable_input_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    nocol = tmp_path / "export.csv"
    nocol.write_text("name,title\nfoo,bar\n")
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        missing = await run_cli(*coveo_args(emu.base_url, str(tmp_path / "missing.txt")))
        bad_csv = await run_cli(*coveo_args(emu.base_url, str(nocol)))
        assert emu.stats()["requests"] == 0
    assert missing.code == 2 and "does not exist" in missing.stderr
    assert bad_csv.code == 2 and "no column documentId" in bad_csv.stderr and "--field" in bad_csv.stderr
    for done in (missing, bad_csv):
        assert "Traceback" not in done.stderr
