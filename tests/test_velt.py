"""Velt batched deletes: the real engine against the real emulator on 127.0.0.1; the answer classifier."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from bulkdelete.emulator import EmulatorConfig, run_emulator
from bulkdelete.emulator.config import Quota
from bulkdelete.rate.backoff import BackoffPolicy
from bulkdelete.records import Outcome
from bulkdelete.secrets import Secret
from bulkdelete.targets.base import Action, Reply
from bulkdelete.targets.velt import VeltSettings, VeltTarget, classify
from tests.conftest import KEY, ORG, cli_env, collect, options, run_cli, write_ids

TOKEN = "velt-auth-t0ken-never-printed"
TRICKY = ["doc with space", "a/b?c=d&e#f", "100%+plus", "ドキュメント-1", 'quote"and\\backslash']


def target(base_url: str, *, version: str = "v2", batch_size: int = 30, key: str = KEY) -> VeltTarget:
    return VeltTarget(
        VeltSettings(
            base_url=base_url,
            organization_id=ORG,
            api_key=Secret(key),
            auth_token=Secret(TOKEN),
            api_version=version,
            batch_size=batch_size,
        )
    )


@pytest.mark.parametrize("version", ["v2", "v1"])
async def test_present_absent_and_failing_ids_each_get_one_line_and_only_failed_ids_are_resent(
    tmp_path: Path, version: str
) -> None:
    present = [f"doc-{n}" for n in range(200)] + TRICKY
    absent = [f"gone-{n}" for n in range(60)]
    survivors = ["keep-1", "keep-2", "doc-1000"]
    ids = write_ids(tmp_path / "ids.txt", [*present, *absent])
    config = EmulatorConfig(fail_rate=0.3, seed=11)
    async with run_emulator(config, docs=present + survivors) as emu:
        results, summary, code = await collect(target(emu.base_url, version=version), options([ids], max_attempts=30))
        stats = emu.stats()
        left = emu.documents
    assert code == 0
    outcomes = {r.record.id: r.outcome for r in results}
    assert len(results) == len(outcomes) == len(present) + len(absent)  # exactly one line per record
    assert {i for i, o in outcomes.items() if o is Outcome.DELETED} == set(present)
    assert {i for i, o in outcomes.items() if o is Outcome.NOT_FOUND} == set(absent)
    assert sorted(left) == sorted(survivors)
    # Each id goes out once, plus once more per time the server failed it: no id is re-sent for nothing.
    assert stats["faults"] > 0
    assert sum(r.attempts for r in results) == len(results) + stats["faults"]
    assert stats["requests"] == summary["requests"]
    assert stats["requests"] < sum(r.attempts for r in results) / 10  # batched, not one request per id
    assert any(r.attempts > 1 for r in results)
    assert all(r.error is None and r.status in (200, 500) for r in results)


async def test_v2_partial_failure_is_read_per_id_not_from_the_500(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["a", "missing", "b"])
    async with run_emulator(EmulatorConfig(), docs=["a", "b", "c"]) as emu:
        results, summary, code = await collect(target(emu.base_url), options([ids]))
        assert emu.documents == ["c"]
        assert emu.stats()["requests"] == 1
    assert code == 0
    assert {(r.record.id, r.outcome.value, r.status, r.attempts) for r in results} == {
        ("a", "deleted", 500, 1),
        ("missing", "not_found", 500, 1),
        ("b", "deleted", 500, 1),
    }
    assert summary["retries"] == 0


async def test_v1_legacy_does_not_exist_answer_is_not_found(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["a", "missing-1", "missing-2"])
    async with run_emulator(EmulatorConfig(velt_legacy_not_found=True), docs=["a"]) as emu:
        results, _, code = await collect(target(emu.base_url, version="v1"), options([ids]))
        assert emu.documents == []
        assert emu.stats()["requests"] == 1
    assert code == 0
    assert {r.record.id: r.outcome.value for r in results} == {
        "a": "deleted",
        "missing-1": "not_found",
        "missing-2": "not_found",
    }


async def test_resource_exhausted_pauses_and_retries_until_everything_is_deleted(tmp_path: Path) -> None:
    docs = [f"doc-{n}" for n in range(60)]
    ids = write_ids(tmp_path / "ids.txt", docs)
    # A 4-per-0.25 s quota with Retry-After: 1, capped to a 0.3 s pause so the test stays fast.
    config = EmulatorConfig(quota=Quota(4, 0.25), retry_after=1)
    backoff = BackoffPolicy(base=0.01, cap=0.05, retry_after_cap=0.3)
    async with run_emulator(config, docs=docs) as emu:
        opts = options([ids], backoff=backoff, max_attempts=30)
        results, summary, code = await collect(target(emu.base_url, batch_size=5), opts)
        stats = emu.stats()
        assert emu.documents == []
    assert code == 0
    assert Counter(r.outcome.value for r in results) == {"deleted": 60}
    assert stats["throttled"] > 0
    assert summary["throttled"] == stats["throttled"]
    assert summary["paused_s"] > 0  # every worker waited, not just the throttled one


async def test_a_rejected_key_aborts_the_run_with_exit_3(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [f"doc-{n}" for n in range(600)])
    async with run_emulator(EmulatorConfig(api_key="the-right-key"), docs=["doc-1"]) as emu:
        results, _, code = await collect(target(emu.base_url), options([ids]))
        requests = emu.stats()["requests"]
        assert emu.documents == ["doc-1"]
    assert code == 3
    assert requests <= 4 + 1  # about one request per worker, not 20
    assert results
    assert all(r.outcome is Outcome.FAILED and r.status == 401 for r in results)
    assert all("UNAUTHENTICATED" in (r.error or "") and KEY not in (r.error or "") for r in results)


async def test_invalid_argument_is_final_with_the_api_message(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [f"doc-{n}" for n in range(20)])
    async with run_emulator(EmulatorConfig(max_ids=10), docs=[]) as emu:
        results, _, code = await collect(target(emu.base_url, batch_size=20), options([ids]))
        assert emu.stats()["requests"] == 1
    assert code == 1
    assert {(r.outcome.value, r.status, r.attempts) for r in results} == {("failed", 400, 1)}
    assert results[0].error is not None
    assert results[0].error.startswith("400 INVALID_ARGUMENT: At most 10 documentIds")


# -- the classifier, on answer shapes the emulator never sends -----------------------------------------------


def reply(status: int, doc: object, headers: dict[str, str] | None = None) -> Reply:
    body = doc if isinstance(doc, bytes) else orjson.dumps(doc)
    return Reply(status, body, headers or {}, 1.5)


def test_an_id_missing_from_a_per_id_answer_is_retried() -> None:
    doc = {"result": {"status": "success", "data": {"a": {"success": True, "id": "1"}}}}
    a, b = classify(reply(200, doc), ["a", "b"])
    assert (a.action, a.outcome) == (Action.DONE, Outcome.DELETED)
    assert b.action is Action.RETRY
    assert b.error == "200: the API did not report this id"


def test_an_unknown_per_id_failure_code_is_retried_with_its_message() -> None:
    details = {"a": {"success": False, "code": "aborted", "message": "try again"}, "b": {"success": True}}
    a, b = classify(reply(500, {"error": {"status": "INTERNAL", "details": details}}), ["a", "b"])
    assert (a.action, a.error, a.status) == (Action.RETRY, "500 aborted: try again", 500)
    assert (b.action, b.outcome) == (Action.DONE, Outcome.DELETED)


@pytest.mark.parametrize(
    ("status", "doc", "headers", "action", "throttled", "error"),
    [
        (
            429,
            {"error": {"status": "RESOURCE_EXHAUSTED", "message": "slow"}},
            {"Retry-After": "2"},
            Action.RETRY,
            True,
            "429 RESOURCE_EXHAUSTED: slow",
        ),
        (500, {"error": {"status": "RESOURCE_EXHAUSTED", "details": {}}}, {}, Action.RETRY, True, None),
        (503, {"error": {"status": "UNAVAILABLE", "message": "down"}}, {}, Action.RETRY, False, None),
        (504, {"error": {"status": "DEADLINE_EXCEEDED", "message": "t"}}, {}, Action.RETRY, False, None),
        (500, {"error": {"status": "INTERNAL", "message": "no details"}}, {}, Action.RETRY, False, None),
        (408, b"", {}, Action.RETRY, False, "408 HTTP error"),
        (502, b"<html>bad gateway</html>", {}, Action.RETRY, False, None),
        (200, b"not json", {}, Action.RETRY, False, None),
        (401, {"error": {"status": "UNAUTHENTICATED", "message": "key"}}, {}, Action.ABORT, False, None),
        (403, {"error": {"status": "PERMISSION_DENIED", "message": "org"}}, {}, Action.ABORT, False, None),
        (
            400,
            {"error": {"status": "INVALID_ARGUMENT", "message": "bad"}},
            {},
            Action.DONE,
            False,
            "400 INVALID_ARGUMENT: bad",
        ),
        (
            404,
            b"<html>nope</html>",
            {},
            Action.DONE,
            False,
            "404 HTTP error: unreadable answer: <html>nope</html>",
        ),
    ],
)
def test_whole_request_answers_apply_to_every_id(
    status: int, doc: object, headers: dict[str, str], action: Action, throttled: bool, error: str | None
) -> None:
    verdicts = classify(reply(status, doc, headers), ["a", "b", "c"])
    assert len(verdicts) == 3
    assert len(set(verdicts)) == 1
    verdict = verdicts[0]
    assert (verdict.action, verdict.throttled, verdict.status) == (action, throttled, status)
    assert verdict.outcome is Outcome.FAILED
    assert verdict.error is not None
    assert verdict.error.startswith(str(status))
    if error is not None:
        assert verdict.error == error
    if status == 429:
        assert verdict.retry_after == 2.0


def test_a_success_answer_without_per_id_data_deletes_every_id() -> None:
    verdicts = classify(reply(200, {"result": {"status": "success", "message": "ok"}}), ["a", "b"])
    assert [(v.action, v.outcome) for v in verdicts] == [(Action.DONE, Outcome.DELETED)] * 2


# -- the command line ----------------------------------------------------------------------------------------


def velt_env(**extra: str) -> dict[str, str]:
    return cli_env({"VELT_API_KEY": KEY, "VELT_AUTH_TOKEN": TOKEN, **extra})


async def test_cli_deletes_in_batches_writes_lines_and_never_prints_a_secret(tmp_path: Path) -> None:
    present = [f"doc-{n}" for n in range(45)]
    stdin = "".join(f"{i}\n" for i in [*present, "gone-1", "doc-3"]).encode()
    async with run_emulator(EmulatorConfig(api_key=KEY), docs=[*present, "keep"]) as emu:
        args = [
            "velt",
            "delete",
            "--base-url",
            emu.base_url,
            "--org",
            ORG,
            "--rate",
            "0",
            "--batch-size",
            "20",
            "-",
        ]
        done = await run_cli(*args, stdin=stdin, env=velt_env())
        requests = emu.stats()["requests"]
        assert emu.documents == ["keep"]
    assert done.code == 0, done.stderr
    assert TOKEN not in done.stderr
    assert TOKEN.encode() not in done.stdout
    outcomes = Counter(str(line["outcome"]) for line in done.lines)
    assert outcomes == {"deleted": 45, "not_found": 1, "duplicate": 1}
    assert sorted(int(str(line["line"])) for line in done.lines) == list(range(1, 48))
    assert 3 <= requests <= 5  # 46 distinct ids in batches of up to 20 (a slow reader may cut one short)
    assert "deleted 45" in done.stderr


async def test_cli_without_credentials_exits_2_and_dry_run_needs_none(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["a", "b"])
    missing = await run_cli("velt", "delete", "--org", ORG, str(ids), env=velt_env(VELT_AUTH_TOKEN=""))
    assert missing.code == 2
    assert "VELT_AUTH_TOKEN" in missing.stderr
    assert missing.stdout == b""
    plain = await run_cli(
        "velt", "delete", "--org", ORG, "--base-url", "http://api.example.com", str(ids), env=velt_env()
    )
    assert plain.code == 2
    assert "clear text" in plain.stderr
    dry = await run_cli("velt", "delete", "--dry-run", str(ids), env=cli_env())
    assert dry.code == 0
    assert [line["outcome"] for line in dry.lines] == ["planned", "planned"]
