"""``coveo delete --where EXPR`` as users run it: the real CLI against the real emulator (SPEC §13)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio as redis

from bulkdelete.emulator import EmulatorConfig, run_emulator
from bulkdelete.emulator.store import DocSpec
from bulkdelete.input.shard import shard_of
from tests.conftest import (
    KEY,
    ORG,
    SOURCE,
    Completed,
    cli_env,
    open_terminal,
    read_lines,
    run_cli,
    run_on_terminal,
    start_cli,
    write_ids,
)
from tests.redis_server import REDIS_SERVER, RedisServer, free_port
from tests.test_metrics import final_scrape, sample

OLD, NEW = 1685577600000, 1717200000000  # 2023-06-01 and 2024-06-01, epoch ms
OLD_WEB = [f"https://www.example.com/old/{n}" for n in range(40)]
NEW_WEB = [f"https://www.example.com/new/{n}" for n in range(15)]
OLD_OTHER = [f"https://intranet.example.com/old/{n}" for n in range(10)]
DOCS: list[Any] = (
    [DocSpec(i, "web", OLD, fields=(("author", "jdoe" if n % 4 == 0 else "asmith"),)) for n, i in enumerate(OLD_WEB)]
    + [DocSpec(i, "web", NEW) for i in NEW_WEB]
    + [DocSpec(i, "intranet", OLD) for i in OLD_OTHER]
)
BEFORE_2024 = "@date<2024/01/01"
POLL = ("--interval", "0.1s", "--logs-interval", "0")


def where_args(base_url: str, expr: str, *extra: str) -> list[str]:
    return [
        "coveo", "delete", "--base-url", base_url, "--org", ORG, "--source", SOURCE, "--source-name", "web",
        "--where", expr, "--rate", "0", "--list-rate", "0", *extra,
    ]  # fmt: skip


def accepted(done: Completed) -> list[str]:
    return [line["id"] for line in done.lines if line["outcome"] == "accepted"]


def nothing_deleted(stats: dict[str, Any]) -> bool:
    """No delete reached the emulator: every request it saw was a search."""
    return bool(stats["deleted"] == 0 and stats["pending_deletes"] == 0 and stats["requests"] == stats["searches"])


async def test_where_deletes_exactly_the_matching_items_of_its_source_and_says_the_count() -> None:
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        done = await run_cli(*where_args(emu.base_url, BEFORE_2024, "--yes"))
        left = set(emu.documents)
    assert done.code == 0, done.stderr
    assert sorted(accepted(done)) == sorted(OLD_WEB)
    assert left == set(NEW_WEB) | set(OLD_OTHER)
    assert "bulkdelete: --where matches 40 items of source web" in done.stderr
    assert sorted(line["line"] for line in done.lines) == list(range(1, 41))


async def test_a_field_expression_deletes_one_users_documents() -> None:
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        done = await run_cli(*where_args(emu.base_url, '@author=="jdoe"', "--yes"))
        left = set(emu.documents)
    assert done.code == 0, done.stderr
    assert set(accepted(done)) == set(OLD_WEB[::4])
    assert left == set(DOCS_IDS) - set(OLD_WEB[::4])


DOCS_IDS = [doc.id for doc in DOCS]


async def test_more_than_max_delete_matching_exits_2_and_deletes_nothing() -> None:
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        done = await run_cli(*where_args(emu.base_url, BEFORE_2024, "--yes", "--max-delete", "39"))
        stats = emu.stats()
    assert done.code == 2, done.stderr
    assert "more than --max-delete 39" in done.stderr and "nothing deleted" in done.stderr
    assert nothing_deleted(stats) and stats["documents_left"] == len(DOCS)
    assert done.stdout == b""


async def test_max_delete_at_the_count_proceeds() -> None:
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        done = await run_cli(*where_args(emu.base_url, BEFORE_2024, "--yes", "--max-delete", "40"))
    assert done.code == 0, done.stderr
    assert len(accepted(done)) == 40


async def test_without_a_terminal_and_without_yes_it_refuses_and_deletes_nothing() -> None:
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        done = await run_cli(*where_args(emu.base_url, BEFORE_2024))
        stats = emu.stats()
    assert done.code == 2, done.stderr
    assert "delete 40 items of source web?" in done.stderr and "pass --yes" in done.stderr
    assert nothing_deleted(stats) and done.stdout == b""


async def test_a_dry_run_lists_and_writes_planned_lines_and_sends_no_delete() -> None:
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        done = await run_cli(*where_args(emu.base_url, BEFORE_2024, "--dry-run"))
        stats = emu.stats()
    assert done.code == 0, done.stderr
    assert Counter(line["outcome"] for line in done.lines) == {"planned": 40}
    assert {line["id"] for line in done.lines} == set(OLD_WEB)
    assert nothing_deleted(stats) and stats["searches"] > 0


async def test_an_expression_the_api_rejects_exits_2_with_its_message_and_deletes_nothing() -> None:
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        done = await run_cli(*where_args(emu.base_url, "(@date<2024/01/01", "--yes"))
        stats = emu.stats()
    assert done.code == 2, done.stderr
    assert "the Search API refused the query" in done.stderr and "400" in done.stderr
    assert nothing_deleted(stats) and done.stdout == b""


async def test_except_keeps_the_exports_ids_and_deletes_the_orphans(tmp_path: Path) -> None:
    export = write_ids(tmp_path / "export.txt", OLD_WEB[:25])
    summary = tmp_path / "s.json"
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        args = where_args(emu.base_url, BEFORE_2024, "--yes", "--except", str(export), "--summary", str(summary))
        done = await run_cli(*args)
        left = set(emu.documents)
    assert done.code == 0, done.stderr
    assert sorted(accepted(done)) == sorted(OLD_WEB[25:])
    assert left == set(OLD_WEB[:25]) | set(NEW_WEB) | set(OLD_OTHER)
    selection = orjson.loads(summary.read_bytes())["selection"]
    assert selection["listed"] == 15 and selection["excepted"] == 25 and selection["total_count"] == 40


async def test_an_except_file_without_any_id_exits_2(tmp_path: Path) -> None:
    empty = write_ids(tmp_path / "empty.txt", ["# nothing here"])
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        done = await run_cli(*where_args(emu.base_url, BEFORE_2024, "--yes", "--except", str(empty)))
        stats = emu.stats()
    assert done.code == 2 and "no id in it" in done.stderr
    assert stats["requests"] == 0


async def test_input_files_with_where_are_a_usage_error(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", OLD_WEB[:1])
    done = await run_cli(*where_args("http://127.0.0.1:9", BEFORE_2024, "--yes", str(ids)))
    assert done.code == 2 and "takes no input FILE" in done.stderr


async def test_where_options_alone_are_a_usage_error(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", OLD_WEB[:1])
    args = ["coveo", "delete", "--base-url", "http://127.0.0.1:9", "--org", ORG, "--source", SOURCE]
    done = await run_cli(*args, "--max-delete", "5", str(ids))
    assert done.code == 2 and "--max-delete: only with --where" in done.stderr


async def test_the_summary_has_the_selection(tmp_path: Path) -> None:
    summary = tmp_path / "s.json"
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        done = await run_cli(*where_args(emu.base_url, BEFORE_2024, "--yes", "--summary", str(summary)))
    assert done.code == 0, done.stderr
    doc = orjson.loads(summary.read_bytes())
    selection = doc["selection"]
    assert set(selection) == {"api", "source", "aq", "total_count", "listed", "excepted", "queries", "elapsed_s"}
    assert selection["api"] == "coveo" and selection["source"] == "web" and selection["aq"] == BEFORE_2024
    assert selection["total_count"] == selection["listed"] == 40 and selection["excepted"] == 0
    assert selection["queries"] >= 3  # the count, the two bounds, the pages
    assert doc["outcomes"] == {"accepted": 40} and doc["exit_code"] == 0


async def test_resume_after_a_budget_stop_finishes_the_rest_and_deletes_no_id_twice(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    config = EmulatorConfig(processing_delay_s=600)  # deleted items stay listed: the journal must skip them
    async with run_emulator(config, docs=DOCS) as emu:
        args = where_args(emu.base_url, BEFORE_2024, "--yes", "--resume", str(journal), "--concurrency", "2")
        first = await run_cli(*args, "--max-requests", "12")
        second = await run_cli(*args)
        pending = emu.stats()["pending_deletes"]
    assert first.code == 4, first.stderr
    assert second.code == 0, second.stderr
    ids = [line["id"] for line in read_lines(journal)]
    assert sorted(ids) == sorted(OLD_WEB)  # each once: none deleted twice, none left
    assert pending == 40
    assert "resuming: 12 ids already ok" in second.stderr or "resuming:" in second.stderr


async def test_two_shards_run_at_once_delete_exactly_the_selection_between_them(tmp_path: Path) -> None:
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        shards = [("--yes", "--shard", f"{i}/2", "--summary", str(tmp_path / f"{i}.json")) for i in range(2)]
        runs = [run_cli(*where_args(emu.base_url, BEFORE_2024, *extra)) for extra in shards]
        done = await asyncio.gather(*runs)
        left = set(emu.documents)
    assert [d.code for d in done] == [0, 0], [d.stderr for d in done]
    first, second = (set(accepted(d)) for d in done)
    assert not first & second and first | second == set(OLD_WEB)
    assert all(shard_of(i, 2) == 0 for i in first) and all(shard_of(i, 2) == 1 for i in second)
    assert left == set(NEW_WEB) | set(OLD_OTHER)
    summary = orjson.loads((tmp_path / "0.json").read_bytes())
    assert summary["shard"] == "0/2" and summary["records"] == len(first)
    assert summary["records"] + summary["other_shards"] == summary["selection"]["listed"]


async def test_batch_mode_deletes_what_where_lists() -> None:
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        done = await run_cli(*where_args(emu.base_url, BEFORE_2024, "--yes", "--mode", "batch"))
        left = set(emu.documents)
    assert done.code == 0, done.stderr
    assert Counter(line["outcome"] for line in done.lines) == {"batched": 40}
    assert left == set(NEW_WEB) | set(OLD_OTHER)


async def test_verify_after_where_gives_a_verdict_for_every_deleted_item(tmp_path: Path) -> None:
    verdicts, summary = tmp_path / "v.jsonl", tmp_path / "s.json"
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        args = where_args(
            emu.base_url, BEFORE_2024, "--yes", *POLL, "--verify", str(verdicts), "--summary", str(summary)
        )
        done = await run_cli(*args)
    assert done.code == 0, done.stderr
    lines = read_lines(verdicts)
    assert {line["id"] for line in lines} == set(OLD_WEB) and all(line["verdict"] == "gone" for line in lines)
    doc = orjson.loads(summary.read_bytes())
    assert doc["verification"]["verdicts"] == {"gone": 40} and doc["selection"]["listed"] == 40


async def test_nothing_matching_deletes_nothing_and_exits_0() -> None:
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        done = await run_cli(*where_args(emu.base_url, "@date<2000/01/01"))  # no --yes: nothing to confirm
        stats = emu.stats()
    assert done.code == 0, done.stderr
    assert "--where matches 0 items of source web" in done.stderr
    assert nothing_deleted(stats) and done.stdout == b""


@pytest.mark.parametrize("source_name", [None, "web"])
async def test_the_source_name_is_looked_up_from_its_id_unless_given(source_name: str | None) -> None:
    web_id = "myorg-web01"  # @source holds the name; --source is the id the Push API and the Sources API know
    args = ["coveo", "delete", "--base-url", "", "--org", ORG, "--source", web_id, "--where", BEFORE_2024, "--yes"]
    args += ["--rate", "0", "--list-rate", "0"] + (["--source-name", source_name] if source_name else [])
    async with run_emulator(EmulatorConfig(source_ids=(("web", web_id),)), docs=DOCS) as emu:
        args[3] = emu.base_url
        done = await run_cli(*args)
        stats, left = emu.stats(), set(emu.documents)
    assert done.code == 0, done.stderr
    assert sorted(accepted(done)) == sorted(OLD_WEB) and left == set(NEW_WEB) | set(OLD_OTHER)
    assert stats["source_lookups"] == (1 if source_name is None else 0)


async def answer_on_a_terminal(base_url: str, answer: bytes) -> tuple[int | None, bytes]:
    """Run --where with stdin and stderr on a pseudo-terminal, answer its question; the exit status, the screen."""
    leader, follower = open_terminal(200)
    proc = await start_cli(*where_args(base_url, BEFORE_2024), "--no-progress", stdin=follower, stderr=follower)
    os.close(follower)
    screen = b""
    try:
        while b"[y/N]" not in screen:
            screen += await asyncio.wait_for(asyncio.to_thread(os.read, leader, 4096), 10)
        os.write(leader, answer)
        assert proc.stdout is not None
        await asyncio.wait_for(proc.stdout.read(), 20)
        await asyncio.wait_for(proc.wait(), 20)
        with contextlib.suppress(OSError, TimeoutError):
            screen += await asyncio.wait_for(asyncio.to_thread(os.read, leader, 65536), 2)
    finally:
        os.close(leader)
    return proc.returncode, screen


async def test_on_a_terminal_a_declined_question_deletes_nothing_and_exits_2() -> None:
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        code, screen = await answer_on_a_terminal(emu.base_url, b"n\n")
        stats = emu.stats()
    assert code == 2
    assert b"delete 40 items of source web? [y/N]" in screen and b"declined: nothing deleted" in screen
    assert nothing_deleted(stats)


async def test_on_a_terminal_yes_deletes_the_selection() -> None:
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        code, _ = await answer_on_a_terminal(emu.base_url, b"y\n")
        left = set(emu.documents)
    assert code == 0
    assert left == set(NEW_WEB) | set(OLD_OTHER)


@pytest.mark.skipif(not Path(REDIS_SERVER).exists(), reason="needs redis-server (CI installs it)")
async def test_with_a_rate_store_the_listing_takes_the_search_budget_and_the_deletes_the_push_one(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
            args = where_args(emu.base_url, BEFORE_2024, "--yes", "--summary", str(tmp_path / "s.json"))
            args[args.index("--rate") + 1], args[args.index("--list-rate") + 1] = "200", "50"
            done = await run_cli(*args, env=cli_env({"BULKDELETE_RATE_STORE": server.url}))
        client = redis.Redis.from_url(server.url, decode_responses=True)
        keys = sorted(str(key) for key in await client.keys("bulkdelete:*"))
        await client.aclose()
    finally:
        server.stop()
    assert done.code == 0, done.stderr
    assert keys == [f"bulkdelete:coveo:{ORG}", f"bulkdelete:coveo:{ORG}:verify"]
    assert orjson.loads((tmp_path / "s.json").read_bytes())["rate_key"] == f"bulkdelete:coveo:{ORG}"


async def test_metrics_count_the_listing_and_the_deletes_of_a_where_run() -> None:
    """``/metrics`` of ``--where``: the deletes' outcomes, the items listed, and the listing's queries beside the
    deletes' answers (SPEC §14)."""
    port = free_port()
    env = cli_env({"BULKDELETE_METRICS_ADDR": f"127.0.0.1:{port}", "BULKDELETE_METRICS_LINGER": "30s"})
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        proc = await start_cli(*where_args(emu.base_url, BEFORE_2024, "--yes"), env=env)
        text = await final_scrape(f"http://127.0.0.1:{port}/metrics")
        proc.terminate()  # ends the linger
        out, err = await asyncio.wait_for(proc.communicate(), 20)
        searches = emu.state.stats.searches
    assert proc.returncode == 0, err.decode()
    assert len(out.splitlines()) == len(OLD_WEB)
    assert sample(text, 'bulkdelete_records_total{outcome="accepted"}') == len(OLD_WEB)
    assert sample(text, "bulkdelete_listed_total") == len(OLD_WEB)
    assert sample(text, "bulkdelete_records_expected") == len(OLD_WEB)  # the count, not input lines (there are none)
    assert sample(text, 'bulkdelete_requests_total{code="202"}') == len(OLD_WEB)
    assert sample(text, 'bulkdelete_requests_total{code="200"}') == searches
    assert KEY not in text


async def test_progress_counts_the_deletes_up_to_the_count() -> None:
    """The count is the total progress counts up to: the bar on a terminal, the logged lines' ``total`` elsewhere."""
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        code, out, screen = await run_on_terminal(*where_args(emu.base_url, BEFORE_2024, "--yes", "--rate", "100"))
    assert code == 0, screen
    assert len(out.splitlines()) == len(OLD_WEB)
    assert "40/40" in screen and "ok 40" in screen and "\r" in screen
    async with run_emulator(EmulatorConfig(), docs=DOCS) as emu:
        args = where_args(
            emu.base_url, BEFORE_2024, "--yes", "--rate", "40", "--log-every", "0.2", "--log-format", "json"
        )
        done = await run_cli(*args)
    assert done.code == 0, done.stderr
    progress = [e for e in map(orjson.loads, done.stderr.splitlines()) if e["event"] == "progress"]
    assert progress and {e["total"] for e in progress} == {len(OLD_WEB)}, progress
