"""A real Prometheus and Pushgateway (Debian's packages) on free loopback ports, for the metrics tests: no fakes.

``Pushgateway`` and ``Prometheus`` start in a temporary folder and wait until ready; Prometheus scrapes every second
(and evaluates ``deploy/prometheus/alerts.yml`` every second) the Pushgateway with ``honor_labels: true`` (job
``pushgateway``) and the given run targets (job ``fleet``). ``query`` reads its HTTP API.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import ROOT
from tests.redis_server import free_port

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PUSHGATEWAY = shutil.which("prometheus-pushgateway") or "/usr/bin/prometheus-pushgateway"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"


def http_get(url: str, timeout: float = 2.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        body: bytes = answer.read()
        return body


def _wait_ready(proc: subprocess.Popen[bytes], url: str, name: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        try:
            http_get(url, timeout=0.5)
            return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{name} not ready at {url} after {timeout_s:g} s")


class _Server:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


class Pushgateway(_Server):
    """``prometheus-pushgateway`` on ``127.0.0.1:port``, groups kept in memory only."""

    def start(self, timeout_s: float = 15.0) -> None:
        # Debian persists groups to /var/lib/prometheus by default: in memory only here, a fresh gateway each time
        args = [PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{self.port}", "--persistence.file=", "--log.level=error"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_ready(self.proc, f"{self.url}/-/ready", "prometheus-pushgateway", timeout_s)

    def groups(self) -> list[dict[str, Any]]:
        """The groups pushed, as its API lists them (each with its ``labels``)."""
        data: list[dict[str, Any]] = json.loads(http_get(f"{self.url}/api/v1/metrics"))["data"]
        return data


class Prometheus(_Server):
    """``prometheus`` scraping ``pushgateway`` and ``targets`` (host:port) every second, with bulkdelete's rules."""

    def __init__(self, folder: Path, pushgateway: Pushgateway, targets: list[str]) -> None:
        super().__init__()
        self.folder = folder
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
            "rule_files": [str(ALERTS)],
            "scrape_configs": [
                {
                    "job_name": "pushgateway",
                    "honor_labels": True,
                    "static_configs": [{"targets": [f"127.0.0.1:{pushgateway.port}"]}],
                },
                {"job_name": "fleet", "static_configs": [{"targets": targets}]},
            ],
        }
        self.config = folder / "prometheus.yml"
        self.config.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML

    def start(self, timeout_s: float = 30.0) -> None:
        args = [
            PROMETHEUS,
            f"--config.file={self.config}",
            f"--storage.tsdb.path={self.folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=error",
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_ready(self.proc, f"{self.url}/-/ready", "prometheus", timeout_s)

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result (a vector's samples, each ``{"metric": {...}, "value": [t, "v"]}``)."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        answer = json.loads(http_get(url))
        assert answer["status"] == "success", answer
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def by(self, expr: str, label: str) -> dict[str, float]:
        """``{label value: sample value}`` of an instant query."""
        return {sample["metric"].get(label, ""): float(sample["value"][1]) for sample in self.query(expr)}

    def alerts(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = json.loads(http_get(f"{self.url}/api/v1/alerts"))["data"]["alerts"]
        return data
