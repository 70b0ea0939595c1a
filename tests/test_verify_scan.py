"""Verifying by scan (SPEC §13.1), end to end: the real verifier lists the real emulator's source.

Every scan verdict is checked against the ids check on the same documents, and against the emulator's own final
documents: never a false ``gone``. The emulator's indexing clock moves with ``emu.advance``, never by sleeping.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bulkdelete import (
    CoveoSearchCheck,
    VeltGetCheck,
    VeltSettings,
    VeltTarget,
    VerdictLine,
)
from bulkdelete.emulator import Emulator, EmulatorConfig, run_emulator
from bulkdelete.net.transport import HttpTransport
from bulkdelete.output.stats import RunStats
from bulkdelete.pipeline.run import RunOptions
from bulkdelete.pipeline.settings import EngineSettings
from bulkdelete.rate.control import RateControl
from bulkdelete.records import Record
from bulkdelete.secrets import Secret
from bulkdelete.select import CoveoListing, Listed, Listing, VeltListing
from bulkdelete.verify import CoveoLogs, VerifyOptions, run_verification
from bulkdelete.verify.choice import CheckMode, QueryCosts
from bulkdelete.verify.run import VerifyReport
from bulkdelete.verify.scanning import ScanPlan
from tests.conftest import CHILDREN_TREE, KEY, ORG, SOURCE, collect, options, write_ids
from tests.test_verify import delete_all

SOURCE_NAME = "demo-source"  # the emulator's source of plain ids
ONE_PASS = VerifyOptions(interval_s=0.05, wait_s=0.0, logs_interval_s=0.0)
FAST = VerifyOptions(interval_s=0.05, wait_s=3.0, logs_interval_s=0.0)


def coveo_check(emu: Emulator, *, children: bool = False) -> CoveoSearchCheck:
    return CoveoSearchCheck(emu.base_url, ORG, Secret(KEY), children=children)


def coveo_logs(emu: Emulator) -> Callable[[Callable[[str], None]], CoveoLogs]:
    return lambda warn: CoveoLogs(emu.base_url, ORG, SOURCE, Secret(KEY), since=0.0, warn=warn)


def coveo_scan(emu: Emulator, mode: CheckMode = CheckMode.SCAN, *, children: bool = False, key: str = KEY) -> ScanPlan:
    def listing(name: str | None) -> Listing:
        return CoveoListing(emu.base_url, ORG, Secret(key), source=name, aq=None)

    return ScanPlan(mode, listing, name=SOURCE_NAME, costs=QueryCosts(children=children))


async def verified(
    check: Any,
    ids: Sequence[str],
    verify: VerifyOptions = ONE_PASS,
    *,
    scan: ScanPlan | None = None,
    logs: Any = None,
    run_options: RunOptions | None = None,
) -> tuple[dict[str, VerdictLine], VerifyReport]:
    lines: list[VerdictLine] = []

    async def records() -> AsyncIterator[list[Record]]:
        yield [Record(i, n) for n, i in enumerate(ids, 1)]

    report = await run_verification(
        check,
        run_options or options([]),
        verify,
        logs=logs,
        records=records(),
        stdout=io.BytesIO(),
        on_line=lines.append,
        scan=scan,
    )
    assert len(lines) == len(ids)
    return {line.record.id: line for line in lines}, report


def verdicts(lines: dict[str, VerdictLine]) -> dict[str, str]:
    return {i: line.verdict.value for i, line in lines.items()}


async def test_a_scan_gives_the_verdicts_the_ids_give_and_never_a_false_gone(tmp_path: Path) -> None:
    docs = [f"https://site.example/doc/{n}" for n in range(80)]
    deleted, kept = docs[:60], docs[60:70]
    config = EmulatorConfig(processing_delay_s=60.0, delete_fail_rate=0.2, secured_rate=0.5, seed=3)
    async with run_emulator(config, docs=docs) as emu:
        await require_listing(emu)
        await delete_all(emu, deleted, tmp_path)
        emu.advance(120.0)
        by_ids, ids_report = await verified(coveo_check(emu), deleted + kept, logs=coveo_logs(emu))
        by_scan, scan_report = await verified(
            coveo_check(emu), deleted + kept, logs=coveo_logs(emu), scan=coveo_scan(emu)
        )
        left = set(emu.documents)
    assert verdicts(by_scan) == verdicts(by_ids)
    gone = {i for i, line in by_scan.items() if line.ok}
    assert gone == set(deleted) - left and not gone & left
    failed = {i for i, line in by_scan.items() if line.verdict.value == "failed"}
    assert failed == set(deleted) & left and failed  # through the Logs API, as the ids check
    assert all(by_scan[i].log == by_ids[i].log for i in failed)
    # Never deleted, half of them secured: a listing with viewAllContent sees every one.
    assert {i for i, line in by_scan.items() if line.verdict.value == "present"} == set(kept)
    assert {by_scan[i].evidence for i in gone} == {
        f"scan: not in source {SOURCE_NAME} ({len(left)} items listed, viewAllContent)"
    }
    assert scan_report.verification["checks"] == {"scan": 1}
    assert ids_report.verification["checks"] == {"ids": 1}
    assert scan_report.exit_code == ids_report.exit_code == 1
    assert scan_report.verification["queries"] == scan_report.summary["requests"]


async def test_a_delete_still_pending_at_the_first_scan_is_gone_at_a_later_one(tmp_path: Path) -> None:
    docs = [f"https://site.example/p/{n}" for n in range(20)]
    async with run_emulator(EmulatorConfig(processing_delay_s=60.0), docs=docs) as emu:
        await require_listing(emu)
        await delete_all(emu, docs[:10], tmp_path)
        made: list[int] = []

        def listing(name: str | None) -> Listing:
            made.append(1)
            if len(made) == 2:  # the second round: the deletes have taken effect meanwhile
                emu.advance(120.0)
            return CoveoListing(emu.base_url, ORG, Secret(KEY), source=name, aq=None)

        plan = ScanPlan(CheckMode.SCAN, listing, name=SOURCE_NAME)
        lines, report = await verified(coveo_check(emu), docs[:10], FAST, scan=plan)
    assert all(line.verdict.value == "gone" and line.checks == 2 for line in lines.values())
    assert report.verification["checks"] == {"scan": 2}


class FailingAfterFirstPage:
    """The real listing, whose emulator starts answering 503 once its first page has been read (``fail``), so
    that the listing breaks off mid-way; a listing built with ``fail`` False lists normally."""

    def __init__(self, inner: CoveoListing, emu: Emulator, *, fail: bool) -> None:
        self._inner, self._emu, self._fail = inner, emu, fail
        self.pages_read = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def pages(
        self, transport: HttpTransport, rate: RateControl, settings: EngineSettings, stats: RunStats
    ) -> AsyncIterator[list[Listed]]:
        async for page in self._inner.pages(transport, rate, settings, stats):
            self.pages_read += 1
            if self._fail:
                self._emu.state.config = dataclasses.replace(self._emu.state.config, fail_rate=1.0)
            yield page


async def test_a_listing_broken_off_mid_way_decides_nothing_that_round(tmp_path: Path) -> None:
    docs = [f"https://site.example/m/{n}" for n in range(5000)]
    deleted = docs[:100]
    async with run_emulator(EmulatorConfig(seed=1), docs=docs) as emu:
        await require_listing(emu)
        await delete_all(emu, deleted, tmp_path)
        made: list[FailingAfterFirstPage] = []

        def listing(name: str | None) -> Listing:
            emu.state.config = dataclasses.replace(emu.state.config, fail_rate=0.0)
            inner = CoveoListing(emu.base_url, ORG, Secret(KEY), source=name, aq=None, ranges=1)
            made.append(FailingAfterFirstPage(inner, emu, fail=not made))
            return made[-1]

        plan = ScanPlan(CheckMode.SCAN, listing, name=SOURCE_NAME)
        one_attempt = options([], max_attempts=1)
        # One pass: the only round's listing broke off: every id is unknown, none gone by guess.
        lines, report = await verified(coveo_check(emu), deleted, scan=plan, run_options=one_attempt)
        assert made[0].pages_read >= 1 and not made[0].complete
        assert {line.verdict.value for line in lines.values()} == {"unknown"}
        assert all("scan: the listing of source demo-source stopped" in (line.error or "") for line in lines.values())
        assert report.exit_code == 1
        # With rounds to spare, the next round's complete listing decides them.
        made.clear()
        lines, report = await verified(coveo_check(emu), deleted, FAST, scan=plan, run_options=one_attempt)
    assert all(line.verdict.value == "gone" and line.checks == 2 for line in lines.values())
    assert report.verification["checks"] == {"scan": 2}


async def test_a_refused_search_key_stops_the_scan_with_exit_3_and_decides_nothing(tmp_path: Path) -> None:
    docs = [f"https://site.example/k/{n}" for n in range(10)]
    async with run_emulator(EmulatorConfig(api_key=KEY), docs=docs) as emu:
        await require_listing(emu)
        await delete_all(emu, docs[:5], tmp_path)
        lines: list[VerdictLine] = []

        async def records() -> AsyncIterator[list[Record]]:
            yield [Record(i, n) for n, i in enumerate(docs[:5], 1)]

        report = await run_verification(
            coveo_check(emu),
            options([]),
            FAST,
            records=records(),
            stdout=io.BytesIO(),
            on_line=lines.append,
            scan=coveo_scan(emu, key="wrong-search-key"),
        )
        searches = emu.stats()["searches"]
    assert report.exit_code == 3 and lines == []
    assert searches <= 2  # the bounds queries, answered 401: nothing more is asked


async def test_children_are_read_from_the_listing_by_prefix(tmp_path: Path) -> None:
    async with run_emulator(EmulatorConfig(), docs=CHILDREN_TREE) as emu:
        await require_listing(emu)
        await delete_all(emu, ["file://s/folder", "file://s/other/folder/c"], tmp_path)
        ids = ["file://s/folder", "file://s/other/folder/c", "file://s/folderx", "file://s/folder/sub/"]
        by_ids, _ = await verified(coveo_check(emu, children=True), ids)
        before = emu.stats()["searches"]
        by_scan, report = await verified(coveo_check(emu, children=True), ids, scan=coveo_scan(emu, children=True))
        searches = emu.stats()["searches"] - before
    assert verdicts(by_scan) == verdicts(by_ids)
    folder = by_scan["file://s/folder"]
    assert folder.verdict.value == "present" and folder.children_left == 2  # a.pdf and sub/b.docx, not the siblings
    assert by_ids["file://s/folder"].children_left == 2
    assert by_scan["file://s/other/folder/c"].verdict.value == "gone"
    assert by_scan["file://s/folderx"].verdict.value == "present"  # never deleted
    slashed = by_scan["file://s/folder/sub/"]  # not a document itself: its descendant sub/b.docx is left
    assert slashed.verdict.value == "present" and slashed.children_left == 1
    assert report.verification["checks"] == {"scan": 1}
    assert searches == 3  # the bounds and one page: no query per id, none per child


async def verified_auto(
    tmp_path: Path, prefix: str, documents: int, deleted: int
) -> tuple[dict[str, VerdictLine], VerifyReport, int]:
    """The first ``deleted`` of ``documents`` items deleted, then verified with ``--check auto``: its verdicts, its
    report, and the searches the verification cost."""
    docs = [f"{prefix}{n}" for n in range(documents)]
    async with run_emulator(EmulatorConfig(), docs=docs) as emu:
        await require_listing(emu)
        await delete_all(emu, docs[:deleted], tmp_path)
        before = emu.stats()["searches"]
        lines, report = await verified(coveo_check(emu), docs[:deleted], scan=coveo_scan(emu, CheckMode.AUTO))
        return lines, report, emu.stats()["searches"] - before


async def test_auto_scans_when_most_of_a_big_source_is_deleted(tmp_path: Path) -> None:
    lines, report, searches = await verified_auto(tmp_path, "https://site.example/a/", 3000, 2900)
    assert all(line.verdict.value == "gone" for line in lines.values())
    assert report.verification["checks"] == {"scan": 1}
    # One count, two bounds, one page of the 100 items left: against 29 queries of 100 ids.
    assert searches == report.verification["queries"] <= 5


async def test_auto_asks_for_the_ids_when_few_are_pending_among_many_documents(tmp_path: Path) -> None:
    lines, report, searches = await verified_auto(tmp_path, "https://site.example/f/", 5000, 450)
    assert all(line.verdict.value == "gone" for line in lines.values())
    assert report.verification["checks"] == {"ids": 1}
    assert searches == 1 + 5  # the count (4,550 items: a 7-query scan) and 5 queries of at most 100 ids


async def test_auto_with_few_ids_asks_no_count_at_all(tmp_path: Path) -> None:
    docs = [f"https://site.example/s/{n}" for n in range(50)]
    async with run_emulator(EmulatorConfig(), docs=docs) as emu:
        await require_listing(emu)
        await delete_all(emu, docs[:30], tmp_path)
        before = emu.stats()["searches"]
        _, report = await verified(coveo_check(emu), docs[:30], scan=coveo_scan(emu, CheckMode.AUTO))
        searches = emu.stats()["searches"] - before
    assert searches == 1 and report.verification["checks"] == {"ids": 1}


async def test_velt_scan_lists_the_organization_and_auto_checks_by_ids(tmp_path: Path) -> None:
    docs = [f"doc-{n}" for n in range(40)]
    async with run_emulator(EmulatorConfig(), docs=docs) as emu:
        await require_listing(emu, "velt")
        settings = VeltSettings(
            base_url=emu.base_url, organization_id=ORG, api_key=Secret(KEY), auth_token=Secret("token")
        )
        _, _, code = await collect(VeltTarget(settings), options([write_ids(tmp_path / "d.txt", docs[:25])]))
        assert code == 0

        def listing(_: str | None) -> Listing:
            return VeltListing(emu.base_url, ORG, Secret(KEY), Secret("token"), folder=None)

        plan = ScanPlan(CheckMode.SCAN, listing, where=f"organization {ORG}", countable=False, view_all=False)
        ids = docs[:30]
        by_ids, _ = await verified(VeltGetCheck(settings), ids)
        by_scan, report = await verified(VeltGetCheck(settings), ids, scan=plan)
        by_auto, auto_report = await verified(
            VeltGetCheck(settings), ids, scan=dataclasses.replace(plan, mode=CheckMode.AUTO)
        )
    assert verdicts(by_scan) == verdicts(by_ids) == verdicts(by_auto)
    assert {i for i, line in by_scan.items() if line.ok} == set(docs[:25])
    assert by_scan[docs[0]].evidence == f"scan: not in organization {ORG} (15 items listed)"
    assert report.verification["checks"] == {"scan": 1}
    assert auto_report.verification["checks"] == {"ids": 1}


async def require_listing(emu: Emulator, api: str = "coveo") -> None:
    """Fail at once, saying why, unless the emulator serves what a scan lists with (SPEC §13: ``@source==``/``@rowid``
    keyset queries; Velt's paged Get Documents)."""
    async with aiohttp.ClientSession() as session:
        if api == "coveo":
            url = f"{emu.base_url}/rest/search/v2?organizationId={ORG}&viewAllContent=true"
            body = {
                "aq": f'@source=="{SOURCE_NAME}" @rowid>0',
                "numberOfResults": 0,
                "sortCriteria": "@rowid ascending",
            }
            headers = {"Authorization": f"Bearer {KEY}"}
        else:
            url = f"{emu.base_url}/v2/organizations/documents/get"
            body = {"data": {"organizationId": ORG, "pageSize": 1}}
            headers = {"x-velt-api-key": KEY, "x-velt-auth-token": "token"}
        async with session.post(url, json=body, headers=headers) as reply:
            answer = await reply.json(content_type=None) if reply.status == 200 else None
    result = answer.get("result") if isinstance(answer, dict) else None
    if reply.status != 200 or (api == "velt" and not (isinstance(result, dict) and "pageToken" in result)):
        pytest.fail(f"the emulator does not list {api} documents (SPEC §13)")
