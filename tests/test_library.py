"""The library API (SPEC §10): ``Deletion`` and ``delete_ids`` against the emulator.

Backpressure is checked deterministically: the ids iterable records how many ids it has handed over against how
many results the caller has taken at that moment; the slow caller only yields to the loop (no wall-clock sleep).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest

from bulkdelete import CoveoItemTarget, CoveoSettings, Deletion, Outcome, RunOptions, Secret, Unlimited, delete_ids
from bulkdelete.emulator import Emulator, EmulatorConfig, run_emulator
from bulkdelete.rate.backoff import BackoffPolicy
from bulkdelete.targets.coveo_admin import StatusLifecycle
from tests.conftest import KEY, ORG, SOURCE

IDS = [f"https://site.example/lib/{n}" for n in range(3000)]


def options() -> RunOptions:
    return RunOptions(rate=Unlimited(), concurrency=8, backoff=BackoffPolicy.instant(), quiet=True, seed=1)


def settings(emu: Emulator) -> CoveoSettings:
    return CoveoSettings(emu.base_url, ORG, SOURCE, Secret(KEY))


class Tally:
    """Ids handed over vs results taken: ``ahead`` records ``pulled - taken`` at each id handed over."""

    def __init__(self) -> None:
        self.pulled = 0
        self.taken = 0
        self.ahead: list[int] = []

    def ids(self) -> Iterator[str]:
        for doc in IDS:
            self.ahead.append(self.pulled - self.taken)
            self.pulled += 1
            yield doc

    async def aids(self) -> AsyncIterator[str]:
        for doc in self.ids():
            yield doc


@pytest.mark.parametrize("source", ["iterable", "async iterable"])
async def test_a_slow_consumer_holds_the_ids_back(source: str) -> None:
    tally = Tally()
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        ids = tally.ids() if source == "iterable" else tally.aids()
        async with Deletion(CoveoItemTarget(settings(emu)), ids, options(), ahead=300) as run:
            async for _ in run:
                tally.taken += 1
                for _ in range(20):  # a slow consumer: every result costs it 20 turns of the loop
                    await asyncio.sleep(0)
        assert run.report.summary["records"] == len(IDS)
        assert run.report.exit_code == 0
        assert emu.documents == []
    assert tally.taken == len(IDS)
    assert max(tally.ahead) <= 300  # never more than `ahead` ids beyond the results taken
    assert max(tally.ahead) >= 150  # ... and the run did race ahead that far: without the bound it runs away


async def test_without_a_slow_consumer_the_bound_costs_nothing() -> None:
    async with run_emulator(EmulatorConfig(), docs=IDS[:500]) as emu:
        results = [r async for r in delete_ids(CoveoItemTarget(settings(emu)), IDS[:500], options(), ahead=64)]
    assert Counter(r.outcome for r in results) == {Outcome.ACCEPTED: 500}


async def test_an_early_close_returns_after_every_request_and_the_idle_status() -> None:
    tally = Tally()
    async with run_emulator(EmulatorConfig(latency_ms=20), docs=IDS) as emu:
        target = CoveoItemTarget(settings(emu))
        hooks = StatusLifecycle(settings(emu), "REFRESH")
        taken = 0
        async with contextlib.aclosing(delete_ids(target, tally.ids(), options(), hooks=hooks, ahead=200)) as results:
            async for _ in results:
                taken += 1
                tally.taken += 1
                if taken == 50:
                    break
        # Returned: nothing in flight, the source back to IDLE, and nothing sent from now on.
        assert emu.state.stats.inflight == 0
        assert emu.stats()["status_history"][SOURCE] == ["REFRESH", "IDLE"]
        sent = emu.stats()["requests"]
        for _ in range(50):
            await asyncio.sleep(0)
        await asyncio.sleep(0.1)
        assert emu.stats()["requests"] == sent
        assert len(emu.documents) >= len(IDS) - 300  # stopped early: the ids were not all pulled, let alone sent
    assert tally.pulled <= 50 + 200


async def test_an_exception_in_the_consumer_stops_the_run_and_is_raised() -> None:
    async with run_emulator(EmulatorConfig(latency_ms=10), docs=IDS) as emu:
        hooks = StatusLifecycle(settings(emu), "INCREMENTAL")
        run = Deletion(CoveoItemTarget(settings(emu)), IDS, options(), hooks=hooks)

        async def consume() -> None:
            async with run:
                async for result in run:
                    assert result.ok
                    raise ZeroDivisionError("the consumer failed")

        with pytest.raises(ZeroDivisionError, match="consumer failed"):
            await consume()
        assert emu.state.stats.inflight == 0
        assert emu.stats()["status_history"][SOURCE] == ["INCREMENTAL", "IDLE"]
        report = run.report
        assert report.summary["stop_reason"] == "interrupted"
        assert report.summary["stop_message"] == "closed by the caller"
        assert report.summary["records"] < len(IDS)


async def test_the_report_replaces_the_out_parameter_and_is_there_only_at_the_end() -> None:
    async def ids() -> AsyncIterator[str]:
        for doc in [*IDS[:50], IDS[0], "bad"]:
            yield doc

    async with run_emulator(EmulatorConfig(fail_rate=0.1, seed=5), docs=IDS[:50]) as emu:
        run = Deletion(CoveoItemTarget(settings(emu)), ids(), options())
        with pytest.raises(RuntimeError, match="not finished"):
            _ = run.report
        async with run:
            results = [r async for r in run]
            assert [r async for r in run] == []  # exhausted stays exhausted
        assert emu.documents == []
    assert Counter(r.outcome for r in results) == {Outcome.ACCEPTED: 50, Outcome.DUPLICATE: 1, Outcome.INVALID: 1}
    assert run.report.exit_code == 1
    assert run.report.summary["records"] == 52
    with pytest.raises(RuntimeError, match="runs once"):
        async with run:
            pass
    with pytest.raises(ValueError, match="ahead"):
        Deletion(CoveoItemTarget(settings(emu)), [], ahead=0)


def ids_then_raise(count: int, error: Exception) -> Iterator[str]:
    yield from IDS[:count]
    raise error


async def aids_then_raise(count: int, error: Exception) -> AsyncIterator[str]:
    for doc in IDS[:count]:
        yield doc
    raise error


@pytest.mark.parametrize("source", ["iterable", "async iterable"])
async def test_an_exception_from_the_ids_is_raised_as_itself_after_their_results(source: str) -> None:
    """Not an ``ExceptionGroup``: the caller's own exception object, after the results of the ids given before it."""
    count, error = 300, ValueError("bad source")  # 300: a full chunk of 256 ids, then a partial one
    async with run_emulator(EmulatorConfig(latency_ms=10), docs=IDS[:400]) as emu:
        hooks = StatusLifecycle(settings(emu), "INCREMENTAL")
        ids = ids_then_raise(count, error) if source == "iterable" else aids_then_raise(count, error)
        run = Deletion(CoveoItemTarget(settings(emu)), ids, options(), hooks=hooks)
        taken: list[str] = []

        async def consume() -> None:
            async with run:
                async for result in run:
                    assert result.ok
                    taken.append(result.record.id)

        with pytest.raises(ValueError, match="bad source") as raised:
            await consume()
        assert type(raised.value) is ValueError
        assert raised.value is error
        assert raised.traceback[-1].name in ("ids_then_raise", "aids_then_raise")  # raised where the caller raised it
        assert sorted(taken) == sorted(IDS[:count])  # every id given before the failure: deleted, its result yielded
        assert emu.documents == sorted(IDS[count:400])
        assert emu.state.stats.inflight == 0
        assert emu.stats()["status_history"][SOURCE] == ["INCREMENTAL", "IDLE"]
        sent = emu.stats()["requests"]
        assert sent == count + 2  # the deletes and the two status calls: nothing was sent after the failure
        for _ in range(50):
            await asyncio.sleep(0)
        assert emu.stats()["requests"] == sent
        with pytest.raises(ValueError, match="bad source") as again:
            _ = run.report
        assert again.value is error


async def test_delete_ids_raises_the_exception_of_the_ids_as_itself() -> None:
    error = KeyError("no such export")
    taken: list[str] = []

    async def consume(emu: Emulator) -> None:
        async for result in delete_ids(CoveoItemTarget(settings(emu)), aids_then_raise(20, error), options()):
            assert result.ok
            taken.append(result.record.id)

    async with run_emulator(EmulatorConfig(), docs=IDS[:20]) as emu:
        with pytest.raises(KeyError) as raised:
            await consume(emu)
        assert raised.value is error
        assert sorted(taken) == sorted(IDS[:20])
        assert emu.documents == []
        assert emu.stats()["requests"] == 20
