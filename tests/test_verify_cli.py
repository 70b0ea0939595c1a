"""``bulkdelete … verify`` and ``delete --verify`` as users run them: the real CLI against the real emulator."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import orjson
import pytest

from bulkdelete.emulator import EmulatorConfig, parse_quota, run_emulator
from tests.conftest import KEY, ORG, SOURCE, cli_env, interrupt_when, read_lines, run_cli, start_cli, write_ids

IDS = [f"https://site.example/v/{n}" for n in range(30)]
POLL = ("--interval", "0.1s", "--logs-interval", "0")


def verify_args(base_url: str, *extra: str) -> list[str]:
    return ["coveo", "verify", "--base-url", base_url, "--org", ORG, "--source", SOURCE, *POLL, *extra]


async def test_verify_reads_a_delete_runs_result_lines(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [*IDS, "not a uri", IDS[0]])
    async with run_emulator(EmulatorConfig(), docs=[*IDS, "https://site.example/kept"]) as emu:
        args = ["coveo", "delete", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE, "--rate", "0"]
        deleted = await run_cli(*args, "-o", str(tmp_path / "results.jsonl"), str(ids))
        assert deleted.code == 1  # the invalid id
        results = tmp_path / "results.jsonl"
        done = await run_cli(
            *verify_args(emu.base_url, "--wait", "0", "--summary", str(tmp_path / "v.json")), str(results)
        )
    assert done.code == 1, done.stderr
    verdicts = done.lines
    assert len(verdicts) == len(read_lines(results)) == len(IDS) + 2
    counts = Counter(line["verdict"] for line in verdicts)
    assert counts == {"gone": len(IDS) + 1, "not_deleted": 1}
    bad = next(line for line in verdicts if line["verdict"] == "not_deleted")
    assert bad["id"] == "not a uri" and bad["checks"] == 0 and "invalid" in bad["error"]
    assert all(
        set(line) >= {"id", "verdict", "ok", "checks", "evidence", "log", "error", "line", "ts"} for line in verdicts
    )
    summary = orjson.loads((tmp_path / "v.json").read_bytes())
    assert summary["verification"]["verdicts"] == dict(sorted(counts.items()))
    assert "verify coveo" in done.stderr and "gone" in done.stderr


async def test_delete_then_verify_exits_0_only_when_every_verdict_is_gone(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        args = ["coveo", "delete", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE, "--rate", "0"]
        summary = tmp_path / "s.json"
        done = await run_cli(*args, *POLL, "--verify", str(tmp_path / "v.jsonl"), "--summary", str(summary), str(ids))
        left = emu.documents
    assert done.code == 0, done.stderr
    assert left == []
    verdicts = read_lines(tmp_path / "v.jsonl")
    assert {line["id"] for line in verdicts} == set(IDS) and all(line["verdict"] == "gone" for line in verdicts)
    doc = orjson.loads(summary.read_bytes())
    assert doc["outcomes"] == {"accepted": len(IDS)} and doc["verification"]["verdicts"] == {"gone": len(IDS)}
    assert doc["exit_code"] == 0


async def test_delete_then_verify_reports_downstream_failures_and_exits_1(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    config = EmulatorConfig(delete_fail_rate=0.3, seed=5)
    async with run_emulator(config, docs=IDS) as emu:
        args = ["coveo", "delete", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE, "--rate", "0"]
        done = await run_cli(*args, *POLL, "--wait", "0.3s", "--verify", str(tmp_path / "v.jsonl"), str(ids))
        left = set(emu.documents)
    assert done.code == 1
    verdicts = {line["id"]: line for line in read_lines(tmp_path / "v.jsonl")}
    failed = {i for i, line in verdicts.items() if line["verdict"] == "failed"}
    assert failed == left and failed
    assert all(verdicts[i]["log"]["result"] == "ERROR" for i in failed)


async def test_verify_with_dry_run_is_a_usage_error(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS[:2])
    done = await run_cli(
        "coveo", "delete", "--org", ORG, "--source", SOURCE, "--dry-run", "--verify", str(tmp_path / "v"), str(ids)
    )
    assert done.code == 2 and "--dry-run" in done.stderr
    assert not (tmp_path / "v").exists()


async def test_a_wrong_search_key_aborts_with_exit_3_naming_the_key(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    async with run_emulator(EmulatorConfig(api_key=KEY), docs=[]) as emu:
        env = cli_env({"COVEO_SEARCH_API_KEY": "wrong-search-key"})
        done = await run_cli(*verify_args(emu.base_url), str(ids), env=env)
        searches = emu.stats()["searches"]
    assert done.code == 3, done.stderr
    assert "COVEO_SEARCH_API_KEY" in done.stderr and "wrong-search-key" not in done.stderr
    assert searches <= 1  # the first 401 stops the run: 30 ids in one query


async def test_a_throttled_search_is_paced_and_loses_no_verdict(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    config = EmulatorConfig(quota=parse_quota("3/1s"), retry_after=1)
    async with run_emulator(config, docs=[]) as emu:
        done = await run_cli(
            *verify_args(emu.base_url, "--rate", "0", "--concurrency", "8", "--no-logs", "--batch-size", "5"),
            "-",
            stdin=(tmp_path / "ids.txt").read_bytes().replace(b"/v/", b"/w/") + ids.read_bytes(),
        )
        stats = emu.stats()
    assert done.code == 0, done.stderr
    assert len(done.lines) == 2 * len(IDS) and all(line["verdict"] == "gone" for line in done.lines)
    assert stats["throttled"] >= 1  # 429s were met, each paused the run and its queries were asked again
    assert "throttled" in done.stderr


async def test_the_logs_api_refused_is_one_warning_and_verification_goes_on(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS[:5])
    async with run_emulator(EmulatorConfig(logs_denied=True), docs=IDS[:2]) as emu:
        done = await run_cli(*verify_args(emu.base_url, "--wait", "0.3s"), str(ids))
    assert done.code == 1
    assert done.stderr.count("Logs API refused") == 1
    assert Counter(line["verdict"] for line in done.lines) == {"gone": 3, "present": 2}


async def test_ctrl_c_exits_130_with_every_decided_verdict_written(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    async with run_emulator(EmulatorConfig(), docs=IDS[:10]) as emu:
        proc = await start_cli(*verify_args(emu.base_url, "--wait", "10m", "-o", str(tmp_path / "v.jsonl"), str(ids)))
        out = tmp_path / "v.jsonl"  # the first round's 20 gone verdicts are written, the 10 present wait
        err = await interrupt_when(proc, lambda: out.exists() and len(read_lines(out)) == 20)
    assert proc.returncode == 130, err
    lines = read_lines(tmp_path / "v.jsonl")
    assert len(lines) == 20 and all(line["verdict"] == "gone" for line in lines)
    assert {line["id"] for line in lines} == set(IDS[10:])


async def test_velt_and_http_verify_from_the_command_line(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["doc-1", "doc-2", "doc 3/x"])
    env = cli_env({"VELT_API_KEY": KEY, "VELT_AUTH_TOKEN": "t", "TOKEN": KEY})
    async with run_emulator(EmulatorConfig(), docs=["doc-2", "doc 3/x"]) as emu:
        velt = await run_cli(
            "velt", "verify", "--base-url", emu.base_url, "--org", "o", "--wait", "0", str(ids), env=env
        )
        http = await run_cli(
            "http",
            "verify",
            "--url",
            f"{emu.base_url}/rest/docs/{{id}}",
            "--header",
            "Authorization: Bearer ${TOKEN}",
            "--wait",
            "0",
            str(ids),
            env=env,
        )
        deleted = await run_cli(
            "http",
            "delete",
            "--url",
            f"{emu.base_url}/rest/docs/{{id}}",
            "--header",
            "Authorization: Bearer ${TOKEN}",
            *POLL,
            "--verify",
            str(tmp_path / "v.jsonl"),
            str(ids),
            env=env,
        )
    for done in (velt, http):
        assert done.code == 1, done.stderr
        assert {line["id"]: line["verdict"] for line in done.lines} == {
            "doc-1": "gone",
            "doc-2": "present",
            "doc 3/x": "present",
        }
    assert deleted.code == 0, deleted.stderr
    assert all(line["verdict"] == "gone" for line in read_lines(tmp_path / "v.jsonl"))


@pytest.mark.parametrize("flag", ["--resume", "--dry-run", "--max-requests"])
async def test_verify_has_no_delete_only_options(flag: str) -> None:
    done = await run_cli("coveo", "verify", "--org", ORG, flag, "x")
    assert done.code == 2 and f"no such option '{flag}'" in done.stderr


@pytest.mark.slow
async def test_verify_runs_share_a_rate_store_on_their_own_key(tmp_path: Path) -> None:
    import redis.asyncio

    from tests.redis_server import RedisServer

    server = RedisServer(tmp_path)
    server.start()
    try:
        ids = [f"https://q.example/{n}" for n in range(60)]
        halves = [write_ids(tmp_path / f"ids-{n}.txt", ids[n::2]) for n in range(2)]
        env = cli_env({"BULKDELETE_RATE_STORE": server.url})
        async with run_emulator(EmulatorConfig(quota=parse_quota("10/1s")), docs=[]) as emu:
            args = verify_args(emu.base_url, "--rate", "10", "--batch-size", "1", "--no-logs", "--wait", "0")
            runs = await asyncio.gather(*(run_cli(*args, str(half), env=env) for half in halves))
            stats = emu.stats()
        async with redis.asyncio.Redis(port=server.port) as client:
            keys = sorted(key.decode() if isinstance(key, bytes) else key for key in await client.keys("*"))
    finally:
        server.stop()
    assert [run.code for run in runs] == [0, 0], [run.stderr for run in runs]
    assert sum(len(run.lines) for run in runs) == len(ids)
    assert stats["throttled"] == 0  # two processes, 60 queries, one budget of 10/s: never over the quota
    assert keys == [f"bulkdelete:coveo:{ORG}:verify"]


async def test_a_verify_file_holding_an_earlier_runs_verdicts_is_refused_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS[:3])
    (tmp_path / "v.jsonl").write_text('{"id": "earlier"}\n')
    async with run_emulator(EmulatorConfig(), docs=IDS[:3]) as emu:
        args = ["coveo", "delete", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE]
        done = await run_cli(*args, "--verify", str(tmp_path / "v.jsonl"), str(ids))
        requests = emu.stats()["requests"]
    assert done.code == 2 and "--verify" in done.stderr and "--overwrite" in done.stderr
    assert requests == 0
    assert (tmp_path / "v.jsonl").read_text() == '{"id": "earlier"}\n'
