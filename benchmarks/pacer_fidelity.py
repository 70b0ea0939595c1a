"""Pacer fidelity on the real clock over real loopback, as the *server* measures it.

A minimal ``aiohttp.web`` server runs in its own process (pinned to CPU 0 with ``taskset`` when available)
and records every request's start time; it enforces a strict sliding-window quota of R requests per second
(429 past it; refused requests do not count, as in the emulator). A client on CPU 1 sends for ``--duration``
seconds with 64 concurrent workers through an ``aiohttp.ClientSession``, paced by, in turn:

* ``Pacer(R)`` (bulkdelete.rate.pacing);
* ``AsyncLimiter(R, 1)``, ``AsyncLimiter(1, 1/R)`` and ``AsyncLimiter(2, 2/R')`` (aiolimiter: a bucket of 2 at a
  2% margin, the candidate SPEC §6 names), and ``AsyncLimiter(c, c/R')`` with the Pacer's own fractional capacity
  ``c = 1 + tolerance·R'`` (1.1 at R=10, 2 from R=100 on);

and then, with ``--auto``, ``AdaptiveRate`` (``--rate auto``) against an undisclosed quota, handling 429s as
the engine does (a global pause of the backoff). Only 127.0.0.1 is used.

    .venv/bin/python benchmarks/pacer_fidelity.py [--duration 10] [--rates 10,100,1000] [--auto]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from aiolimiter import AsyncLimiter

from bulkdelete.rate.adaptive import AdaptiveRate
from bulkdelete.rate.backoff import BackoffPolicy
from bulkdelete.rate.pacing import Pacer

HOST = "127.0.0.1"
CONCURRENCY = 64


# -- server (its own process) --


def serve(port: int) -> None:
    starts: list[float] = []  # every request start, accepted or not
    accepted: deque[float] = deque()
    state: dict[str, Any] = {"quota": 0, "throttled": 0, "accepted": 0}

    async def doc(_request: web.Request) -> web.Response:
        now = time.monotonic()
        starts.append(now)
        while accepted and accepted[0] <= now - 1.0:
            accepted.popleft()
        if state["quota"] and len(accepted) >= state["quota"]:
            state["throttled"] += 1
            return web.json_response({"errorCode": "TOO_MANY_REQUESTS"}, status=429)
        accepted.append(now)
        state["accepted"] += 1
        return web.json_response(None, status=202)

    async def reset(request: web.Request) -> web.Response:
        starts.clear()
        accepted.clear()
        state.update(quota=int(request.query["quota"]), throttled=0, accepted=0)
        return web.json_response(None)

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response({"starts": starts, **state})

    app = web.Application()
    app.add_routes([web.delete("/doc", doc), web.post("/reset", reset), web.get("/stats", stats)])
    web.run_app(app, host=HOST, port=port, print=None, access_log=None)


# -- client --

Acquire = Callable[[], Awaitable[None]]
# --limiters keys → the names in the table.
LIMITERS = {
    "pacer": "Pacer(R)",
    "burst": "AsyncLimiter(R, 1)",
    "one": "AsyncLimiter(1, 1/R)",
    "two": "AsyncLimiter(2, 2/R')",
    "fraction": "AsyncLimiter(c, c/R')",
}


def max_in_window(times: list[float], width: float) -> int:
    ordered = sorted(times)
    return max((bisect_right(ordered, t + width) - i for i, t in enumerate(ordered)), default=0)


async def blast(
    session: aiohttp.ClientSession,
    url: str,
    acquire: Acquire,
    duration: float,
    on_status: Callable[[int], None],
) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + duration

    async def worker() -> None:
        while True:
            await acquire()
            if loop.time() >= end:
                return
            async with session.delete(url) as response:
                await response.read()
                on_status(response.status)

    async with asyncio.TaskGroup() as tg:
        for _ in range(CONCURRENCY):
            tg.create_task(worker())


async def measure(base: str, quota: int, duration: float, make: Callable[[], tuple[Acquire, Any]]) -> dict[str, Any]:
    """One run: reset the server to ``quota``, send for ``duration`` s, read the server's own figures."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(f"{base}/reset", params={"quota": str(quota)}) as r:
            await r.read()
        acquire, hook = make()
        await blast(session, f"{base}/doc", acquire, duration, hook)
        async with session.get(f"{base}/stats") as r:
            stats = await r.json()
    starts: list[float] = stats["starts"]
    t0 = min(starts)
    return {
        "accepted": stats["accepted"],
        "throttled": stats["throttled"],
        "max_1s": max_in_window(starts, 1.0),
        "max_0.1s": max_in_window(starts, 0.1),
        "first_1s": sum(1 for t in starts if t <= t0 + 1.0),
        "starts": starts,
    }


def paced_by(name: str, rate: float) -> Callable[[], tuple[Acquire, Any]]:
    def make() -> tuple[Acquire, Any]:
        if name == "Pacer(R)":
            return Pacer(rate).acquire, lambda _status: None
        if name == "AsyncLimiter(R, 1)":
            return AsyncLimiter(rate, 1).acquire, lambda _status: None
        if name == "AsyncLimiter(1, 1/R)":
            return AsyncLimiter(1, 1 / rate).acquire, lambda _status: None
        if name == "AsyncLimiter(c, c/R')":
            # The Pacer's tolerance (rate/pacing.py): one slot, capped at margin/(1-margin)/2 s = 10.2 ms.
            interval = 1 / (rate * 0.98)
            capacity = 1 + min(interval, 0.02 / 0.98 / 2) / interval
            return AsyncLimiter(capacity, capacity / (rate * 0.98)).acquire, lambda _status: None
        bucket2 = AsyncLimiter(2, 2 / (rate * 0.98))
        return bucket2.acquire, lambda _status: None

    return make


def auto_paced() -> Callable[[], tuple[Acquire, Any]]:
    """``--rate auto`` wiring as the engine does it: adaptive signals plus a global pause on a 429."""

    def make() -> tuple[Acquire, Any]:
        pacer = Pacer(10)
        adaptive = AdaptiveRate(pacer)
        policy, rng = BackoffPolicy(), random.Random(1)
        streak = [0]

        def on_status(status: int) -> None:
            now = asyncio.get_running_loop().time()
            if status == 429:
                streak[0] += 1
                adaptive.on_throttle(now)
                pacer.pause(policy.pause_for(None, streak[0], rng))
            else:
                streak[0] = 0
                adaptive.on_success(now)

        return pacer.acquire, on_status

    return make


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, __file__, "--serve", str(port)]
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        command = ["taskset", "-c", "0", *command]
    server = subprocess.Popen(command)
    for _ in range(100):
        try:
            socket.create_connection((HOST, port), timeout=0.1).close()
            return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("benchmark server did not start")


async def main(rates: list[int], duration: float, auto: bool, limiters: list[str]) -> None:
    port = free_port()
    server = start_server(port)
    base = f"http://{HOST}:{port}"
    rows = []
    try:
        for rate in rates:
            for name in limiters:
                result = await measure(base, rate, duration, paced_by(name, rate))
                achieved = result["accepted"] / duration / rate
                figures = (result["throttled"], result["max_1s"], result["first_1s"], result["max_0.1s"])
                rows.append((f"R={rate}", name, f"{achieved:.3f}", *figures))
                print(" | ".join(map(str, rows[-1])), flush=True)
        if auto:
            for quota in rates[1:]:
                result = await measure(base, quota, 3 * duration, auto_paced())
                late = [t for t in result["starts"] if t >= min(result["starts"]) + duration]
                achieved = result["accepted"] / 3 / duration / quota
                converged = f"starts/Q, last {2 * duration:g} s: {len(late) / 2 / duration / quota:.3f}"
                figures = (result["throttled"], result["max_1s"], result["first_1s"], converged)
                rows.append((f"Q={quota}", "AdaptiveRate (auto)", f"{achieved:.3f}", *figures))
                print(" | ".join(map(str, rows[-1])), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print()
    print("| rate | limiter | server-measured / R | 429s | max in any 1 s | first 1 s | max in any 0.1 s |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(map(str, row)) + " |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run (default 10)")
    parser.add_argument("--rates", default="10,100,1000", help="comma-separated R values (default 10,100,1000)")
    parser.add_argument(
        "--limiters",
        default=",".join(LIMITERS),
        help="comma-separated keys: " + ", ".join(f"{key} = {name}" for key, name in LIMITERS.items()),
    )
    parser.add_argument("--auto", action="store_true", help="also run --rate auto against Q = each R but the first")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
    else:
        if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(0, {1})  # the client on the other CPU than the server
        keys = [key.strip() for key in args.limiters.split(",") if key.strip()]
        if unknown := set(keys) - set(LIMITERS):
            parser.error(f"unknown limiters: {sorted(unknown)}")
        chosen = [LIMITERS[key] for key in keys]
        asyncio.run(main([int(r) for r in args.rates.split(",")], args.duration, args.auto, chosen))
