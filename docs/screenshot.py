"""Makes the README's pictures of ``bulkdelete report``, shot by Debian's chromium (headless, driven by playwright).

``docs/report.png``: a real run, 4,000 ids through ``bulkdelete coveo delete --rate auto`` against ``bulkdelete
emulator --quota 120/1s --fail-rate 0.01`` (an undisclosed quota, a few 503s), then ``bulkdelete report``; the top of
the page. Loopback only.

``docs/report-verification.png`` (``--verification``): the page's "Verification" part, for a real job: 2,001 ids
through ``bulkdelete coveo delete --rate 100 --verify`` against ``bulkdelete emulator --processing-delay 20
--delete-fail-rate 0.02 --secured-rate 0.3`` (each delete applied 20 s after its 202, 2% failing downstream with a
Logs API ``ERROR`` at ``INDEXING``, 30% of the documents secured), polls from 5 s doubling, one id with a quote in it
(``unknown``: Coveo's query language cannot express it).

    .venv/bin/python docs/screenshot.py                   # writes docs/report.png (the run stays in a temp folder)
    .venv/bin/python docs/screenshot.py --verification    # writes docs/report-verification.png
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from PIL import Image
from playwright.async_api import async_playwright

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def bulkdelete(*args: str, check: bool = True) -> None:
    env = {**os.environ, "COVEO_API_KEY": "demo-key"}
    subprocess.run([sys.executable, "-m", "bulkdelete", *args], check=check, cwd=ROOT, env=env, timeout=300)


async def shoot(page_path: Path, png: Path, part: str | None = None, height: int = 1480) -> None:
    """The top of the page, or the element ``part`` (a CSS selector) cut to ``height`` pixels."""
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = await browser.new_page(viewport={"width": 1100, "height": height})
        await page.goto(page_path.as_uri(), wait_until="load")
        await page.wait_for_timeout(2000)
        if part is None:
            await page.screenshot(path=str(png))
        else:
            box = await page.locator(part).bounding_box()
            assert box is not None, f"{part} is not on the page"
            clip = {"x": 0, "y": box["y"] - 8, "width": 1100, "height": min(box["height"] + 16, height)}
            shot = await page.screenshot(clip=clip, full_page=True)  # type: ignore[arg-type]
            # 256 colours are plenty for charts and tables, and keep the picture a fraction of its size
            Image.open(io.BytesIO(shot)).quantize(256).save(png, optimize=True)
        await browser.close()


def verification_picture() -> None:
    """A real job: ``coveo delete --verify`` against an emulator that applies each delete 20 s after its 202."""
    folder = Path(tempfile.mkdtemp(prefix="bulkdelete-shot-"))
    ids = folder / "ids.txt"
    ids.write_text(
        "".join(f"https://intranet.example.com/hr/{n:05d}.pdf\n" for n in range(2000)) + 'https://x.example.com/"q"\n'
    )
    with _emulator("--docs", str(ids), "--processing-delay", "20", "--delete-fail-rate", "0.02",
                   "--secured-rate", "0.3", "--seed", "7") as base:  # fmt: skip
        results, verdicts = folder / "results.jsonl", folder / "verdicts.jsonl"
        target = ["--base-url", base, "--org", "acme", "--source", "intranet"]
        summary = folder / "summary.json"
        bulkdelete(
            "coveo", "delete", *target, "--rate", "100", "-o", str(results), "--summary", str(summary),
            "--verify", str(verdicts), "--interval", "5s", "--wait", "90s", "--logs-interval", "15s", str(ids),
            check=False,
        )  # fmt: skip
    page = folder / "report.html"
    bulkdelete("report", str(results), "--summary", str(summary), "--verified", str(verdicts), "-o", str(page))
    png = ROOT / "docs" / "report-verification.png"
    asyncio.run(shoot(page, png, part="#verification", height=1500))
    print(f"{png} ({png.stat().st_size / 1000:.0f} KB); the job is in {folder}")


@contextlib.contextmanager
def _emulator(*flags: str) -> Iterator[str]:
    """``bulkdelete emulator --port 0 FLAGS`` in its own process; yields its base URL."""
    emulator = subprocess.Popen(
        [sys.executable, "-m", "bulkdelete", "emulator", "--port", "0", *flags], stderr=subprocess.PIPE, text=True,
        cwd=ROOT,
    )  # fmt: skip
    try:
        assert emulator.stderr is not None
        found = None
        while found is None:
            found = re.search(r"http://127\.0\.0\.1:\d+", emulator.stderr.readline())
        yield found.group(0)
    finally:
        emulator.terminate()
        emulator.wait(10)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bulkdelete-shot-"))
    ids = folder / "ids.txt"
    ids.write_text("".join(f"https://intranet.example.com/docs/{n}.pdf\n" for n in range(4000)))
    with _emulator("--quota", "120/1s", "--fail-rate", "0.01", "--seed", "3") as base:
        results, summary = str(folder / "results.jsonl"), str(folder / "summary.json")
        target = ["--base-url", base, "--org", "acme", "--source", "intranet"]
        bulkdelete("coveo", "delete", *target, "--rate", "auto", "-o", results, "--summary", summary, str(ids))
    page = folder / "report.html"
    bulkdelete("report", str(folder / "results.jsonl"), "--summary", str(folder / "summary.json"), "-o", str(page))
    png = ROOT / "docs" / "report.png"
    asyncio.run(shoot(page, png))
    print(f"{png} ({png.stat().st_size / 1000:.0f} KB); the run is in {folder}")


if __name__ == "__main__":
    verification_picture() if "--verification" in sys.argv[1:] else main()
