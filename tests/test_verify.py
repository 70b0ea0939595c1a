"""Confirmed deletion (SPEC §11), end to end: the real engine checks against the real emulator's index.

The emulator's indexing pipeline runs on its own clock: deletes wait ``processing_delay_s`` before they take effect,
and the tests move that clock with ``emu.advance`` instead of sleeping, once the first round of checks has been
answered. Every ``gone`` verdict is compared with the emulator's final documents: never a false ``gone``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from bulkdelete import (
    CoveoItemTarget,
    CoveoLogs,
    CoveoSearchCheck,
    CoveoSettings,
    HttpCheck,
    VeltGetCheck,
    VeltSettings,
    VerdictLine,
    Verification,
    VerifyOptions,
    run_verification,
    verify_ids,
)
from bulkdelete.emulator import Emulator, EmulatorConfig, run_emulator
from bulkdelete.pipeline.run import RunOptions
from bulkdelete.secrets import Secret
from bulkdelete.targets.base import Reply, Transport
from bulkdelete.targets.http import http_settings
from tests.conftest import KEY, ORG, SOURCE, collect, options, read_lines, write_ids

FAST = VerifyOptions(interval_s=0.05, wait_s=3.0, logs_interval_s=0.0)
ONE_PASS = VerifyOptions(interval_s=0.05, wait_s=0.0, logs_interval_s=0.0)


def coveo_check(emu: Emulator, **kwargs: Any) -> CoveoSearchCheck:
    return CoveoSearchCheck(emu.base_url, ORG, Secret(KEY), **kwargs)


def coveo_logs(emu: Emulator) -> Callable[[Callable[[str], None]], CoveoLogs]:
    return lambda warn: CoveoLogs(emu.base_url, ORG, SOURCE, Secret(KEY), since=0.0, warn=warn)


async def delete_all(emu: Emulator, ids: list[str], tmp_path: Path) -> None:
    target = CoveoItemTarget(CoveoSettings(emu.base_url, ORG, SOURCE, Secret(KEY)))
    _, _, code = await collect(target, options([write_ids(tmp_path / "deleted.txt", ids)]))
    assert code == 0


async def verified(
    check: Any,
    ids: list[str],
    verify: VerifyOptions = FAST,
    *,
    logs: Any = None,
    run_options: RunOptions | None = None,
    after_first_checks: Callable[[], None] | None = None,
    searches: Callable[[], int] | None = None,
) -> tuple[list[VerdictLine], int, dict[str, Any]]:
    """Verify ``ids`` in process; ``after_first_checks`` runs once ``searches()`` reports the first queries."""
    lines: list[VerdictLine] = []
    mover: asyncio.Task[None] | None = None
    if after_first_checks is not None and searches is not None:
        mover = asyncio.create_task(_once(lambda: searches() > 0, after_first_checks))
    async with Verification(check, ids, run_options or options([]), verify, logs=logs) as run:
        async for line in run:
            lines.append(line)
    if mover is not None:
        mover.cancel()
    return lines, run.report.exit_code, run.report.summary


async def _once(ready: Callable[[], bool], then: Callable[[], None]) -> None:
    # Polls the emulator's counters (there is no event to wait on); no timing is asserted.
    while not ready():  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    then()


def by_id(lines: list[VerdictLine]) -> dict[str, VerdictLine]:
    return {line.record.id: line for line in lines}


async def test_never_a_false_gone_with_a_processing_delay_failures_and_secured_documents(tmp_path: Path) -> None:
    docs = [f"https://site.example/doc/{n}" for n in range(80)]
    deleted, kept = docs[:60], docs[60:70]
    config = EmulatorConfig(processing_delay_s=60.0, delete_fail_rate=0.2, secured_rate=0.5, seed=3)
    async with run_emulator(config, docs=docs) as emu:
        await delete_all(emu, deleted, tmp_path)
        lines, code, summary = await verified(
            coveo_check(emu),
            deleted + kept,
            logs=coveo_logs(emu),
            # After the first queries: 120 s of the emulator's time, enough for the deletes (60 s), within the
            # search cache's 300 s: a check without maximumAge 0 would keep reading "present" from its cache.
            after_first_checks=lambda: emu.advance(120.0),
            searches=lambda: int(emu.stats()["searches"]),
        )
        left = set(emu.documents)
        stats = emu.stats()
    verdicts = by_id(lines)
    assert len(lines) == len(deleted) + len(kept)
    gone = {i for i, line in verdicts.items() if line.verdict.value == "gone"}
    assert gone, "the deletes that took effect are proven gone"
    assert not gone & left, "never a false gone"
    assert gone == set(deleted) - left
    failed = {i for i, line in verdicts.items() if line.verdict.value == "failed"}
    assert failed == set(deleted) & left  # every delete the pipeline failed, with its log entry
    assert stats["failed_deletes"] == len(failed) > 0
    for record_id in failed:
        log = verdicts[record_id].log
        assert log is not None and log["result"] == "ERROR" and log["task"] == "INDEXING" and log["meta"]
        assert log["requestId"]
    # Never deleted, secured or not: still there when --wait ran out (a search without viewAllContent would call
    # the secured half of them gone).
    assert {i for i, line in verdicts.items() if line.verdict.value == "present"} == set(kept)
    assert any(verdicts[i].checks >= 2 for i in gone), "a delete still pending at the first check is re-checked"
    assert code == 1
    assert summary["verification"]["verdicts"] == dict(Counter(line.verdict.value for line in lines))
    assert summary["verification"]["queries"] == summary["requests"] > 0


async def test_every_query_asks_with_view_all_content_and_no_cache() -> None:
    sent: list[tuple[Mapping[str, str] | None, bytes | None]] = []

    class Spy:  # a real transport, whose requests are noted on the way
        def __init__(self, inner: Transport) -> None:
            self.inner = inner

        async def request(self, method: str, url: Any, **kw: Any) -> Reply:
            sent.append((kw.get("params"), kw.get("data")))
            return await self.inner.request(method, url, **kw)

    class SpiedCheck(CoveoSearchCheck):
        async def send(self, transport: Transport, records: Any) -> Any:
            return await super().send(Spy(transport), records)

    async with run_emulator(EmulatorConfig(secured_rate=1.0, seed=1), docs=["https://a.example/1"]) as emu:
        check = SpiedCheck(emu.base_url, ORG, Secret(KEY), children=True)
        lines, _, _ = await verified(check, ["https://a.example/1", "https://a.example/2"], ONE_PASS)
    assert {line.record.id: line.verdict.value for line in lines} == {
        "https://a.example/1": "present",  # secured: only viewAllContent sees it
        "https://a.example/2": "gone",
    }
    assert sent
    for params, data in sent:
        assert params is not None and params["viewAllContent"] == "true"
        body = orjson.loads(data or b"{}")
        assert body["maximumAge"] == 0 and body["fieldsToInclude"] == ["uri"]


async def test_uris_are_compared_byte_for_byte_and_unquotable_ids_are_unknown() -> None:
    docs = ["https://x.example/Page", "https://x.example/page?q=1&r=2#f", "https://x.example/dir/child"]
    asked = [
        "https://x.example/page",  # the index matches == case-insensitively: it answers /Page, which is not this id
        "https://x.example/page?q=1&r=2#f",
        'https://x.example/say "hi"',
        "https://x.example/back\\slash",
        "https://x.example/dir",
    ]
    async with run_emulator(EmulatorConfig(), docs=docs) as emu:
        lines, code, _ = await verified(coveo_check(emu, children=True), asked, ONE_PASS)
    verdicts = {line.record.id: line for line in lines}
    assert verdicts["https://x.example/page"].verdict.value == "gone"
    assert verdicts["https://x.example/page?q=1&r=2#f"].verdict.value == "present"
    for unquotable in ('https://x.example/say "hi"', "https://x.example/back\\slash"):
        line = verdicts[unquotable]
        assert line.verdict.value == "unknown" and line.checks == 0 and "cannot express" in (line.error or "")
    parent = verdicts["https://x.example/dir"]
    assert parent.verdict.value == "present" and parent.children_left == 1
    assert parent.to_dict()["children_left"] == 1
    assert code == 1


async def test_one_query_per_distinct_id_and_one_line_per_record() -> None:
    ids = [f"https://d.example/{n}" for n in range(5)]
    async with run_emulator(EmulatorConfig(), docs=[]) as emu:
        lines, code, _ = await verified(coveo_check(emu, batch_size=1), [*ids, ids[0], ids[0], ids[3]], ONE_PASS)
        searches = emu.stats()["searches"]
    assert searches == 5
    assert sorted(line.record.line for line in lines) == list(range(1, 9))
    assert all(line.verdict.value == "gone" for line in lines)
    assert [line.checks for line in lines].count(0) == 3  # the duplicates: the first record's verdict, no query
    assert code == 0


async def test_velt_get_documents_in_batches_of_thirty() -> None:
    docs = [f"velt-doc-{n}" for n in range(70)]
    async with run_emulator(EmulatorConfig(), docs=docs[:10]) as emu:
        settings = VeltSettings(
            base_url=emu.base_url, organization_id="org-1", api_key=Secret(KEY), auth_token=Secret("t")
        )
        lines, code, _ = await verified(VeltGetCheck(settings), docs, ONE_PASS)
        gets = emu.stats()["gets"]
    assert gets == 3
    counts = Counter(line.verdict.value for line in lines)
    assert counts == {"gone": 60, "present": 10}
    assert {line.record.id for line in lines if line.verdict.value == "present"} == set(docs[:10])
    assert code == 1


async def test_http_a_gone_status_is_gone_and_a_2xx_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN", KEY)
    async with run_emulator(EmulatorConfig(), docs=["a/b c", "kept"]) as emu:
        settings = http_settings(
            f"{emu.base_url}/rest/docs/{{id}}", "GET", ["Authorization: Bearer ${TOKEN}"], "404,410"
        )
        lines, code, _ = await verified(HttpCheck(settings), ["a/b c", "gone-one", "kept"])
    assert {line.record.id: line.verdict.value for line in lines} == {
        "a/b c": "present",
        "gone-one": "gone",
        "kept": "present",
    }
    assert by_id(lines)["gone-one"].evidence == "GET answered 404"
    assert code == 1


async def test_the_library_streams_verdicts_and_closes_early_cleanly() -> None:
    ids = [f"https://s.example/{n}" for n in range(40)]
    async with run_emulator(EmulatorConfig(latency_ms=20.0), docs=[]) as emu:
        taken: list[VerdictLine] = []
        stream = verify_ids(coveo_check(emu, batch_size=1), ids, options([], concurrency=2), ONE_PASS)
        async for line in stream:
            taken.append(line)
            if len(taken) == 3:
                break
        await stream.aclose()
        inflight = emu.stats()["inflight"]
        searches = emu.stats()["searches"]
    assert len(taken) == 3 and all(line.ok for line in taken)
    assert inflight == 0, "no request is left running once aclose() returns"
    assert searches < len(ids)


async def test_a_failed_check_is_unknown_never_gone() -> None:
    config = EmulatorConfig(fail_rate=1.0, seed=2)
    async with run_emulator(config, docs=[]) as emu:
        lines, code, _ = await verified(
            coveo_check(emu), ["https://u.example/1"], ONE_PASS, run_options=options([], max_attempts=3)
        )
    (line,) = lines
    assert line.verdict.value == "unknown" and "gave up after 3 attempts" in (line.error or "")
    assert code == 1


async def test_the_logs_window_opens_a_minute_before_the_earliest_result_line(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    lines = [
        {"id": "https://w.example/1", "outcome": "accepted", "ok": True, "ts": "2026-12-01T10:00:00.000Z"},
        {"id": "https://w.example/2", "outcome": "accepted", "ok": True, "ts": "2026-12-01T09:00:00.000Z"},
        {"id": "https://w.example/3", "outcome": "failed", "ok": False, "error": "500 x", "ts": "2026-12-01T11:00:00Z"},
    ]
    results.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    windows: list[float] = []

    class Recording(CoveoLogs):
        async def refresh(self, *args: Any, **kwargs: Any) -> None:
            windows.append(self.since)
            await super().refresh(*args, **kwargs)

    async with run_emulator(EmulatorConfig(), docs=["https://w.example/1"]) as emu:
        report = await run_verification(
            coveo_check(emu),
            options([results], output=str(tmp_path / "v.jsonl")),
            ONE_PASS,
            logs=lambda warn: Recording(emu.base_url, ORG, SOURCE, Secret(KEY), since=2e9, warn=warn),
        )
    verdicts = {line["id"]: line["verdict"] for line in read_lines(tmp_path / "v.jsonl")}
    assert verdicts == {
        "https://w.example/1": "present",
        "https://w.example/2": "gone",
        "https://w.example/3": "not_deleted",
    }
    assert report.exit_code == 1
    assert windows[0] == 2e9  # before the input is read: --since's
    assert windows[-1] == datetime(2026, 12, 1, 8, 59, tzinfo=UTC).timestamp()  # the earliest ts, less a minute


async def test_a_slow_consumer_holds_the_ids_back_and_parked_ids_do_not_count() -> None:
    """Backpressure as for deletions (``ahead``); ids waiting for their next check are parked on disk: with more
    of them than ``ahead`` the run still ends (were they counted, it would wait for results that cannot come)."""
    ids = [f"https://b.example/{n}" for n in range(1500)]
    pulled, taken, gaps = 0, 0, []

    def source() -> Iterator[str]:
        nonlocal pulled
        for record_id in ids:
            gaps.append(pulled - taken)
            pulled += 1
            yield record_id

    async with run_emulator(EmulatorConfig(), docs=ids[1::2]) as emu:  # every other id is still in the index
        check = coveo_check(emu)
        async with Verification(check, source(), options([]), ONE_PASS, ahead=300) as run:
            async for _ in run:
                taken += 1
                for _ in range(20):  # a slow consumer
                    await asyncio.sleep(0)
    assert taken == len(ids)
    assert run.report.summary["verification"]["verdicts"] == {"gone": 750, "present": 750}
    # At most `ahead` ids in memory beyond the results taken; of the ids pulled, every other one waits in the spool.
    assert all(gap <= 300 + (pulled + 1) // 2 for pulled, gap in enumerate(gaps))
    assert max(gaps) > 300  # ... and parked ids did let the run pull beyond `ahead`
