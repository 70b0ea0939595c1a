"""Makes the README's pictures of ``bulkdelete report``, shot by Debian's chromium (headless, driven by playwright).

``docs/report.png``: a real run, 4,000 ids through ``bulkdelete coveo delete --rate auto`` against ``bulkdelete
emulator --quota 120/1s --fail-rate 0.01`` (an undisclosed quota, a few 503s), then ``bulkdelete report``; the top of
the page. Loopback only.

``docs/report-verification.png`` (``--verification``): the page's "Verification" part, for a made-up but realistic
job: 2,000 ids deleted at 50/s, then verified as ``delete --verify`` does (polls at 0, 30, 90, 210, 450 s: the
interval doubling from 30 s; Coveo applying each delete 2-5 minutes after its 202), 2.5% of the deletes failed
downstream (Logs API ``ERROR`` at ``INDEXING``), a few ids still present when ``--wait`` ran out, a few unknown
(quotes in the id) and the deletes that were not ok.

    .venv/bin/python docs/screenshot.py                   # writes docs/report.png (the run stays in a temp folder)
    .venv/bin/python docs/screenshot.py --verification    # writes docs/report-verification.png
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson
from PIL import Image
from playwright.async_api import async_playwright

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def bulkdelete(*args: str) -> None:
    env = {**os.environ, "COVEO_API_KEY": "demo-key"}
    subprocess.run([sys.executable, "-m", "bulkdelete", *args], check=True, cwd=ROOT, env=env, timeout=300)


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


REASONS = [
    "Document could not be deleted: the index is being rebuilt",
    "Security identity provider timed out",
    "Item is locked by another operation",
]


def _ts(seconds: float) -> str:
    whole = int(seconds)
    return f"2026-12-03T09:{whole // 60:02d}:{whole % 60:02d}.{int(seconds * 1000) % 1000:03d}Z"


def write_verified_job(folder: Path, ids: int = 2000, seed: int = 7) -> tuple[Path, Path]:
    """A delete run's result lines and its verification's verdict lines (see the module docstring)."""
    rng = random.Random(seed)
    polls = [60.0 + t for t in (0, 30, 90, 210, 450)] + [60.0 + 900]  # verify starts 60 s in; --wait 15m
    logs = [60.0 + t for t in range(0, 901, 120)]  # a Logs API round at most every 2 minutes
    results, verdicts = folder / "results.jsonl", folder / "verdicts.jsonl"
    with results.open("wb") as res, verdicts.open("wb") as ver:
        for n in range(ids):
            uri = f"https://intranet.example.com/hr/{n:05d}.pdf" if n % 700 != 5 else f'https://x.example.com/"{n}"'
            at = n / 50 + rng.random() * 0.02
            ok = rng.random() > 0.003
            res.write(orjson.dumps({
                "id": uri, "outcome": "accepted" if ok else "failed", "ok": ok, "status": 202 if ok else 500,
                "attempts": 1 if ok else 5, "error": None if ok else f"500 INTERNAL_ERROR (X-Request-ID r-{n})",
                "latency_ms": round(rng.lognormvariate(3.0, 0.4), 3), "line": n + 1, "ts": _ts(at),
                "request_id": f"r-{n:06x}"}, option=orjson.OPT_APPEND_NEWLINE))  # fmt: skip
            ver.write(orjson.dumps(_verdict(rng, n, uri, ok, at, polls, logs), option=orjson.OPT_APPEND_NEWLINE))
    return results, verdicts


def _verdict(
    rng: random.Random, n: int, uri: str, ok: bool, at: float, polls: list[float], logs: list[float]
) -> dict[str, object]:
    doc: dict[str, object] = {"id": uri, "verdict": "gone", "ok": False, "checks": 0, "evidence": None, "log": None,
                              "error": None, "line": n + 1}  # fmt: skip
    applied = at + rng.uniform(120, 300)
    if not ok:
        return {**doc, "verdict": "not_deleted", "ts": _ts(polls[0] + rng.random())}
    if '"' in uri:
        return {**doc, "verdict": "unknown", "error": "an id holding '\"' cannot be quoted in a query",
                "ts": _ts(polls[0] + rng.random())}  # fmt: skip
    if rng.random() < 0.025:
        seen = next(t for t in logs if t >= applied)
        reason = rng.choice(REASONS)
        log = {"task": "INDEXING", "result": "ERROR", "operation": "DELETE", "datetime": _ts(applied),
               "meta": {"error": reason, "documentId": uri}, "requestId": f"7f3c{n:04x}-a1b2"}  # fmt: skip
        return {**doc, "verdict": "failed", "checks": sum(t < seen for t in polls) + 1, "log": log, "ts": _ts(seen)}
    if rng.random() < 0.004:
        return {**doc, "verdict": "present", "checks": len(polls), "ts": _ts(polls[-1] + rng.random())}
    round_at = next(t for t in polls if t >= applied)
    evidence = "search: not found (viewAllContent)"
    checks = polls.index(round_at) + 1
    return {**doc, "verdict": "gone", "ok": True, "checks": checks, "evidence": evidence,
            "ts": _ts(round_at + rng.uniform(0, 4))}  # fmt: skip


def verification_picture() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bulkdelete-shot-"))
    results, verdicts = write_verified_job(folder)
    page = folder / "report.html"
    bulkdelete("report", str(results), "--verified", str(verdicts), "-o", str(page))
    png = ROOT / "docs" / "report-verification.png"
    asyncio.run(shoot(page, png, part="#verification", height=1500))
    print(f"{png} ({png.stat().st_size / 1000:.0f} KB); the job is in {folder}")


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
    verification_picture() if "--verification" in sys.argv[1:] else main()
