"""Metrics (SPEC §14) without a Prometheus: the options, what a scrape reads of a run, and the CLI's edges (a port in
use, a Pushgateway down, the port-0 message, the environment, promtool's own lint, the client imported only on
demand). The live fleet is ``tests/test_metrics_live.py``."""

from __future__ import annotations

import asyncio
import math
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from bulkdelete.emulator import EmulatorConfig, run_emulator
from bulkdelete.errors import ConfigError
from bulkdelete.metrics import MetricsConfig, Watch, default_instance, metrics_config, watch_from
from bulkdelete.metrics.collector import RunCollector, duration_histogram
from bulkdelete.metrics.config import parse_addr
from bulkdelete.output.stats import RunStats
from bulkdelete.rate.control import FixedRate, build_rate_control
from bulkdelete.rate.pacing import loop_clock
from bulkdelete.records import Outcome, Record, Result
from tests.conftest import KEY, ROOT, cli_env, coveo_args, run_cli, start_cli, write_ids
from tests.prometheus_servers import PROMTOOL
from tests.redis_server import free_port
from tests.test_list_velt import VELT_ENV, velt_server


def result(outcome: Outcome, n: int = 1) -> Result:
    return Result(Record(f"https://x.example/{n}", n), outcome, 202, 1)


def scrape(watch: Watch, *, pushed: bool = False) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunCollector(watch, pushed=pushed))
    return generate_latest(registry).decode()


def sample(text: str, name: str) -> float | None:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(match[1]) if match else None


# -- the options --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:9464", ("127.0.0.1", 9464)), (":0", ("0.0.0.0", 0)), ("[::1]:80", ("::1", 80))],
)
def test_addresses_parse_as_host_and_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_addr(text) == expected


@pytest.mark.parametrize("text", ["9464", "host:", "host:http", "h:70000"])
def test_a_bad_address_says_what_is_expected(text: str) -> None:
    with pytest.raises(ConfigError, match="--metrics-addr must be HOST:PORT"):
        parse_addr(text)


def test_no_metrics_option_means_no_watch() -> None:
    assert metrics_config({"metrics_addr": None, "metrics_push_url": None}) is None
    assert watch_from({}) is None


def test_the_instance_is_the_shard_else_the_host() -> None:
    assert default_instance("3/8") == "3-of-8"
    assert default_instance(None) == socket.gethostname()
    config = metrics_config({"metrics_push_url": "http://pgw:9091/", "shard": "1/4", "metrics_linger": "2s"})
    assert config == MetricsConfig(push_url="http://pgw:9091", instance="1-of-4", linger_s=2.0)


@pytest.mark.parametrize("url", ["pgw:9091", "ftp://pgw", "http://user:pw@pgw:9091"])
def test_a_push_url_is_http_without_credentials(url: str) -> None:
    with pytest.raises(ConfigError, match="--metrics-push-url"):
        metrics_config({"metrics_push_url": url})


# -- what a scrape reads ------------------------------------------------------------------------------------------


def test_every_outcome_and_verdict_is_there_at_zero_before_anything_is_decided() -> None:
    text = scrape(Watch(MetricsConfig(), api="coveo", org="o", source="s"))
    for outcome in ("accepted", "batched", "deleted", "not_found", "planned", "skipped", "duplicate", "invalid"):
        assert f'bulkdelete_records_total{{outcome="{outcome}"}} 0.0' in text
    assert 'bulkdelete_verdicts_total{verdict="gone"} 0.0' in text
    assert 'bulkdelete_run_info{api="coveo",org="o",shard="",source="s"} 1.0' in text
    assert sample(text, "bulkdelete_listed_total") == 0
    assert "bulkdelete_last_run_exit_code" not in text


async def test_a_scrape_reads_the_run_statistics_as_they_are() -> None:
    watch, stats = Watch(MetricsConfig()), RunStats()
    rate = build_rate_control(FixedRate(50.0), clock=loop_clock(asyncio.get_running_loop()))
    watch.deletion(stats, rate)
    for n, outcome in enumerate([Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.FAILED, Outcome.INVALID]):
        stats.record_result(result(outcome, n))
    stats.requests, stats.retries, stats.transport_errors = 6, 2, 1
    for status, ms in ((202, 3.0), (202, 40.0), (429, 2.0), (503, 1500.0)):
        stats.record_reply(status, ms)
    text = scrape(watch)
    assert 'bulkdelete_records_total{outcome="accepted"} 2.0' in text
    assert 'bulkdelete_records_total{outcome="failed"} 1.0' in text
    assert 'bulkdelete_requests_total{code="429"} 1.0' in text and 'code="error"} 1.0' in text
    assert sample(text, "bulkdelete_throttled_total") == 1 and sample(text, "bulkdelete_retries_total") == 2
    assert sample(text, "bulkdelete_in_flight_requests") == 1  # 6 sent, 4 answered, 1 without an answer
    assert sample(text, "bulkdelete_rate_target_per_second") == 50.0
    assert sample(text, "bulkdelete_request_duration_seconds_count") == 4
    assert sample(text, 'bulkdelete_request_duration_seconds_bucket{le="0.005"}') == 2
    assert sample(text, 'bulkdelete_request_duration_seconds_bucket{le="2.5"}') == 4
    total = sample(text, "bulkdelete_request_duration_seconds_sum")
    assert total is not None and math.isclose(total, 1.545, rel_tol=0.01)


def test_verdicts_listed_items_and_calls_add_up_over_the_phases() -> None:
    watch = Watch(MetricsConfig())
    verdicts: dict[str, int] = {"gone": 3}
    listed = RunStats()
    watch.verification(RunStats(), None, verdicts)
    watch.listing(listed, None, lambda: 7)
    call = RunStats()
    call.requests = 1
    call.record_reply(202, 1.0)
    watch.call(call)
    listed.record_result(result(Outcome.ACCEPTED))  # a listing's queries are not result lines
    verdicts["present"] = 1
    text = scrape(watch)
    assert 'bulkdelete_verdicts_total{verdict="gone"} 3.0' in text
    assert 'bulkdelete_verdicts_total{verdict="present"} 1.0' in text
    assert sample(text, "bulkdelete_listed_total") == 7
    assert 'bulkdelete_records_total{outcome="accepted"} 0.0' in text
    assert 'bulkdelete_requests_total{code="202"} 1.0' in text


def test_the_histogram_is_cumulative_and_ends_at_the_count() -> None:
    stats = RunStats()
    for ms in (0.5, 0.9, 7.0, 70.0, 700.0, 7000.0, 100000.0):
        stats.record_reply(202, ms)
    family = duration_histogram(dict(stats.latency.buckets))
    buckets = [s.value for s in family.samples if s.name.endswith("_bucket")]
    assert buckets == sorted(buckets) and buckets[-1] == 7
    assert next(s.value for s in family.samples if s.name.endswith("_count")) == 7


def test_last_progress_moves_only_when_something_was_decided() -> None:
    now = [1000.0]
    watch, stats = Watch(MetricsConfig(), clock=lambda: now[0]), RunStats()
    watch.deletion(stats, None)
    assert watch.reading().last_progress == 1000.0
    now[0] = 1010.0
    assert watch.reading().last_progress == 1000.0  # nothing happened
    stats.record_result(result(Outcome.ACCEPTED))
    now[0] = 1020.0
    assert watch.reading().last_progress == 1020.0


def test_the_pushed_outcome_drops_the_live_gauges_and_succeeds_only_on_exit_0() -> None:
    watch = Watch(MetricsConfig())
    watch.deletion(RunStats(), None)
    watch.finish(1)
    text = scrape(watch, pushed=True)
    assert sample(text, "bulkdelete_last_run_exit_code") == 1
    assert "bulkdelete_last_success_timestamp_seconds" not in text
    assert "bulkdelete_in_flight_requests" not in text and "bulkdelete_last_progress" not in text
    watch.finish(0)
    assert sample(scrape(watch, pushed=True), "bulkdelete_last_success_timestamp_seconds") is not None


def test_records_expected_counts_the_plain_input_files(tmp_path: Path) -> None:
    watch = Watch(MetricsConfig())
    watch.deletion(RunStats(), None, inputs=[str(write_ids(tmp_path / "ids.txt", ["a", "b", "c"]))])
    for _ in range(200):  # counted in a background thread
        if watch.reading().expected is not None:
            break
        time.sleep(0.005)  # waiting for that thread, not for time to pass
    assert watch.reading().expected == 3
    assert "Watch" in repr(watch) and "RunCollector" in repr(RunCollector(watch))


@pytest.mark.skipif(shutil.which(PROMTOOL) is None, reason="promtool (Debian's prometheus) is not installed")
def test_promtool_finds_nothing_to_lint() -> None:
    watch = Watch(MetricsConfig(), api="velt")
    watch.deletion(RunStats(), None)
    watch.finish(0)
    for text in (scrape(watch), scrape(watch, pushed=True)):
        checked = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, check=False)
        assert (checked.returncode, checked.stdout + checked.stderr) == (0, b"")


# -- the CLI ------------------------------------------------------------------------------------------------------


def test_the_client_is_imported_only_with_the_metrics_options() -> None:
    code = (
        "import sys, bulkdelete.cli.app, bulkdelete.metrics, bulkdelete.pipeline.run; "
        "assert 'prometheus_client' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


async def test_a_port_in_use_is_exit_2_before_anything_is_sent(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["https://x.example/1"])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with run_emulator(EmulatorConfig(), docs=[]) as emu:
            done = await run_cli(*coveo_args(emu.base_url, "--metrics-addr", f"127.0.0.1:{port}", str(ids)))
            seen = emu.stats()
    assert done.code == 2 and seen["requests"] == 0
    assert f"--metrics-addr 127.0.0.1:{port}: cannot serve there" in done.stderr


async def test_a_pushgateway_down_is_one_warning_and_the_exit_status_stands(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [f"https://x.example/{n}" for n in range(5)])
    env = cli_env({"BULKDELETE_METRICS_PUSH_URL": f"http://127.0.0.1:{free_port()}"})  # nothing listens there
    async with run_emulator(EmulatorConfig(), docs=[]) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--rate", "0", str(ids)), env=env)
    assert done.code == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "could not push the run's outcome" in warnings[0]
    assert "the exit status stands" in warnings[0] and len(done.lines) == 5


async def test_port_0_names_its_port_and_older_than_serves_too(tmp_path: Path) -> None:
    async with run_emulator(EmulatorConfig(), docs=[]) as emu:
        args = ["coveo", "older-than", "--base-url", emu.base_url, "--org", "o", "--source", "s"]
        done = await run_cli(*args, "--ordering-id", "now", "--yes", "--metrics-addr", "127.0.0.1:0")
    assert done.code == 0, done.stderr
    assert re.search(r"^bulkdelete: metrics on http://127\.0\.0\.1:[1-9]\d*/metrics$", done.stderr, re.MULTILINE)


async def test_a_lingering_run_serves_its_final_counts(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [f"https://x.example/{n}" for n in range(4)])
    port = free_port()
    env = cli_env({"BULKDELETE_METRICS_ADDR": f"127.0.0.1:{port}", "BULKDELETE_METRICS_LINGER": "30s"})
    async with run_emulator(EmulatorConfig(), docs=[]) as emu:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bulkdelete", *coveo_args(emu.base_url, "--rate", "0", str(ids)),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=ROOT,
        )  # fmt: skip
        text = await final_scrape(f"http://127.0.0.1:{port}/metrics")
        proc.terminate()  # ends the linger: the run's exit status stands
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    assert 'bulkdelete_records_total{outcome="accepted"} 4.0' in text
    assert KEY not in text


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=2) as answer:
        body: bytes = answer.read()
    return body.decode()


@pytest.mark.skipif(shutil.which(PROMTOOL) is None, reason="promtool (Debian's prometheus) is not installed")
def test_the_alert_rules_pass_their_promtool_tests() -> None:
    rules = ROOT / "deploy" / "prometheus"
    checked = subprocess.run([PROMTOOL, "check", "rules", "alerts.yml"], cwd=rules, capture_output=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run([PROMTOOL, "test", "rules", "alerts.test.yml"], cwd=rules, capture_output=True, check=False)
    assert tested.returncode == 0, tested.stdout + tested.stderr


async def test_a_listing_counts_its_item_lines() -> None:
    pages = {None: (["a", "b"], "p2"), "p2": (["c"], "")}

    def answer(data: dict[str, Any]) -> dict[str, Any]:
        ids, token = pages[data.get("pageToken")]
        return {"result": {"status": "success", "data": [{"id": i} for i in ids], "pageToken": token}}

    port = free_port()
    env = cli_env({**VELT_ENV, "BULKDELETE_METRICS_ADDR": f"127.0.0.1:{port}", "BULKDELETE_METRICS_LINGER": "30s"})
    async with velt_server(answer, []) as base:
        proc = await start_cli("velt", "list", "--base-url", base, "--org", "o", "--rate", "0", env=env)
        text = await final_scrape(f"http://127.0.0.1:{port}/metrics")
        proc.terminate()
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0
    assert sample(text, "bulkdelete_listed_total") == len(out.splitlines()) == 3
    assert 'bulkdelete_requests_total{code="200"} 2.0' in text and 'api="velt"' in text
    assert "velt-key-never-printed" not in text


async def final_scrape(url: str) -> str:
    """``/metrics`` once the run has ended (it carries ``bulkdelete_last_run_exit_code``), polled with a deadline."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            text = await asyncio.to_thread(_get, url)
        except OSError:
            text = ""
        if "bulkdelete_last_run_exit_code" in text:
            return text
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url}: no final counts after 20 s")
