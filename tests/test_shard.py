"""``--shard I/N`` (SPEC §12): N processes over one input take every record exactly once, by a pinned hash."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulkdelete import Deletion, Secret
from bulkdelete.emulator import EmulatorConfig, run_emulator
from bulkdelete.errors import ConfigError
from bulkdelete.input.shard import Shard, shard_of
from bulkdelete.records import Record
from bulkdelete.targets.coveo import CoveoItemTarget, CoveoSettings
from tests.conftest import KEY, ORG, SOURCE, TRICKY_URIS, cli_env, collect, coveo_args, options, read_lines, run_cli

UNICODE = ["https://x.com/café", "https://例え.jp/ドキュメント", "https://x.com/😀 emoji", "https://x.com/ﬁ"]
SPACED = [f"https://x.com/doc {n} with spaces" for n in range(20)]
MANY = [f"https://site.example/doc/{n}?q={n}&r=#{n}+%{n:02x}" for n in range(60)]
IDS = TRICKY_URIS + UNICODE + SPACED + MANY


def tricky_input() -> bytes:
    """Every id, CRLF line ends throughout, with blanks, comments, duplicates and one line that is not UTF-8."""
    lines = [b"# an export, with comments", b""]
    for n, record_id in enumerate(IDS):
        lines.append(b"  " + record_id.encode() + b"\t")
        if n % 7 == 0:
            lines.append(b"")
            lines.append(b"# comment " + str(n).encode())
        if n % 11 == 0:
            lines.append(record_id.encode())  # a duplicate, later in the input
        if n == 30:
            lines.append(b"https://x.com/caf\xe9-latin-1")  # undecodable: shard 0
    return b"\r\n".join(lines) + b"\r\n"


def keyed(lines: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    return sorted((line["id"], line["line"], line["outcome"]) for line in lines)


@pytest.mark.parametrize("count", [1, 3, 4])
async def test_n_processes_split_the_input_with_no_overlap_and_no_gap(tmp_path: Path, count: int) -> None:
    source = tmp_path / "ids.txt"
    source.write_bytes(tricky_input())
    async with run_emulator(EmulatorConfig(), docs=IDS) as whole:
        single = await run_cli(*coveo_args(whole.base_url, "--rate", "0", str(source)))
        single_requests = whole.stats()["requests"]
    assert single.code == 1, single.stderr  # the undecodable line is invalid, the rest ok
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        runs = await asyncio.gather(
            *(
                run_cli(
                    *coveo_args(emu.base_url, "--rate", "0", "--shard", f"{i}/{count}", str(source)),
                    "--summary",
                    str(tmp_path / f"summary-{i}.json"),
                )
                for i in range(count)
            )
        )
        sharded_requests = emu.stats()["requests"]
        left = emu.stats()["documents_left"]
    union = [line for run in runs for line in run.lines]
    assert keyed(union) == keyed(single.lines)  # the same (id, line, outcome) set, each exactly once
    assert len(set(keyed(union))) == len(union)
    assert sharded_requests == single_requests and left == 0
    summaries = [orjson.loads((tmp_path / f"summary-{i}.json").read_bytes()) for i in range(count)]
    total = len(single.lines)
    for i, (run, summary) in enumerate(zip(runs, summaries, strict=True)):
        assert summary["shard"] == f"{i}/{count}"
        assert summary["records"] == len(run.lines)
        assert summary["records"] + summary["other_shards"] == total
        assert summary["unsent"] == 0
        assert all(shard_of(line["id"], count) == i for line in run.lines if line["outcome"] != "invalid")
    assert [line["line"] for line in runs[0].lines if line["outcome"] == "invalid"] == [
        line["line"] for line in single.lines if line["outcome"] == "invalid"
    ]  # the undecodable line: shard 0, at its real line number


def test_the_shard_is_the_big_endian_blake2b_64_digest_mod_n() -> None:
    """Pinned against coreutils ``printf %s ID | b2sum -l 64``: mod 4096 is the digest's last three hex digits."""
    pinned = {
        "https://x.com/a": "bc868402783f372f",
        "file://dir/100%25+plus": "df70a9d9ede0d57d",
        "https://例え.jp/ドキュメント": "30235097ce4b11a9",
    }
    for record_id, digest in pinned.items():
        assert shard_of(record_id, 4096) == int(digest[-3:], 16)
        assert shard_of(record_id, 7) == int(digest, 16) % 7
    assert [shard_of(i, 4096) for i in pinned] == [0x72F, 0x57D, 0x1A9]
    assert shard_of("https://x.com/a", 1) == 0


@given(st.text(min_size=1), st.integers(min_value=1, max_value=4096))
def test_exactly_one_shard_owns_each_record(record_id: str, count: int) -> None:
    record = Record(record_id, 1)
    owners = [i for i in range(count) if Shard(i, count).owns(record)] if count <= 64 else []
    assert owners == ([shard_of(record_id, count)] if count <= 64 else [])
    assert 0 <= shard_of(record_id, count) < count


def test_a_record_with_a_problem_belongs_to_shard_0() -> None:
    bad = Record("https://x.com/caf\\xe9", 3, None, "undecodable bytes (not UTF-8)")
    assert Shard(0, 5).owns(bad) and not any(Shard(i, 5).owns(bad) for i in range(1, 5))


@pytest.mark.parametrize("text", ["4/4", "-1/4", "0/0", "0/4097", "a/b", "1", "1/2/3", "", " / "])
def test_a_bad_shard_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="--shard must be I/N"):
        Shard.parse(text)


def test_a_shard_reads_back_as_typed() -> None:
    assert Shard.parse(" 3 / 8 ") == Shard(3, 8) and str(Shard(3, 8)) == "3/8"
    assert Shard.parse("4095/4096") == Shard(4095, 4096)


@pytest.mark.parametrize("value", ["4/4", "-1/4", "0/0", "0/4097", "one/two"])
async def test_a_bad_shard_exits_2_before_anything_is_sent(tmp_path: Path, value: str) -> None:
    source = tmp_path / "ids.txt"
    source.write_bytes(tricky_input())
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        by_flag = await run_cli(*coveo_args(emu.base_url, f"--shard={value}", str(source)))
        by_env = await run_cli(*coveo_args(emu.base_url, str(source)), env=cli_env({"BULKDELETE_SHARD": value}))
        sent = emu.stats()["requests"]
    for done in (by_flag, by_env):
        assert done.code == 2 and done.stdout == b"", done.stderr
        assert "--shard must be I/N" in done.stderr
    assert sent == 0


async def test_bulkdelete_shard_from_the_environment_and_the_flag_winning(tmp_path: Path) -> None:
    source = tmp_path / "ids.txt"
    source.write_bytes(tricky_input())
    summary = tmp_path / "summary.json"
    common = ["--dry-run", "--summary", str(summary), str(source)]
    from_env = await run_cli(
        "coveo", "delete", "--org", ORG, "--source", SOURCE, *common, env=cli_env({"BULKDELETE_SHARD": "1/3"})
    )
    assert from_env.code == 0, from_env.stderr
    assert orjson.loads(summary.read_bytes())["shard"] == "1/3"
    assert {line["outcome"] for line in from_env.lines} == {"planned", "duplicate"}
    assert all(shard_of(line["id"], 3) == 1 for line in from_env.lines)
    flag = await run_cli(
        "coveo", "delete", "--org", ORG, "--source", SOURCE, "--shard", "2/3", *common,
        env=cli_env({"BULKDELETE_SHARD": "1/3"}),
    )  # fmt: skip
    assert flag.code == 0 and orjson.loads(summary.read_bytes())["shard"] == "2/3"
    assert all(shard_of(line["id"], 3) == 2 for line in flag.lines)


async def test_without_shard_the_summary_says_so(tmp_path: Path) -> None:
    source = tmp_path / "ids.txt"
    source.write_bytes(b"https://x.com/a\n")
    summary = tmp_path / "summary.json"
    done = await run_cli("coveo", "delete", "--org", ORG, "--source", SOURCE, "--dry-run", "--summary", str(summary),
                         str(source))  # fmt: skip
    assert done.code == 0
    doc = orjson.loads(summary.read_bytes())
    assert doc["shard"] is None and doc["other_shards"] == 0


async def test_resume_works_per_shard(tmp_path: Path) -> None:
    """A shard's journal finishes that shard: the second run skips what the first did and sends nothing more."""
    source = tmp_path / "ids.txt"
    source.write_bytes(tricky_input())
    journal = tmp_path / "1.jsonl"
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        args = coveo_args(emu.base_url, "--rate", "0", "--shard", "1/3", "--resume", str(journal), str(source))
        first = await run_cli(*args)
        sent = emu.stats()["requests"]
        again = await run_cli(*args)
        assert emu.stats()["requests"] == sent
    assert first.code == 0 and again.code == 0, again.stderr
    lines = read_lines(journal)
    assert lines and all(shard_of(line["id"], 3) == 1 for line in lines)
    accepted = [line["id"] for line in lines if line["outcome"] == "accepted"]
    assert len(accepted) == len(set(accepted)) == sent  # each of this shard's ids deleted once, over both runs


async def test_the_library_shards_its_inputs_and_refuses_a_shard_of_the_callers_ids(tmp_path: Path) -> None:
    source = tmp_path / "ids.txt"
    source.write_text("\n".join(MANY) + "\n", encoding="utf-8")
    target = CoveoItemTarget(CoveoSettings("http://127.0.0.1:9", ORG, SOURCE, Secret(KEY)))
    results, summary, code = await collect(target, options([source], shard=Shard(2, 4), dry_run=True))
    assert code == 0
    assert sorted(r.record.id for r in results) == sorted(i for i in MANY if shard_of(i, 4) == 2)
    assert summary["other_shards"] == len(MANY) - len(results) > 0
    with pytest.raises(ValueError, match="shard_of"):
        async with Deletion(target, MANY, options([], shard=Shard(2, 4), dry_run=True)) as run:
            [result async for result in run]


async def test_an_early_stop_counts_only_this_shards_records_as_unsent(tmp_path: Path) -> None:
    source = tmp_path / "ids.txt"
    source.write_text("\n".join(MANY) + "\n", encoding="utf-8")
    summary = tmp_path / "summary.json"
    mine = [i for i in MANY if shard_of(i, 2) == 1]
    async with run_emulator(EmulatorConfig(), docs=MANY) as emu:
        args = ["--rate", "0", "--concurrency", "1", "--max-requests", "5", "--shard", "1/2", "--summary", str(summary)]
        done = await run_cli(*coveo_args(emu.base_url, *args, str(source)))
    assert done.code == 4, done.stderr
    doc = orjson.loads(summary.read_bytes())
    assert doc["records"] == len(done.lines) == 5
    assert doc["unsent"] == len(mine) - 5 and doc["unsent_exact"] is True
