"""Help and errors that read as one tool: `bulkdelete: error: …` everywhere, every configuration error at once."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from bulkdelete.emulator import EmulatorConfig, run_emulator
from tests.conftest import ORG, SOURCE, cli_env, coveo_args, run_cli

IDS = [f"https://site.example/doc/{n}" for n in range(5)]


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("bulkdelete: error: ")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["coveo", "delete", "--bogus"], "bulkdelete: error: no such option '--bogus'"),
        (["nosuch"], "bulkdelete: error: no such command 'nosuch'"),
        (["coveo", "older-than", "--yes"], "bulkdelete: error: missing option '--ordering-id'"),
        (["coveo", "status"], "bulkdelete: error: missing argument '{rebuild|refresh|incremental|idle}'. Choose from:"),
        (["velt", "delete", "--api-version", "v9"], "bulkdelete: error: invalid value for --api-version: 'v9'"),
    ],
)
async def test_click_usage_errors_use_the_house_style(args: list[str], message: str) -> None:
    done = await run_cli(*args, env=cli_env())
    assert done.code == 2
    assert done.stderr.splitlines()[0].startswith(message), done.stderr
    assert "Usage:" not in done.stderr and "Error:" not in done.stderr and "Try '" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith("bulkdelete: see 'bulkdelete")


async def test_every_bad_option_value_is_reported_at_once() -> None:
    done = await run_cli("coveo", "delete", "--concurrency", "abc", "--region", "xx", "--max-attempts", "0")
    assert done.code == 2
    assert sorted(line.split(":")[2].strip() for line in error_lines(done.stderr)) == [
        "invalid value for --concurrency",
        "invalid value for --max-attempts",
        "invalid value for --region",
    ]


async def test_every_configuration_error_is_reported_at_once() -> None:
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        args = ["coveo", "delete", "--base-url", emu.base_url, "--rate", "-1", "--stop-after", "soon"]
        done = await run_cli(
            *args, "--max-errors", "0%", "--ordering-id", "later", "-", env=cli_env({"COVEO_API_KEY": ""})
        )
        assert emu.stats()["requests"] == 0
    assert done.code == 2
    errors = error_lines(done.stderr)
    for expected in ("--rate", "--stop-after", "--max-errors", "--org is required", "--source is required"):
        assert any(expected in line for line in errors), (expected, done.stderr)
    assert any("COVEO_API_KEY" in line for line in errors) and any("--ordering-id" in line for line in errors)
    assert len(errors) == 7 == len(done.stderr.splitlines())


async def test_velt_reports_every_missing_credential_at_once() -> None:
    done = await run_cli("velt", "delete", "--base-url", "http://127.0.0.1:9", "-", env=cli_env())
    assert done.code == 2
    assert len(error_lines(done.stderr)) == 3  # --org, VELT_API_KEY, VELT_AUTH_TOKEN


@pytest.mark.parametrize("where", ["file", "stdin"])
async def test_a_json_array_input_gets_one_line(tmp_path: Path, where: str) -> None:
    array = orjson.dumps(IDS)
    (tmp_path / "ids.json").write_bytes(array)
    source = str(tmp_path / "ids.json") if where == "file" else "-"
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        done = await run_cli(*coveo_args(emu.base_url, source), stdin=array if where == "stdin" else b"", env=cli_env())
        assert emu.stats()["requests"] == 0
    assert done.code == 2
    label = "stdin" if where == "stdin" else repr(source)
    assert done.stderr.splitlines() == [
        f"bulkdelete: error: {label} looks like a JSON array; give JSON lines instead (e.g. jq -c '.[]')"
    ]


async def test_usage_errors_are_json_events_with_log_format_json() -> None:
    done = await run_cli("coveo", "delete", "--log-format", "json", "--concurrency", "0", env=cli_env())
    assert done.code == 2
    events = [orjson.loads(line) for line in done.stderr.splitlines()]
    assert events[0]["event"] == "error" and "--concurrency" in events[0]["message"]


@pytest.mark.parametrize("command", ["older-than", "status"])
async def test_coveo_single_calls_show_examples_and_what_timeout_times(command: str) -> None:
    done = await run_cli("coveo", command, "--help", env=cli_env({"COLUMNS": "200"}))
    text = done.stdout.decode()
    assert done.code == 0 and "Examples:" in text and f"bulkdelete coveo {command} " in text
    assert "Seconds the call may take" in text


@pytest.mark.parametrize("api", ["coveo", "velt", "http"])
async def test_delete_timeout_says_what_it_times(api: str) -> None:
    done = await run_cli(api, "delete", "--help", env=cli_env({"COLUMNS": "200"}))
    assert "Seconds one request may take" in done.stdout.decode()


async def test_version_short_flag() -> None:
    done = await run_cli("-V", env=cli_env())
    assert done.code == 0 and done.stdout.decode().startswith("bulkdelete, version ")


async def test_a_good_run_is_not_disturbed_by_the_checks() -> None:
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        done = await run_cli(
            *coveo_args(emu.base_url, "--org", ORG, "--source", SOURCE, "-"), stdin="\n".join(IDS).encode()
        )
    assert done.code == 0, done.stderr
