"""``bulkdelete http delete``: the generic REST target, end to end against the emulator's REST endpoint."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from bulkdelete.emulator import EmulatorConfig, run_emulator
from bulkdelete.emulator.config import Quota
from bulkdelete.errors import ConfigError
from bulkdelete.rate.backoff import BackoffPolicy
from bulkdelete.records import Outcome
from bulkdelete.secrets import Secret
from bulkdelete.targets.http import HttpSettings, HttpTarget, http_settings, parse_gone_statuses, parse_header
from bulkdelete.targets.urls import UrlTemplate
from tests.conftest import KEY, TRICKY_URIS, cli_env, collect, options, run_cli, write_ids

# Ids that are URL syntax, or that a URL normalizer would rewrite: each must reach the server exactly as read.
TRICKY_IDS = [
    *TRICKY_URIS,
    "a/b",
    "a/../b",
    "..",
    ".",
    "100%",
    "100%2F",
    "+plus+",
    "?q=1",
    "a#top",
    "ä ö ü",
    "emoji 🙂",
    "semi;colon,comma=eq@at:colon",
    "~tilde_under-dash.dot",
]


def target(base_url: str, *, key: str = KEY, gone: str = "404,410", query: bool = False) -> HttpTarget:
    url = f"{base_url}/rest/docs/{{id}}" + ("?ref={id}" if query else "")
    settings = http_settings(url, headers=[f"Authorization: Bearer {key}"], gone=gone)
    return HttpTarget(settings)


@pytest.mark.parametrize("query", [False, True])
async def test_tricky_ids_are_deleted_exactly_as_read_and_absent_ones_are_not_found(
    tmp_path: Path, query: bool
) -> None:
    absent = ["gone-1", "gone/2"]
    ids = write_ids(tmp_path / "ids.txt", [*TRICKY_IDS, *absent])
    async with run_emulator(EmulatorConfig(), docs=[*TRICKY_IDS, "keep"]) as emu:
        results, summary, code = await collect(target(emu.base_url, query=query), options([ids]))
        assert emu.documents == ["keep"]
    assert code == 0
    assert {r.record.id: r.outcome for r in results} == {
        **dict.fromkeys(TRICKY_IDS, Outcome.DELETED),
        **dict.fromkeys(absent, Outcome.NOT_FOUND),
    }
    assert {(r.outcome, r.status) for r in results} == {(Outcome.DELETED, 204), (Outcome.NOT_FOUND, 404)}
    assert summary["outcomes"] == {"deleted": len(TRICKY_IDS), "not_found": 2}


async def test_without_gone_statuses_a_404_is_failed(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["here", "absent"])
    async with run_emulator(EmulatorConfig(), docs=["here"]) as emu:
        results, _, code = await collect(target(emu.base_url, gone="none"), options([ids]))
    assert code == 1
    by_id = {r.record.id: r for r in results}
    assert by_id["here"].outcome is Outcome.DELETED
    failed = by_id["absent"]
    assert (failed.outcome, failed.status, failed.attempts) == (Outcome.FAILED, 404, 1)
    assert failed.error is not None and failed.error.startswith("404 document_not_found: No document 'absent'")
    assert "(X-Request-ID emu-" in failed.error


async def test_faults_and_dropped_connections_are_retried_one_request_per_attempt(tmp_path: Path) -> None:
    docs = [f"doc {n}/x" for n in range(120)]
    ids = write_ids(tmp_path / "ids.txt", docs)
    async with run_emulator(EmulatorConfig(fail_rate=0.2, reset_rate=0.1, seed=7), docs=docs) as emu:
        results, _, code = await collect(target(emu.base_url), options([ids], max_attempts=20))
        stats = emu.stats()
        assert emu.documents == []
    assert code == 0
    assert Counter(r.outcome for r in results) == {Outcome.DELETED: 120}
    assert stats["faults"] > 0 and stats["resets"] > 0
    # aiohttp would silently re-send a DELETE on a dropped connection: every request on the wire is an attempt.
    assert sum(r.attempts for r in results) == stats["requests"]


async def test_a_429_pauses_and_retries_until_done(tmp_path: Path) -> None:
    docs = [f"d{n}" for n in range(60)]
    ids = write_ids(tmp_path / "ids.txt", docs)
    # 10 per 0.25 s with Retry-After: 1, capped to a 0.3 s pause so the test stays fast.
    config = EmulatorConfig(quota=Quota(10, 0.25), retry_after=1)
    backoff = BackoffPolicy(base=0.01, cap=0.05, retry_after_cap=0.3)
    async with run_emulator(config, docs=docs) as emu:
        opts = options([ids], concurrency=8, max_attempts=30, backoff=backoff)
        results, summary, code = await collect(target(emu.base_url), opts)
        stats = emu.stats()
    assert code == 0
    assert Counter(r.outcome for r in results) == {Outcome.DELETED: 60}
    assert stats["throttled"] > 0
    assert summary["throttled"] == stats["throttled"]
    assert summary["paused_s"] >= 0.3  # every worker waited the (capped) Retry-After


async def test_a_wrong_key_aborts_the_run(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [f"d{n}" for n in range(500)])
    async with run_emulator(EmulatorConfig(api_key=KEY), docs=["d1"]) as emu:
        results, summary, code = await collect(target(emu.base_url, key="wrong-key"), options([ids]))
        stats = emu.stats()
    assert code == 3
    assert stats["requests"] <= 16  # about one round of concurrency, not 500 requests
    assert {(r.outcome, r.status) for r in results} == {(Outcome.FAILED, 401)}
    assert summary["requests"] == stats["requests"]


async def test_cli_expands_header_variables_keeps_the_secret_out_of_every_output_and_writes_the_summary(
    tmp_path: Path,
) -> None:
    docs = ["a b", "c/d", "e?f"]
    ids = write_ids(tmp_path / "ids.txt", [*docs, "zz"])
    summary_path = tmp_path / "summary.json"
    async with run_emulator(EmulatorConfig(api_key=KEY), docs=docs) as emu:
        done = await run_cli(
            "http",
            "delete",
            "--url",
            f"{emu.base_url}/rest/docs/{{id}}",
            "--header",
            "Authorization: Bearer ${SEARCH_KEY}",
            "--header",
            "X-Trace: plain",
            "--summary",
            str(summary_path),
            str(ids),
            # A job-wide root for the other commands: an absolute --url does not use it.
            env=cli_env({"SEARCH_KEY": KEY, "BULKDELETE_BASE_URL": "http://127.0.0.1:1"}),
        )
        assert emu.documents == []
    assert done.code == 0, done.stderr
    assert {(line["id"], line["outcome"]) for line in done.lines} == {
        ("a b", "deleted"),
        ("c/d", "deleted"),
        ("e?f", "deleted"),
        ("zz", "not_found"),
    }
    summary = orjson.loads(summary_path.read_bytes())
    assert summary["outcomes"] == {"deleted": 3, "not_found": 1}
    assert KEY not in summary_path.read_text()


async def test_cli_resume_skips_what_an_earlier_run_deleted(tmp_path: Path) -> None:
    docs = [f"x/{n}" for n in range(10)]
    journal = tmp_path / "journal.jsonl"
    first = write_ids(tmp_path / "first.txt", docs[:4])
    both = write_ids(tmp_path / "all.txt", docs)
    async with run_emulator(EmulatorConfig(), docs=docs) as emu:
        url = f"{emu.base_url}/rest/docs/{{id}}"
        args = ["http", "delete", "--url", url, "--header", "Authorization: Bearer ${K}", "--resume", str(journal)]
        env = cli_env({"K": "any-key"})
        assert (await run_cli(*args, str(first), env=env)).code == 0
        second = await run_cli(*args, str(both), env=env)
        stats = emu.stats()
    assert second.code == 0, second.stderr
    assert stats["requests"] == 10  # 4, then the 6 left
    lines = [orjson.loads(line) for line in journal.read_bytes().splitlines()]
    assert sorted(line["id"] for line in lines) == sorted(docs)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--header", "Authorization: Bearer ${NOT_SET_ANYWHERE}"], {}, "NOT_SET_ANYWHERE is not set"),
        (["--header", "no colon"], {}, "'Name: value'"),
        (["--gone-status", "404,abc"], {}, "--gone-status must be HTTP codes"),
        (["--gone-status", "401"], {}, "other than 401, 403, 408 and 429"),
        (["--method", "DEL ETE"], {}, "--method must be"),
        (["--base-url", "http://127.0.0.1:1"], {}, "with --base-url, --url is the path"),
        (["--url", "/docs/{id}"], {}, "is a path: give the whole URL"),
    ],
)
async def test_cli_bad_flags_exit_2_before_anything_is_sent(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["a"])
    async with run_emulator(EmulatorConfig(), docs=["a"]) as emu:
        done = await run_cli(
            "http", "delete", "--url", f"{emu.base_url}/rest/docs/{{id}}", *args, str(ids), env=cli_env(env)
        )
        assert emu.stats()["requests"] == 0
    assert done.code == 2
    assert message in done.stderr
    assert done.stdout == b""


async def test_cli_refuses_a_secret_header_over_plain_http_to_a_remote_host(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["a"])
    done = await run_cli(
        "http",
        "delete",
        "--url",
        "http://search.example.com/docs/{id}",
        "--header",
        "Authorization: Bearer ${SEARCH_KEY}",
        str(ids),
        env=cli_env({"SEARCH_KEY": KEY}),
    )
    assert done.code == 2
    assert "refusing to send a secret header in clear text to search.example.com" in done.stderr


async def test_cli_url_may_be_a_path_under_base_url_and_dry_run_needs_no_secret(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["a", "b"])
    done = await run_cli(
        "http",
        "delete",
        "--base-url",
        "https://search.example.com",
        "--url",
        "/docs/{id}",
        "--header",
        "Authorization: Bearer ${NOT_SET_ANYWHERE}",
        "--dry-run",
        str(ids),
    )
    assert done.code == 0, done.stderr
    assert [line["outcome"] for line in done.lines] == ["planned", "planned"]


def test_header_values_expand_variables_and_are_secret() -> None:
    header = parse_header("Authorization:  Bearer ${A}-${B} ", {"A": "alpha-secret", "B": "beta-secret"})
    assert (header.name, header.value) == ("Authorization", "Bearer alpha-secret-beta-secret")
    assert [s.reveal() for s in header.secrets] == ["alpha-secret", "beta-secret"]
    assert "alpha" not in repr(header)
    plain = parse_header("X-Static: $HOME ${ not a var", {})
    assert (plain.value, plain.secrets) == ("$HOME ${ not a var", ())
    with pytest.raises(ConfigError, match="line break"):
        parse_header("X-A: ${A}", {"A": "x\r\nInjected: 1"})


def test_gone_statuses() -> None:
    assert parse_gone_statuses("404,410") == {404, 410}
    assert parse_gone_statuses(" none ") == frozenset()
    assert parse_gone_statuses("404, 409") == {404, 409}
    with pytest.raises(ConfigError):
        parse_gone_statuses("500")


async def test_an_error_text_that_echoes_a_secret_shows_a_mask(tmp_path: Path) -> None:
    """The emulator's 404 text quotes the id: with the key itself as the id, the key comes back in the answer."""
    ids = write_ids(tmp_path / "ids.txt", [KEY])
    async with run_emulator(EmulatorConfig(), docs=[]) as emu:
        url = UrlTemplate(f"{emu.base_url}/rest/docs/{{id}}")
        header = parse_header("Authorization: Bearer ${K}", {"K": KEY})
        secret_target = HttpTarget(HttpSettings(url=url, headers=(header,), gone=frozenset()))
        results, _, code = await collect(secret_target, options([ids]))
    assert code == 1
    (result,) = results
    assert result.error is not None and "No document '********'" in result.error and KEY not in result.error


def test_describe_names_the_headers_never_their_values() -> None:
    settings = HttpSettings(
        url=UrlTemplate("https://h/{id}"),
        headers=(parse_header("Authorization: Bearer ${K}", {"K": KEY}),),
    )
    assert settings.secrets == (Secret(KEY),)
    assert HttpTarget(settings).describe() == {
        "api": "http",
        "url": "https://h/{id}",
        "method": "DELETE",
        "headers": ["Authorization"],
        "mode": "item",
    }


async def test_a_dropped_connection_is_one_request_per_attempt_never_a_silent_resend(tmp_path: Path) -> None:
    """aiohttp re-sends an idempotent request once when its connection drops: the transport must not let it."""
    ids = write_ids(tmp_path / "ids.txt", [f"d{n}" for n in range(5)])
    async with run_emulator(EmulatorConfig(reset_rate=1.0), docs=[]) as emu:
        results, summary, code = await collect(target(emu.base_url), options([ids], max_attempts=3))
        stats = emu.stats()
    assert code == 1
    assert {(r.outcome, r.attempts) for r in results} == {(Outcome.FAILED, 3)}
    assert all(r.error and "connection closed by the server without a response" in r.error for r in results)
    assert stats["resets"] == stats["requests"] == summary["requests"] == 15
