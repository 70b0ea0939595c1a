"""Watching a fleet live (SPEC §14) with a real Prometheus, Pushgateway and redis-server, against the emulator.

Three shards share one ``--rate`` through Redis, above the emulator's quota (so they are throttled), each serving
``/metrics`` to a Prometheus that scrapes every second and pushing its outcome to a Pushgateway. Everything is read
back through Prometheus's HTTP API: the sums by outcome against the result lines, the 429s against the summaries,
the fleet's rate, each shard's pushed group, the alert rules firing, every dashboard expression answering.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest

from bulkdelete.emulator import EmulatorConfig, run_emulator
from bulkdelete.emulator.config import Quota
from tests.conftest import KEY, ORG, ROOT, SOURCE, Completed, cli_env, coveo_args, read_lines, start_cli, write_ids
from tests.prometheus_servers import PROMTOOL, Prometheus, Pushgateway, http_get
from tests.redis_server import RedisServer, free_port

pytestmark = pytest.mark.slow
T = TypeVar("T")
SHARDS, RATE, QUOTA = 3, 40, 30  # the fleet's budget is above the API's quota: it is throttled
DASHBOARD = ROOT / "deploy" / "grafana" / "bulkdelete.json"


class Servers:
    def __init__(self, folder: Path) -> None:
        self.ports = [free_port() for _ in range(SHARDS + 2)]  # the shards, a verification, an interrupted run
        self.pushgateway = Pushgateway()
        self.prometheus = Prometheus(folder, self.pushgateway, [f"127.0.0.1:{port}" for port in self.ports])
        self.redis = RedisServer(folder)

    def stop(self) -> None:
        for server in (self.prometheus, self.pushgateway, self.redis):
            server.stop()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    started = Servers(tmp_path_factory.mktemp("prometheus"))
    try:
        started.pushgateway.start()
        started.prometheus.start()
        started.redis.start()
        yield started
    finally:
        started.stop()


async def until(read: Callable[[], T], ok: Callable[[T], bool], what: str, timeout_s: float = 20.0) -> T:
    """Poll ``read`` (in a thread: it blocks on HTTP) until ``ok`` holds for what it returns."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await asyncio.to_thread(read)
        if ok(value):
            return value
        assert time.monotonic() < deadline, f"{what}: still {value!r} after {timeout_s:g} s"
        await asyncio.sleep(0.2)


async def finish(proc: asyncio.subprocess.Process, timeout_s: float = 60) -> Completed:
    out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    assert proc.returncode is not None
    assert KEY not in err.decode()
    return Completed(proc.returncode, out, err.decode())


def pushed(servers: Servers, instance: str) -> dict[str, Any] | None:
    for group in servers.pushgateway.groups():
        if group["labels"].get("instance") == instance and group["labels"].get("job") == "bulkdelete":
            return group
    return None


def firing(prom: Prometheus, alert: str) -> set[str]:
    """The instances ``alert`` fires for."""
    alerts = prom.alerts()
    return {
        a["labels"].get("instance", "") for a in alerts if a["labels"]["alertname"] == alert and a["state"] == "firing"
    }


def dashboard_queries() -> list[str]:
    """Every PromQL expression of the dashboard, its variables set as Grafana sets them for 'All'."""
    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    exprs = [target["expr"] for panel in panels for target in panel["targets"]]
    swaps = {"$__rate_interval": "1m", "$__range": "5m", "$job": ".+", "$shard": ".*"}
    out = []
    for expr in exprs:
        for variable, value in swaps.items():
            expr = expr.replace(variable, value)
        out.append(expr)
    return out


def shard_args(base_url: str, servers: Servers, tmp_path: Path, index: int, ids: Path) -> list[str]:
    return coveo_args(
        base_url,
        "--rate", str(RATE), "--rate-store", servers.redis.url, "--shard", f"{index}/{SHARDS}",
        "--metrics-addr", f"127.0.0.1:{servers.ports[index]}", "--metrics-linger", "60s",
        "--metrics-push-url", servers.pushgateway.url,
        "-o", str(tmp_path / f"out-{index}.jsonl"), "--summary", str(tmp_path / f"summary-{index}.json"),
        "--no-progress", "--max-attempts", "20", str(ids),
    )  # fmt: skip


async def test_a_throttled_fleet_is_scraped_pushed_and_alerted(servers: Servers, tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [f"https://fleet.example/doc/{n}" for n in range(120)])
    prom = servers.prometheus
    async with run_emulator(EmulatorConfig(quota=Quota(QUOTA, 1.0)), docs=[]) as emu:
        procs = [await start_cli(*shard_args(emu.base_url, servers, tmp_path, i, ids)) for i in range(SHARDS)]
        try:
            # A shard pushes once its run has ended, then lingers: every shard's group there means the fleet is done.
            await until(
                lambda: [pushed(servers, f"{i}-of-{SHARDS}") is not None for i in range(SHARDS)], all, "pushed groups"
            )
            seen = emu.stats()
            lines = [line for i in range(SHARDS) for line in read_lines(tmp_path / f"out-{i}.jsonl")]
            outcomes = dict(Counter(line["outcome"] for line in lines))
            assert sorted(line["id"] for line in lines) == sorted(ids.read_text().split())

            def fleet_outcomes() -> dict[str, float]:
                counts = prom.by('sum by (outcome) (bulkdelete_records_total{job="fleet"})', "outcome")
                return {outcome: n for outcome, n in counts.items() if n}

            await until(fleet_outcomes, lambda got: got == outcomes, "scraped sum by outcome")
            push_sum = await until(  # the Pushgateway is scraped every second too: its three groups soon
                lambda: prom.by('sum by (outcome) (bulkdelete_records_total{job="bulkdelete"})', "outcome"),
                lambda got: {outcome: n for outcome, n in got.items() if n} == outcomes,
                "pushed sum by outcome",
            )
            assert set(push_sum) >= {"accepted", "failed", "invalid", "skipped"}  # every outcome pre-set to 0

            summaries = [orjson.loads((tmp_path / f"summary-{i}.json").read_bytes()) for i in range(SHARDS)]
            throttled = sum(summary["throttled"] for summary in summaries)
            assert throttled > 0 and seen["throttled"] == throttled
            assert prom.by('sum(bulkdelete_throttled_total{job="fleet"})', "") == {"": throttled}
            assert prom.by('sum(bulkdelete_throttled_total{job="bulkdelete"})', "") == {"": throttled}
            requests = sum(summary["requests"] for summary in summaries)
            assert prom.by('sum(bulkdelete_requests_total{job="fleet"})', "") == {"": requests}

            # The fleet's rate: the server's count of any 1 s window, and Prometheus's rate over 5 s windows.
            assert seen["max_per_second"] <= RATE
            peak = prom.by('max_over_time(sum(rate(bulkdelete_requests_total{job="fleet"}[5s]))[2m:1s])', "")
            assert 0 < peak[""] <= RATE * 1.2, peak

            for i in range(SHARDS):
                group = pushed(servers, f"{i}-of-{SHARDS}")
                assert group is not None
                assert "bulkdelete_last_success_timestamp_seconds" in group
                assert group["bulkdelete_last_run_exit_code"]["metrics"][0]["value"] == "0"
                assert "bulkdelete_in_flight_requests" not in group  # a pushed group is no live process

            instances = {f"127.0.0.1:{port}" for port in servers.ports[:SHARDS]}
            await until(lambda: firing(prom, "BulkdeleteThrottled"), lambda got: bool(got & instances), "alert")
            for expr in dashboard_queries():
                assert prom.query(expr), f"the dashboard's {expr!r} returned nothing"

            scrape = http_get(f"http://127.0.0.1:{servers.ports[0]}/metrics")
            checked = await asyncio.to_thread(
                subprocess.run, [PROMTOOL, "check", "metrics"], input=scrape, capture_output=True, check=False
            )
            assert checked.stdout + checked.stderr == b"" and checked.returncode == 0
            assert KEY.encode() not in scrape
            assert KEY.encode() not in http_get(f"{servers.pushgateway.url}/metrics")
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)  # ends the linger at once: the run's exit status stands
            done = await asyncio.gather(*(finish(proc, 20) for proc in procs))
    assert [d.code for d in done] == [0] * SHARDS, [d.stderr for d in done]
    for d in done:
        assert re.search(r"bulkdelete: metrics on http://127\.0\.0\.1:\d+/metrics", d.stderr)


async def test_a_verification_counts_its_verdicts(servers: Servers, tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [f"https://verify.example/doc/{n}" for n in range(30)])
    port, prom = servers.ports[SHARDS], servers.prometheus
    async with run_emulator(EmulatorConfig(), docs=["https://verify.example/doc/0"]) as emu:
        args = ["coveo", "verify", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE, "--wait", "0"]
        args += ["--no-logs", "--check", "ids", "-o", str(tmp_path / "verdicts.jsonl"), str(ids)]
        env = cli_env({"BULKDELETE_METRICS_ADDR": f"127.0.0.1:{port}", "BULKDELETE_METRICS_LINGER": "30s"})
        proc = await start_cli(*args, env=env)
        try:
            verdicts = await until(
                lambda: prom.by(f'bulkdelete_verdicts_total{{instance="127.0.0.1:{port}"}}', "verdict"),
                lambda got: sum(got.values()) == 30,
                "verdicts scraped",
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            done = await finish(proc)
    assert done.code == 1, done.stderr  # one is present
    lines = read_lines(tmp_path / "verdicts.jsonl")
    assert {k: v for k, v in verdicts.items() if v} == dict(Counter(line["verdict"] for line in lines))
    assert verdicts["present"] == 1 and verdicts["unknown"] == 0


async def test_a_scrape_during_ctrl_c_answers_and_the_interrupt_is_pushed(servers: Servers, tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [f"https://slow.example/doc/{n}" for n in range(200)])
    port = servers.ports[SHARDS + 1]
    async with run_emulator(EmulatorConfig(latency_ms=1500), docs=[]) as emu:
        args = coveo_args(emu.base_url, "--rate", "0", "--concurrency", "4", "--metrics-addr", f"127.0.0.1:{port}")
        args += ["--metrics-push-url", servers.pushgateway.url, "--metrics-instance", "interrupted", str(ids)]
        proc = await start_cli(*args)
        metrics_url = f"http://127.0.0.1:{port}/metrics"

        def in_flight() -> float:
            try:
                text = http_get(metrics_url).decode()
            except OSError:
                return 0.0
            match = re.search(r"^bulkdelete_in_flight_requests (\S+)$", text, re.MULTILINE)
            return float(match[1]) if match else 0.0

        await until(in_flight, lambda n: n >= 1, "requests in flight")
        proc.send_signal(signal.SIGINT)
        during = await asyncio.to_thread(http_get, metrics_url)  # the run drains its 1.5 s requests meanwhile
        # answered during the drain (no exit code yet), with the counts so far; no wall-clock bound on a busy machine
        assert b"bulkdelete_records_total" in during and b"bulkdelete_last_run_exit_code" not in during
        done = await finish(proc)
    assert done.code == 130, done.stderr
    group = pushed(servers, "interrupted")
    assert group is not None
    assert group["bulkdelete_last_run_exit_code"]["metrics"][0]["value"] == "130"
    assert "bulkdelete_last_success_timestamp_seconds" not in group
    records = {m["labels"]["outcome"]: float(m["value"]) for m in group["bulkdelete_records_total"]["metrics"]}
    assert sum(records.values()) == len(done.lines) > 0  # the pushed counts are the result lines
