"""The report in a real browser: Debian's chromium, headless, driven over the DevTools protocol by playwright.

A real run against the emulator (a quota, ``--rate auto``: the run is throttled and recovers), then ``bulkdelete
report``, then the page opened from disk with every network request refused: it must render its charts with no
console error and show the run's totals. Only playwright's client is used; its own browser download never is.
When chromium is missing this test FAILS in CI (``CI`` set: ``.ci/run`` installs chromium first), since a browser
test that skips there proves nothing. Elsewhere (the README's test command on a machine with nothing but Python) it
is skipped, and the skip says how to install the browser.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import orjson
import pytest
from playwright.async_api import ConsoleMessage, Error, Route, async_playwright

from bulkdelete.emulator import EmulatorConfig, parse_quota, run_emulator
from tests.conftest import coveo_args, read_lines, run_cli, write_ids

# Flags that keep a headless chromium off the network it cannot reach here (it would try Google's hosts at start).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Charts are bokeh canvases inside shadow roots: count the page's chart sections holding a canvas with an area.
COUNT_RENDERED_CHARTS = """() => {
    const canvases = (root) => {
        let found = [...root.querySelectorAll('canvas')];
        for (const el of root.querySelectorAll('*')) if (el.shadowRoot) found = found.concat(canvases(el.shadowRoot));
        return found;
    };
    return [...document.querySelectorAll('section.chart')].filter((section) => canvases(section).some((c) => {
        const box = c.getBoundingClientRect();
        return box.width > 100 && box.height > 100;
    })).length;
}"""


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        why = "Debian's chromium is not installed (apt-get install -y chromium; .ci/run does it): no browser test"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return path


async def render(
    page_path: Path, screenshot: Path, profile: Path, charts_expected: int
) -> tuple[list[str], list[str], int, str]:
    """Open ``page_path``; return the console errors, the network requests tried, the charts rendered, the text."""
    errors: list[str] = []
    requests: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    async def refuse_network(route: Route) -> None:
        if route.request.url.startswith("file://"):
            await route.continue_()
        else:
            requests.append(route.request.url)
            await route.abort()

    async with async_playwright() as driver:
        context = await driver.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium(),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1200, "height": 900},
        )
        try:
            page = await context.new_page()
            page.on("console", on_console)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.route("**/*", refuse_network)
            await page.goto(page_path.as_uri(), wait_until="load")
            with contextlib.suppress(Error):  # the assertions below say what is missing
                await page.wait_for_function(f"({COUNT_RENDERED_CHARTS})() >= {charts_expected}", timeout=30_000)
            charts = await page.evaluate(COUNT_RENDERED_CHARTS)
            text = await page.inner_text("body")
            await page.screenshot(path=str(screenshot), full_page=True)
        finally:
            await context.close()
    return errors, requests, charts, text


def write_verdicts(results: Path, path: Path) -> dict[str, int]:
    """Verdict lines for a run's result lines, as ``delete --verify`` writes them (SPEC §11): not ok → not_deleted;
    of the ok ones, every 20th failed with its Logs API entry, every 50th present, one unknown, the rest gone."""
    counts: dict[str, int] = {}
    with path.open("wb") as out:
        for n, line in enumerate(read_lines(results)):
            kind = (
                "not_deleted" if not line["ok"] else "failed" if n % 20 == 3 else "present" if n % 50 == 7 else "gone"
            )
            kind = "unknown" if n == 1 and line["ok"] else kind
            log = None
            if kind == "failed":
                log = {"task": "INDEXING", "result": "ERROR", "operation": "DELETE", "datetime": line["ts"],
                       "meta": {"error": f"Item {n} could not be removed"}, "requestId": f"logs-{n}"}  # fmt: skip
            doc = {"id": line["id"], "verdict": kind, "ok": kind == "gone", "checks": 1 + n % 3, "evidence": None,
                   "log": log, "error": "checks failed after retries" if kind == "unknown" else None,
                   "line": line["line"], "ts": f"2026-12-03T09:{n // 60 % 60:02d}:{n % 60:02d}.000Z"}  # fmt: skip
            out.write(orjson.dumps(doc, option=orjson.OPT_APPEND_NEWLINE))
            counts[kind] = counts.get(kind, 0) + 1
    return counts


async def test_report_of_a_throttled_auto_rate_run_renders_in_headless_chromium(tmp_path: Path) -> None:
    """Its verification too: a sixth chart, the verdicts over time, in the "Verification" part."""
    chromium()
    ids = write_ids(tmp_path / "ids.txt", [f"https://site.example/report/{n}" for n in range(240)])
    results, summary, page = tmp_path / "results.jsonl", tmp_path / "summary.json", tmp_path / "report.html"
    # A quota to find, and 503s that outlast --max-attempts 2 for ~9% of the records (0.3²): failed records, with
    # their request ids, in the tables.
    config = EmulatorConfig(quota=parse_quota("40/1s"), fail_rate=0.3, seed=4)
    async with run_emulator(config, docs=[]) as emu:
        flags = ["--rate", "auto", "--max-attempts", "2", "-o", str(results), "--summary", str(summary)]
        run = await run_cli(*coveo_args(emu.base_url, *flags, str(ids)))
    assert run.code == 1, run.stderr  # some records failed (503 twice)
    verdicts = write_verdicts(results, tmp_path / "verdicts.jsonl")
    flags = ["--summary", str(summary), "--verified", str(tmp_path / "verdicts.jsonl"), "-o", str(page)]
    made = await run_cli("report", str(results), *flags)
    assert made.code == 0, made.stderr
    errors, requests, charts, text = await render(page, tmp_path / "report.png", tmp_path / "profile", 5)
    assert errors == [] and requests == []
    assert charts == 5  # records per second, 429s/retries/pauses, latency (from the lines' ts), in flight; verdicts
    doc = orjson.loads(summary.read_bytes())
    assert doc["records"] == 240
    for figure, label in ((doc["records"], "records"), (doc["ok"], "ok"), (doc["requests"], "requests")):
        assert f"{figure:,}\n{label}" in text
    assert "Records decided per second" in text and "429s, retries and pauses" in text
    assert doc["not_ok"] > 0 and "Records not ok (" in text and "503" in text
    failed = [line for line in read_lines(results) if not line["ok"]]
    assert failed and all(str(line["request_id"]) in text for line in failed[:50])  # the API request ids
    assert "Verification" in text and "Records confirmed gone over time" in text
    assert f"{verdicts['gone']:,} of 240\nconfirmed gone" in text
    log = next(line["log"] for line in read_lines(tmp_path / "verdicts.jsonl") if line["verdict"] == "failed")
    assert "ERROR at INDEXING (DELETE, " in text and log["meta"]["error"] in text and log["requestId"] in text
    shot = (tmp_path / "report.png").read_bytes()
    assert shot.startswith(b"\x89PNG") and len(shot) > 20_000
