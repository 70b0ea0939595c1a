"""Many processes, one quota (SPEC §12): ``--rate-store`` / ``--rate-key`` against a real ``redis-server``.

The grant script is checked on the slot times it returns (Redis's own clock, no sleeping); the fleet with real CLI
processes sharing one strict emulator quota, with bounds rather than exact timings (a busy 2-core machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import signal
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio

from bulkdelete.emulator import EmulatorConfig, run_emulator
from bulkdelete.emulator.config import Quota
from bulkdelete.emulator.state import max_in_window
from bulkdelete.errors import ConfigError
from bulkdelete.pipeline.run import run_deletion
from bulkdelete.rate.control import FixedRate
from bulkdelete.rate.redis_store import RateStore, RedisGrants, open_grants
from bulkdelete.rate.shared import BLOCK_S, SharedPacer
from bulkdelete.secrets import Secret
from bulkdelete.targets.coveo import CoveoItemTarget, CoveoSettings
from tests.conftest import KEY, ORG, SOURCE, Completed, cli_env, coveo_args, options, read_lines, start_cli, write_ids
from tests.redis_server import RedisServer, free_port

pytestmark = pytest.mark.slow
INTERVAL, TOLERANCE = 0.01, 0.002  # seconds: a rate of 100/s for the script's own tests
PASSWORD = "red1s-pa55word-never-printed"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def grants(store: RedisServer) -> AsyncIterator[RedisGrants]:
    async with open_grants(RateStore.from_url(store.url, "bulkdelete:test:script")) as opened:
        yield opened


# -- the grant script ---------------------------------------------------------------------------------------------


async def test_a_fresh_key_grants_from_now_without_credit(grants: RedisGrants) -> None:
    grant = await grants.grant(5, INTERVAL, TOLERANCE, 0.0)
    assert grant.count == 5
    assert grant.first == pytest.approx(grant.now, abs=1e-6)  # no start-up burst: nothing banked
    assert grant.pause_until == 0.0


async def test_blocks_follow_each_other_one_interval_apart(grants: RedisGrants) -> None:
    first = await grants.grant(5, INTERVAL, TOLERANCE, 0.0)
    second = await grants.grant(3, INTERVAL, TOLERANCE, 0.0)
    third = await grants.grant(1, INTERVAL, TOLERANCE, 0.0)
    assert second.first == pytest.approx(first.first + 5 * INTERVAL, abs=2e-6)
    assert third.first == pytest.approx(second.first + 3 * INTERVAL, abs=2e-6)
    assert third.now >= second.now >= first.now


async def test_an_idle_schedule_re_anchors_one_tolerance_back(store: RedisServer, grants: RedisGrants) -> None:
    key = "bulkdelete:test:script"
    first = await grants.grant(1, INTERVAL, TOLERANCE, 0.0)
    async with redis.asyncio.Redis(port=store.port) as client:
        await client.hset(key, "tat", f"{(first.now - 60.0) * 1e6:.0f}")  # the fleet was idle for a minute
    later = await grants.grant(2, INTERVAL, TOLERANCE, 0.0)
    assert later.first == pytest.approx(later.now - TOLERANCE, abs=2e-6)  # one slot of credit at most, not a minute's


async def test_a_shared_pause_holds_every_later_grant_and_is_never_shortened(grants: RedisGrants) -> None:
    paused = await grants.grant(0, INTERVAL, TOLERANCE, 1.5)
    assert paused.count == 0
    assert paused.pause_until == pytest.approx(paused.now + 1.5, abs=1e-6)
    shorter = await grants.grant(0, INTERVAL, TOLERANCE, 0.1)
    assert shorter.pause_until == paused.pause_until
    after = await grants.grant(4, INTERVAL, TOLERANCE, 0.0)
    assert after.first == pytest.approx(paused.pause_until, abs=1e-6)
    assert after.pause_until == paused.pause_until


async def test_keys_are_independent_and_expire(store: RedisServer, grants: RedisGrants) -> None:
    await grants.grant(50, INTERVAL, TOLERANCE, 0.0)  # half a second reserved ahead
    async with open_grants(RateStore.from_url(store.url, "bulkdelete:test:other")) as other:
        fresh = await other.grant(1, INTERVAL, TOLERANCE, 0.0)
    assert fresh.first == pytest.approx(fresh.now, abs=1e-6)
    async with redis.asyncio.Redis(port=store.port) as client:
        ttl_ms = await client.pttl("bulkdelete:test:script")
    assert 60_000 < ttl_ms <= 61_000  # a minute after the last slot it granted


# -- the shared pacer: the window bounds of SPEC §12, whatever the timing ---------------------------------------------


async def test_pacers_sharing_a_key_keep_every_window_bound(store: RedisServer) -> None:
    """Four pacers (four processes' worth: each its own connection and clock offset) with eight workers each take
    slots from one key for 1.5 s. Every start lies in ``[slot - early, slot + late]`` by construction, so the bounds
    hold however late the loop runs: at most R in any 1 s, at most R·T + 2 + one block per pacer in any window T."""
    rate, pacers_n, workers, run_s = 200, 4, 8, 1.5
    loop = asyncio.get_running_loop()
    starts: list[float] = []
    key = RateStore.from_url(store.url, "bulkdelete:test:bounds")
    async with contextlib.AsyncExitStack() as stack:
        stores = [await stack.enter_async_context(open_grants(key)) for _ in range(pacers_n)]
        pacers = [SharedPacer(rate, grants, clock=loop.time) for grants in stores]
        deadline = loop.time() + run_s

        async def work(pacer: SharedPacer) -> None:
            while loop.time() < deadline:
                await pacer.acquire()
                starts.append(loop.time())

        await asyncio.gather(*(work(pacer) for pacer in pacers for _ in range(workers)))
    starts.sort()
    block = math.floor(rate * BLOCK_S)
    assert max_in_window(starts, 1.0) <= rate
    for window_s in (0.05, 0.1, 0.25, 0.5):
        assert max_in_window(starts, window_s) <= rate * window_s + 2 + pacers_n * block, window_s
    first_10ms = sum(1 for at in starts if at <= starts[0] + 0.01)
    assert first_10ms <= 2 + pacers_n * block  # no start-up burst: nothing banked before the first grant
    assert sum(pacer.granted for pacer in pacers) == len(starts)
    assert sum(pacer.round_trips for pacer in pacers) <= len(starts)  # blocks: fewer round trips than starts


async def test_a_request_that_left_late_leaves_the_fleet_one_slot(store: RedisServer) -> None:
    """A request that had to open a new connection leaves after its slot (``left_late``, told by the transport):
    past the slack, the process leaves its next slot unused, so the late start stands for it."""
    loop = asyncio.get_running_loop()
    async with open_grants(RateStore.from_url(store.url, "bulkdelete:test:late")) as grants:
        pacer = SharedPacer(200, grants, clock=loop.time)
        await pacer.acquire()
        assert not pacer.left_late(loop.time())  # a pooled connection: on time
        assert pacer.left_late(loop.time() - 0.5)  # half a second to connect
        await pacer.acquire()
    assert (pacer.granted, pacer.late) == (2, 1)
    assert pacer.dropped >= 1 and pacer.round_trips >= 3  # one slot taken from the fleet and left unused


# -- the fleet: real CLI processes sharing one quota ----------------------------------------------------------------

RATE = 200


def fleet_args(base_url: str, server: RedisServer, out: Path, ids: Path, *extra: str) -> list[str]:
    return coveo_args(
        base_url, "--rate", str(RATE), "--rate-store", server.url, "-o", str(out), "--no-progress", *extra, str(ids)
    )


async def finish(proc: asyncio.subprocess.Process, timeout: float = 60) -> Completed:
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    assert KEY not in err.decode() and PASSWORD not in err.decode()
    return Completed(proc.returncode, out, err.decode())


def id_files(tmp_path: Path, processes: int, each: int) -> list[Path]:
    return [
        write_ids(tmp_path / f"ids-{p}.txt", [f"https://fleet.example/{p}/{n}" for n in range(each)])
        for p in range(processes)
    ]


async def test_three_processes_share_one_quota_without_a_throttle(tmp_path: Path, store: RedisServer) -> None:
    files = id_files(tmp_path, 3, 150)  # 450 ids at 200/s together: ~2.3 s
    async with run_emulator(EmulatorConfig(quota=Quota(RATE, 1.0)), docs=[]) as emu:
        procs = [
            await start_cli(*fleet_args(emu.base_url, store, tmp_path / f"out-{p}.jsonl", f))
            for p, f in enumerate(files)
        ]
        done = await asyncio.gather(*(finish(proc) for proc in procs))
        seen = emu.stats()
    assert [d.code for d in done] == [0, 0, 0], [d.stderr for d in done]
    assert seen["throttled"] == 0 and seen["max_per_second"] <= RATE
    assert seen["requests"] == 450


async def test_a_process_killed_mid_run_leaves_the_others_their_quota(tmp_path: Path, store: RedisServer) -> None:
    files = id_files(tmp_path, 3, 200)
    async with run_emulator(EmulatorConfig(quota=Quota(RATE, 1.0)), docs=[]) as emu:
        procs = [
            await start_cli(*fleet_args(emu.base_url, store, tmp_path / f"out-{p}.jsonl", f))
            for p, f in enumerate(files)
        ]
        await wait_for_lines(tmp_path / "out-0.jsonl", 20)
        procs[0].send_signal(signal.SIGKILL)
        done = await asyncio.gather(*(finish(proc) for proc in procs[1:]))
        await procs[0].wait()
        seen = emu.stats()
    assert [d.code for d in done] == [0, 0], [d.stderr for d in done]
    assert seen["throttled"] == 0 and seen["max_per_second"] <= RATE
    for p in (1, 2):
        assert {line["id"] for line in read_lines(tmp_path / f"out-{p}.jsonl")} == set(files[p].read_text().split())


def lines_in(path: Path) -> int:
    return len(read_lines(path)) if path.exists() else 0


async def wait_for_lines(path: Path, count: int, timeout: float = 30) -> None:
    """Poll a results file another process writes (no event crosses processes) until it holds ``count`` lines."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while lines_in(path) < count:
        assert loop.time() < deadline, f"{path.name}: fewer than {count} lines after {timeout:g} s"
        await asyncio.sleep(0.02)


async def test_a_short_store_outage_is_ridden_out(tmp_path: Path, store: RedisServer) -> None:
    files = id_files(tmp_path, 2, 250)  # 500 ids at 200/s: ~2.5 s, with a 1.5 s outage in the middle
    async with run_emulator(EmulatorConfig(quota=Quota(RATE, 1.0)), docs=[]) as emu:
        procs = [
            await start_cli(*fleet_args(emu.base_url, store, tmp_path / f"out-{p}.jsonl", f))
            for p, f in enumerate(files)
        ]
        # Both under way first: a process that meets the store down at its start is refused (exit 2, nothing sent),
        # which is another test's case; on a busy machine the second can still be starting when the first has 40.
        for p in range(len(procs)):
            await wait_for_lines(tmp_path / f"out-{p}.jsonl", 20)
        store.stop()
        await asyncio.sleep(1.5)
        store.start()
        done = await asyncio.gather(*(finish(proc) for proc in procs))
        seen = emu.stats()
    assert [d.code for d in done] == [0, 0], [d.stderr for d in done]
    for p, ids in enumerate(files):
        lines = read_lines(tmp_path / f"out-{p}.jsonl")
        assert sorted(line["id"] for line in lines) == sorted(ids.read_text().split())
        assert all(line["outcome"] == "accepted" for line in lines)
    assert seen["throttled"] == 0 and seen["requests"] == 500


async def test_a_store_gone_for_good_stops_the_run_and_resume_finishes_it(tmp_path: Path, store: RedisServer) -> None:
    """In-process, with an outage limit of 1 s (the CLI's is 30 s): exit 3, lines kept, --resume sends the rest."""
    ids = [f"https://gone.example/{n}" for n in range(400)]
    source = write_ids(tmp_path / "ids.txt", ids)
    journal = tmp_path / "journal.jsonl"
    rate_store = RateStore.from_url(store.url, "bulkdelete:test:gone", outage_s=1.0)
    async with run_emulator(EmulatorConfig(quota=Quota(RATE, 1.0)), docs=ids) as emu:
        target = CoveoItemTarget(CoveoSettings(emu.base_url, ORG, SOURCE, Secret(KEY)))
        opts = options([source], rate=FixedRate(RATE), rate_store=rate_store, resume=str(journal), quiet=False)
        run = asyncio.ensure_future(run_deletion(target, opts, stderr=(err := io.StringIO())))
        await wait_for_lines(journal, 50)
        store.stop()
        report = await asyncio.wait_for(run, 30)
        assert report.exit_code == 3
        assert "rate store unreachable" in err.getvalue() and store.url.rstrip("0").rstrip("/") in err.getvalue()
        first = read_lines(journal)
        assert 50 <= len(first) < 400 and all(line["ok"] for line in first)
        assert len({line["id"] for line in first}) == len(first)
        store.start()
        again = await run_deletion(target, opts, stderr=io.StringIO())
        seen = emu.stats()
    assert again.exit_code == 0
    counts = Counter(line["id"] for line in read_lines(journal))
    assert set(counts) == set(ids) and set(counts.values()) == {1}  # every id exactly once over the two runs
    assert seen["requests"] == 400 and not emu.documents


# -- refused before anything is sent ---------------------------------------------------------------------------------


async def cli_refusal(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Completed:
    ids = write_ids(tmp_path / "ids.txt", ["https://x.example/1", "https://x.example/2"])
    async with run_emulator(EmulatorConfig(), docs=[]) as emu:
        proc = await start_cli(*coveo_args(emu.base_url, *args, str(ids)), env=cli_env(env))
        done = await finish(proc)
        assert emu.stats()["requests"] == 0  # nothing sent
    assert done.stdout == b""
    return done


async def test_a_wrong_password_is_refused_naming_the_store_never_the_password(tmp_path: Path) -> None:
    server = RedisServer(tmp_path, password="the-right-one-123")
    server.start()
    try:
        url = f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0"
        done = await cli_refusal(tmp_path, env={"BULKDELETE_RATE_STORE": url})
    finally:
        server.stop()
    assert done.code == 2, done.stderr
    assert f"the rate store redis://127.0.0.1:{server.port}/0 refused the credentials" in done.stderr


async def test_the_password_from_the_environment_works(tmp_path: Path) -> None:
    server = RedisServer(tmp_path, password=PASSWORD)
    server.start()
    try:
        ids = write_ids(tmp_path / "ids.txt", [f"https://pw.example/{n}" for n in range(20)])
        async with run_emulator(EmulatorConfig(), docs=[]) as emu:
            url = f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0"
            proc = await start_cli(
                *coveo_args(emu.base_url, "--rate", "100", str(ids)), env=cli_env({"BULKDELETE_RATE_STORE": url})
            )
            done = await finish(proc)
        async with redis.asyncio.Redis(port=server.port, password=PASSWORD) as client:
            keys = await client.keys("*")
    finally:
        server.stop()
    assert done.code == 0, done.stderr
    assert keys == [f"bulkdelete:coveo:{ORG}".encode()]  # the default key


async def test_an_unreachable_store_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    port = free_port()
    done = await cli_refusal(tmp_path, "--rate-store", f"redis://127.0.0.1:{port}/3")
    assert done.code == 2
    assert f"the rate store redis://127.0.0.1:{port}/3 is unreachable" in done.stderr


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:6379/0", "redis://127.0.0.1:notaport/0", "redis:///0", "redis://h/x"]
)
async def test_a_bad_store_url_is_a_usage_error(tmp_path: Path, url: str) -> None:
    done = await cli_refusal(tmp_path, "--rate-store", url)
    assert done.code == 2 and "--rate-store must be redis://" in done.stderr


async def test_a_password_on_the_command_line_is_a_usage_error(tmp_path: Path) -> None:
    done = await cli_refusal(tmp_path, "--rate-store", f"redis://:{PASSWORD}@127.0.0.1:6379/0")
    assert done.code == 2 and "BULKDELETE_RATE_STORE" in done.stderr


@pytest.mark.parametrize(("rate", "says"), [("auto", "--rate auto"), ("0", "--rate 0")])
async def test_a_rate_that_cannot_be_shared_is_a_usage_error(tmp_path: Path, rate: str, says: str) -> None:
    done = await cli_refusal(tmp_path, "--rate", rate, "--rate-store", "redis://127.0.0.1:6379/0")
    assert done.code == 2 and says in done.stderr


def test_the_store_is_named_without_user_or_password() -> None:
    store = RateStore.from_url(f"rediss://app:{PASSWORD}@cache.internal:6380/2", "k")
    assert store.where == "rediss://cache.internal:6380/2"
    assert PASSWORD not in repr(store) and PASSWORD not in store.url
    assert store.password is not None and store.password.reveal() == PASSWORD
    with pytest.raises(ConfigError) as caught:
        RateStore.from_url(f"redis://:{PASSWORD}@cache.internal:x/0", "k")
    assert PASSWORD not in str(caught.value)
