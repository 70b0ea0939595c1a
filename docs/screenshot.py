"""Makes ``docs/report.png``, the README's picture: a real run against the emulator, a report, a headless screenshot.

The run: 4,000 ids through ``bulkdelete coveo delete --rate auto`` against ``bulkdelete emulator --quota 120/1s
--fail-rate 0.01`` (an undisclosed quota, a few 503s), then ``bulkdelete report``, then Debian's chromium (headless,
driven by playwright) shoots the top of the page. Loopback only.

    .venv/bin/python docs/screenshot.py            # writes docs/report.png (and keeps the run in a temp folder)
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def bulkdelete(*args: str) -> None:
    env = {**os.environ, "COVEO_API_KEY": "demo-key"}
    subprocess.run([sys.executable, "-m", "bulkdelete", *args], check=True, cwd=ROOT, env=env, timeout=300)


async def shoot(page_path: Path, png: Path) -> None:
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = await browser.new_page(viewport={"width": 1100, "height": 1480})
        await page.goto(page_path.as_uri(), wait_until="load")
        await page.wait_for_timeout(2000)
        await page.screenshot(path=str(png))
        await browser.close()


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bulkdelete-shot-"))
    ids = folder / "ids.txt"
    ids.write_text("".join(f"https://intranet.example.com/docs/{n}.pdf\n" for n in range(4000)))
    emulator = subprocess.Popen(
        [sys.executable, "-m", "bulkdelete", "emulator", "--port", "0", "--quota", "120/1s", "--fail-rate", "0.01",
         "--seed", "3"], stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert emulator.stderr is not None
        found = None
        while found is None:
            found = re.search(r"http://127\.0\.0\.1:\d+", emulator.stderr.readline())
        base = found.group(0)
        results, summary = str(folder / "results.jsonl"), str(folder / "summary.json")
        target = ["--base-url", base, "--org", "acme", "--source", "intranet"]
        bulkdelete("coveo", "delete", *target, "--rate", "auto", "-o", results, "--summary", summary, str(ids))
    finally:
        emulator.terminate()
        emulator.wait(10)
    page = folder / "report.html"
    bulkdelete("report", str(folder / "results.jsonl"), "--summary", str(folder / "summary.json"), "-o", str(page))
    png = ROOT / "docs" / "report.png"
    asyncio.run(shoot(page, png))
    print(f"{png} ({png.stat().st_size / 1000:.0f} KB); the run is in {folder}")


if __name__ == "__main__":
    main()
