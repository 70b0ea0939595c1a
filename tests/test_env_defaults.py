"""Defaults from the environment, end to end: `BULKDELETE_<OPTION>`, `COVEO_REGION`, the flag winning, `--help`."""

from __future__ import annotations

from pathlib import Path

import click
import orjson
import pytest

from bulkdelete.cli.app import cli
from bulkdelete.cli.envvars import variable_for
from bulkdelete.emulator import EmulatorConfig, run_emulator
from tests.conftest import KEY, ORG, SOURCE, cli_env, coveo_args, read_lines, run_cli
from tests.forward_proxy import make_pki, run_proxy

IDS = [f"https://site.example/doc/{n}" for n in range(12)]
STDIN = "\n".join(IDS).encode()
API_COMMANDS = [("coveo", "delete"), ("coveo", "older-than"), ("coveo", "status"), ("velt", "delete")]


def command(*path: str) -> click.Command:
    ctx = click.Context(cli, info_name="bulkdelete")
    found: click.Command | None = cli
    for name in path:
        assert isinstance(found, click.Group)
        found = found.get_command(ctx, name)
    assert found is not None
    return found


@pytest.mark.parametrize("path", API_COMMANDS)
async def test_help_shows_the_variable_of_every_option(path: tuple[str, str]) -> None:
    done = await run_cli(*path, "--help", env=cli_env({"COLUMNS": "200"}))
    assert done.code == 0
    options = [p for p in command(*path).params if isinstance(p, click.Option)]
    named = [variable_for(option) for option in options]
    assert "BULKDELETE_TIMEOUT" in named and "BULKDELETE_BASE_URL" in named
    for variable in filter(None, named):
        assert variable in done.stderr + done.stdout.decode(), variable
    assert "BULKDELETE_YES" not in done.stdout.decode()  # safety switches stay on the command line
    if path[0] == "coveo":
        assert "COVEO_REGION" in done.stdout.decode() and "COVEO_ORGANIZATION_ID" in done.stdout.decode()


async def test_a_job_configured_only_by_its_environment(tmp_path: Path) -> None:
    results, summary = tmp_path / "results.jsonl", tmp_path / "summary.json"
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        env = cli_env(
            {
                "BULKDELETE_BASE_URL": emu.base_url,
                "BULKDELETE_ORG": ORG,
                "COVEO_SOURCE_ID": SOURCE,
                "BULKDELETE_RATE": "0",
                "BULKDELETE_CONCURRENCY": "3",
                "BULKDELETE_LOG_FORMAT": "json",
                "BULKDELETE_OUTPUT": str(results),
                "BULKDELETE_SUMMARY": str(summary),
                "BULKDELETE_NO_DEDUPE": "true",
            }
        )
        done = await run_cli("coveo", "delete", "-", stdin=STDIN + b"\n" + IDS[0].encode(), env=env)
        seen = emu.stats()
    assert done.code == 0, done.stderr
    assert done.stdout == b""  # -o from BULKDELETE_OUTPUT
    assert len(read_lines(results)) == len(IDS) + 1 == seen["requests"]  # no de-duplication: the repeat was sent
    assert seen["peak_inflight"] <= 3
    assert orjson.loads(summary.read_bytes())["exit_code"] == 0
    assert done.stderr.strip() and all(orjson.loads(line)["event"] for line in done.stderr.splitlines())


async def test_a_flag_wins_over_the_environment() -> None:
    async with run_emulator(EmulatorConfig(allowed_orgs=frozenset({ORG})), docs=IDS) as emu:  # others: 403
        env = cli_env({"BULKDELETE_MAX_REQUESTS": "3", "BULKDELETE_ORG": "not-this-org", "BULKDELETE_RATE": "0"})
        done = await run_cli(*coveo_args(emu.base_url, "--max-requests", "5", "-"), stdin=STDIN, env=env)
        seen = emu.stats()
    assert seen["requests"] == 5, done.stderr
    assert len(done.lines) == 5 and all(line["outcome"] == "accepted" for line in done.lines)


async def test_coveo_region_picks_the_regional_api(tmp_path: Path) -> None:
    """Without --base-url the region's real host is asked for: the test proxy maps it to the emulator over https."""
    pki = make_pki(tmp_path, "api.cloud.coveo.com", "api-eu.cloud.coveo.com")
    async with run_emulator(EmulatorConfig(tls_cert=str(pki.cert), tls_key=str(pki.key)), docs=IDS) as emu:
        port = emu.base_url.rsplit(":", 1)[1]
        hosts = {f"{h}:443": f"127.0.0.1:{port}" for h in ("api.cloud.coveo.com", "api-eu.cloud.coveo.com")}
        async with run_proxy(hosts) as proxy:
            env = cli_env({"HTTPS_PROXY": proxy.url, "COVEO_REGION": "eu", "BULKDELETE_CA_BUNDLE": str(pki.ca)})
            args = ["coveo", "delete", "--org", ORG, "--source", SOURCE, "--rate", "0", "--concurrency", "2", "-"]
            from_env = await run_cli(*args, stdin=STDIN[: len(IDS[0])], env=env)
            eu_tunnels = set(proxy.log.tunnels)
            from_flag = await run_cli(*args, "--region", "us", stdin=STDIN[: len(IDS[0])], env=env)
    assert from_env.code == 0 and from_flag.code == 0, from_env.stderr + from_flag.stderr
    assert eu_tunnels == {"api-eu.cloud.coveo.com:443"}
    assert set(proxy.log.tunnels) - eu_tunnels == {"api.cloud.coveo.com:443"}


async def test_safety_switches_are_not_read_from_the_environment() -> None:
    env = cli_env({"BULKDELETE_YES": "1", "BULKDELETE_COVEO_OLDER_THAN_YES": "1", "COVEO_API_KEY": KEY})
    args = ["coveo", "older-than", "--base-url", "http://127.0.0.1:9", "--org", ORG, "--source", SOURCE]
    done = await run_cli(*args, "--ordering-id", "now", env=env)
    assert done.code == 2 and "--yes" in done.stderr


async def test_an_empty_variable_counts_as_unset_and_a_bad_one_is_a_usage_error() -> None:
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        ok = await run_cli(*coveo_args(emu.base_url, "-"), stdin=STDIN, env=cli_env({"BULKDELETE_RATE": ""}))
        bad = await run_cli(*coveo_args(emu.base_url, "-"), stdin=STDIN, env=cli_env({"BULKDELETE_RATE": "fast"}))
        assert emu.stats()["requests"] == len(IDS)
    assert ok.code == 0, ok.stderr
    assert bad.code == 2 and "--rate" in bad.stderr
