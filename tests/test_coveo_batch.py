"""Coveo batch mode end to end: file containers, uploads and pushes against the real emulator on 127.0.0.1."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from bulkdelete.emulator import Emulator, EmulatorConfig, run_emulator
from bulkdelete.emulator import coveo as emulator_coveo
from bulkdelete.emulator import s3 as emulator_s3
from bulkdelete.emulator.responses import s3_error
from bulkdelete.records import Outcome, Record
from bulkdelete.secrets import Secret
from bulkdelete.targets.coveo import CoveoSettings
from bulkdelete.targets.coveo_batch import _ENVELOPE, CoveoBatchTarget, batch_payload
from tests.conftest import (
    CHILDREN_TREE,
    KEY,
    ORG,
    SOURCE,
    TRICKY_URIS,
    collect,
    coveo_args,
    options,
    run_cli,
    write_ids,
)

TRICKY = TRICKY_URIS


def target(base_url: str, *, children: bool = False, ordering: int | None = None, **kw: int) -> CoveoBatchTarget:
    settings = CoveoSettings(base_url, ORG, SOURCE, Secret(KEY), delete_children=children, ordering_id=ordering)
    return CoveoBatchTarget(settings, **kw)


def pushed_files(emu: Emulator) -> list[str]:
    return [str(batch["fileId"]) for batch in emu.state.batches]


def test_record_bytes_add_up_to_the_exact_payload_length() -> None:
    ids = [*TRICKY, "https://a.example/\u2028\x7f", "x://" + "é" * 100]
    for children in (False, True):
        tgt = target("http://127.0.0.1:1", children=children)
        payload = batch_payload(ids, children)
        assert len(payload) == _ENVELOPE + sum(tgt.record_bytes(i) for i in ids)
        assert payload.startswith(b'{"addOrUpdate":[],"delete":[{"documentId":')


async def test_batch_with_delete_children_removes_exactly_the_expected_documents(tmp_path: Path) -> None:
    docs = [*CHILDREN_TREE, "file://s/lone"]
    ids = write_ids(tmp_path / "ids.txt", ["file://s/folder", "file://s/lone", "file://s/absent", "not a uri"])
    async with run_emulator(EmulatorConfig(), docs=docs) as emu:
        results, summary, code = await collect(target(emu.base_url, children=True), options([ids]))
        left, files = emu.documents, pushed_files(emu)
        stats = emu.stats()
    assert sorted(left) == ["file://s/folder-archive/x", "file://s/folderx", "file://s/other/folder/c"]
    assert code == 1  # the invalid record
    assert Counter(r.outcome.value for r in results) == {"batched": 3, "invalid": 1}
    sent = [r for r in results if r.outcome is Outcome.BATCHED]
    assert {r.batch for r in sent} == set(files)
    assert len(files) == 1
    assert all((r.status, r.attempts, r.error) == (202, 1, None) for r in sent)
    assert stats["requests"] == 2  # POST /files and the push; the upload is not a Push API request
    assert stats["uploads"] == 1
    assert summary["requests"] == 3  # the client counts (and paces) all three


async def test_tricky_ids_round_trip_through_the_file_container(tmp_path: Path) -> None:
    near = [t + "x" for t in TRICKY] + [t.replace("+", " ") for t in TRICKY if "+" in t]
    ids = write_ids(tmp_path / "ids.txt", TRICKY)
    async with run_emulator(EmulatorConfig(), docs=TRICKY + near) as emu:
        results, _, code = await collect(target(emu.base_url), options([ids]))
        assert sorted(emu.documents) == sorted(set(near))
    assert code == 0
    assert [r.record.id for r in sorted(results, key=lambda r: r.record.line)] == TRICKY


async def test_a_small_batch_bytes_cap_makes_several_batches_none_over_the_cap(tmp_path: Path) -> None:
    docs = [f"https://site.example/page/{n:04d}" for n in range(300)]
    ids = write_ids(tmp_path / "ids.txt", docs)
    tgt = target("http://127.0.0.1:1", batch_bytes=2048)
    per_batch = (2048 - _ENVELOPE) // tgt.record_bytes(docs[0])  # every entry has the same size here
    async with run_emulator(EmulatorConfig(), docs=docs) as emu:
        results, _, code = await collect(target(emu.base_url, batch_bytes=2048), options([ids]))
        batches, bodies = emu.stats()["batches"], [f.body or b"" for f in emu.state.files.values()]
        assert emu.documents == []
    assert code == 0
    assert len(batches) >= -(-300 // per_batch) > 1
    assert sum(b["delete"] for b in batches) == 300
    assert max(b["delete"] for b in batches) == per_batch  # packed up to the cap…
    assert max(len(body) for body in bodies) <= 2048  # …and never over it
    by_batch = Counter(r.batch for r in results)
    assert {b["fileId"]: b["delete"] for b in batches} == dict(by_batch)


async def test_503s_on_create_and_push_are_retried_from_a_new_container(tmp_path: Path) -> None:
    docs = [f"https://site.example/page/{n}" for n in range(400)]
    ids = write_ids(tmp_path / "ids.txt", docs)
    async with run_emulator(EmulatorConfig(fail_rate=0.4, seed=5), docs=docs) as emu:
        tgt = target(emu.base_url, batch_bytes=4096)
        results, _, code = await collect(tgt, options([ids], max_attempts=30))
        stats, files = emu.stats(), emu.state.files
        assert emu.documents == []
    assert code == 0
    assert stats["faults"] > 0
    assert Counter(r.outcome.value for r in results) == {"batched": 400}
    assert any(r.attempts > 1 for r in results)
    # Each container is pushed at most once; a failed push leaves its container behind, never reused.
    assert all(f.pushes <= 1 for f in files.values())
    assert {r.batch for r in results} == {fid for fid, f in files.items() if f.pushes == 1}
    assert any(f.pushes == 0 and f.body is not None for f in files.values())


Handler = Callable[[web.Request], Awaitable[web.Response]]


def failing_uploads(monkeypatch: pytest.MonkeyPatch, count: int, status: int, code: str) -> list[int]:
    """Make the emulator's S3 side answer the first ``count`` uploads with ``status`` (server-side faults)."""
    real: Handler = emulator_s3.upload
    seen = [0]

    async def upload(request: web.Request) -> web.Response:
        seen[0] += 1
        if seen[0] <= count:
            return s3_error(status, code, "injected upload fault")
        return await real(request)

    monkeypatch.setattr(emulator_s3, "upload", upload)
    return seen


@pytest.mark.parametrize(("status", "code"), [(503, "SlowDown"), (403, "AccessDenied"), (500, "InternalError")])
async def test_upload_faults_are_retried_from_a_new_container(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: int, code: str
) -> None:
    docs = [f"https://site.example/page/{n}" for n in range(50)]
    ids = write_ids(tmp_path / "ids.txt", docs)
    seen = failing_uploads(monkeypatch, 2, status, code)
    async with run_emulator(EmulatorConfig(), docs=docs) as emu:
        results, _, code_ = await collect(target(emu.base_url), options([ids], max_attempts=3))
        files = emu.state.files
        assert emu.documents == []
    assert code_ == 0
    assert seen[0] == 3
    assert len(files) == 3  # a fresh container for each attempt
    assert {(r.outcome.value, r.attempts) for r in results} == {("batched", 3)}
    assert len({r.batch for r in results}) == 1


async def test_an_expired_upload_uri_fails_only_after_the_last_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulator_coveo, "UPLOAD_TTL_S", -1.0)  # every uploadUri is born expired
    ids = write_ids(tmp_path / "ids.txt", ["https://a.example/1", "https://a.example/2"])
    async with run_emulator(EmulatorConfig(), docs=["https://a.example/1"]) as emu:
        results, _, code = await collect(target(emu.base_url), options([ids], max_attempts=3))
        assert emu.stats()["uploads"] == 3
        assert emu.state.batches == []
    assert code == 1
    assert {(r.outcome.value, r.attempts, r.status) for r in results} == {("failed", 3, 403)}
    assert results[0].error == (
        "gave up after 3 attempts: 403 AccessDenied: upload to the file container failed: Request has expired"
    )


async def test_a_payload_over_the_container_cap_fails_at_once_and_says_lower_batch_bytes(
    tmp_path: Path,
) -> None:
    docs = [f"https://site.example/page/{n}" for n in range(40)]
    ids = write_ids(tmp_path / "ids.txt", docs)
    async with run_emulator(EmulatorConfig(max_upload_bytes=1500), docs=docs) as emu:
        results, _, code = await collect(target(emu.base_url, batch_bytes=4096), options([ids]))
        assert len(emu.documents) == 40
    assert code == 1
    assert {(r.outcome.value, r.attempts, r.status) for r in results} == {("failed", 1, 413)}
    assert results[0].error is not None
    assert results[0].error.startswith("413 EntityTooLarge: upload to the file container failed")
    assert results[0].error.endswith("lower --batch-bytes")


async def test_ordering_id_reaches_the_push(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["https://a.example/1"])
    async with run_emulator(EmulatorConfig(), docs=["https://a.example/1"]) as emu:
        _, _, code = await collect(target(emu.base_url, ordering=1_700_000_000_123), options([ids]))
        assert [b["orderingId"] for b in emu.state.batches] == [1_700_000_000_123]
    assert code == 0


async def test_a_rejected_key_aborts_without_uploading(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [f"https://a.example/{n}" for n in range(10)])
    async with run_emulator(EmulatorConfig(api_key="the-right-key"), docs=[]) as emu:
        results, _, code = await collect(target(emu.base_url), options([ids]))
        assert emu.stats()["uploads"] == 0
    assert code == 3
    assert {(r.outcome.value, r.status) for r in results} == {("failed", 401)}
    assert all(KEY not in (r.error or "") for r in results)


async def test_send_returns_one_batched_verdict_per_record_with_the_push_latency() -> None:
    """The target on its own, through a real transport: verdicts in order, sharing the file id."""
    import aiohttp

    from bulkdelete.net.transport import HttpTransport
    from bulkdelete.output.stats import RunStats
    from bulkdelete.rate.pacing import Pacer

    records = [Record(f"https://a.example/{n}", n + 1) for n in range(3)]
    async with (
        run_emulator(EmulatorConfig(), docs=[r.id for r in records]) as emu,
        aiohttp.ClientSession() as s,
    ):
        stats = RunStats()
        verdicts = await target(emu.base_url).send(HttpTransport(s, Pacer(0), stats, timeout=5), records)
        assert emu.documents == []
    assert len(verdicts) == 3
    assert {(v.outcome, v.status, v.batch) for v in verdicts} == {
        (Outcome.BATCHED, 202, emu.state.batches[0]["fileId"])
    }
    assert stats.requests == 3


async def test_cli_batch_mode_end_to_end(tmp_path: Path) -> None:
    docs = [f"https://site.example/page/{n}" for n in range(500)]
    ids = write_ids(tmp_path / "ids.txt", [*docs, "https://site.example/absent"])
    async with run_emulator(EmulatorConfig(api_key=KEY), docs=[*docs, "https://site.example/keep"]) as emu:
        args = coveo_args(
            emu.base_url,
            "--mode",
            "batch",
            "--batch-bytes",
            "16384",
            "--rate",
            "0",
            "--ordering-id",
            "now",
            str(ids),
        )
        done = await run_cli(*args)
        batches = emu.state.batches
        assert emu.documents == ["https://site.example/keep"]
    assert done.code == 0, done.stderr
    assert Counter(line["outcome"] for line in done.lines) == {"batched": 501}
    assert {line["batch"] for line in done.lines} == {b["fileId"] for b in batches}
    assert len(batches) >= 3  # 501 entries of ~70 bytes in 16 KiB payloads
    assert all(isinstance(b["orderingId"], int) for b in batches)
    assert "batched 501" in done.stderr
