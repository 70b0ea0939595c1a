"""Capacity of the emulator on one core: requests/s for Coveo per-item DELETE and Velt v2 batches.

The emulator runs as its own process pinned to one core (``taskset -c 0``); this script pins itself to another
(``-c 1``) and drives it over 127.0.0.1 with keep-alive connections, using a lean raw-socket HTTP/1.1
client by default (``--client aiohttp`` uses ``aiohttp.ClientSession``). It samples the server's CPU time
from ``/proc`` so that a client-bound run is visible: ``server cpu`` near 100% means the figure is the
emulator's capacity; below that, ``req/s per server core`` extrapolates it.

    .venv/bin/python benchmarks/emulator_capacity.py       # 20,000 requests per scenario, 64 in flight
    .venv/bin/python benchmarks/emulator_capacity.py --count 5000 --client aiohttp

Bounded: a fixed request count per scenario, a 120 s cap on each, loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_plus, urlsplit

import aiohttp
import orjson
from yarl import URL

ORG, SOURCE = "bench", "src"
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class Result:
    scenario: str
    client: str
    count: int
    elapsed_s: float
    latencies: list[float]
    server_cpu: float
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return self.count / self.elapsed_s

    def row(self) -> str:
        lat = sorted(self.latencies)
        p50, p99 = lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000
        codes = ",".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))
        return (
            f"| {self.scenario} | {self.client} | {self.count} | {self.elapsed_s:.2f} | {self.rate:,.0f} "
            f"| {self.server_cpu:.0%} | {self.rate / max(self.server_cpu, 1e-9):,.0f} "
            f"| {p50:.1f} | {p99:.1f} "
            f"| {codes} |"
        )


def coveo_id(i: int) -> str:
    return f"https://example.com/item/{i} ?&#+%"


def velt_id(i: int) -> str:
    return f"velt-doc-{i}"


def coveo_delete(i: int) -> Request:
    doc_id = quote_plus(coveo_id(i))
    path = f"/push/v1/organizations/{ORG}/sources/{SOURCE}/documents?documentId={doc_id}&deleteChildren=false"
    return Request("DELETE", path, {"Authorization": "Bearer k"})


def velt_delete(i: int) -> Request:
    ids = [velt_id(i * 30 + n) for n in range(30)]
    body = orjson.dumps({"data": {"organizationId": ORG, "documentIds": ids}})
    headers = {"x-velt-api-key": "k", "x-velt-auth-token": "t", "Content-Type": "application/json"}
    return Request("POST", "/v2/organizations/documents/delete", headers, body)


SCENARIOS: dict[str, Callable[[int], Request]] = {
    "coveo DELETE item": coveo_delete,
    "velt v2 delete x30": velt_delete,
}


def encode(req: Request, host: str) -> bytes:
    lines = [f"{req.method} {req.path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(req.body)}"]
    lines += [f"{k}: {v}" for k, v in req.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + req.body


async def raw_worker(
    host: str, port: int, jobs: asyncio.Queue[bytes], latencies: list[float], statuses: dict[int, int]
) -> None:
    """One keep-alive connection; requests are encoded beforehand so the client spends little per request."""
    reader, writer = await asyncio.open_connection(host, port)
    loop = asyncio.get_running_loop()
    try:
        while not jobs.empty():
            payload = jobs.get_nowait()
            began = loop.time()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            start = head.index(b"Content-Length: ") + 16
            length = int(head[start : head.index(b"\r\n", start)])
            await reader.readexactly(length)
            latencies.append(loop.time() - began)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def aiohttp_worker(
    session: aiohttp.ClientSession,
    base: str,
    jobs: asyncio.Queue[int],
    make: Callable[[int], Request],
    latencies: list[float],
    statuses: dict[int, int],
) -> None:
    loop = asyncio.get_running_loop()
    while not jobs.empty():
        req = make(jobs.get_nowait())
        began = loop.time()
        url = URL(base + req.path, encoded=True)
        async with session.request(req.method, url, headers=req.headers, data=req.body or None) as resp:
            await resp.read()
        latencies.append(loop.time() - began)
        statuses[resp.status] = statuses.get(resp.status, 0) + 1


def server_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def run_scenario(
    name: str, base: str, pid: int, count: int, concurrency: int, client: str, offset: int
) -> Result:
    """``count`` requests; ids from ``offset`` on, so that each run deletes documents that exist."""
    make = SCENARIOS[name]
    jobs: asyncio.Queue[int] = asyncio.Queue()
    for i in range(offset, offset + count):
        jobs.put_nowait(i)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    parts = urlsplit(base)
    cpu0, t0 = server_cpu_s(pid), time.perf_counter()
    if client == "raw":
        host, port = parts.hostname or "", parts.port or 80
        encoded: asyncio.Queue[bytes] = asyncio.Queue()
        while not jobs.empty():
            encoded.put_nowait(encode(make(jobs.get_nowait()), f"{host}:{port}"))
        cpu0, t0 = server_cpu_s(pid), time.perf_counter()
        workers = [raw_worker(host, port, encoded, latencies, statuses) for _ in range(concurrency)]
        await asyncio.wait_for(asyncio.gather(*workers), timeout=120)
    else:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
            workers = [aiohttp_worker(session, base, jobs, make, latencies, statuses) for _ in range(concurrency)]
            await asyncio.wait_for(asyncio.gather(*workers), timeout=120)
    elapsed = time.perf_counter() - t0
    cpu = (server_cpu_s(pid) - cpu0) / elapsed
    return Result(name, client, count, elapsed, latencies, cpu, statuses)


async def start_server(docs: Path, core: int | None) -> tuple[asyncio.subprocess.Process, str]:
    cmd = [sys.executable, "-m", "bulkdelete.emulator", "--port", "0", "--docs", str(docs)]
    if core is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(core), *cmd]
    proc = await asyncio.create_subprocess_exec(*cmd, stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    line = (await asyncio.wait_for(proc.stderr.readline(), timeout=120)).decode()
    return proc, line.split(" on ", 1)[1].split(" ", 1)[0]


async def main(args: argparse.Namespace) -> None:
    cores = os.cpu_count() or 1
    server_core = 0 if cores > 1 else None
    if cores > 1:
        os.sched_setaffinity(0, {1})
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "ids.txt"
        total = args.count * len(args.client)
        with docs.open("w") as out:
            out.writelines(f"{coveo_id(i)}\n" for i in range(total))
            out.writelines(f"{velt_id(i)}\n" for i in range(total * 30))
        proc, base = await start_server(docs, server_core)
        try:
            results = [
                await run_scenario(name, base, proc.pid, args.count, args.concurrency, client, k * args.count)
                for k, client in enumerate(args.client)
                for name in SCENARIOS
            ]
            async with aiohttp.ClientSession() as session, session.get(f"{base}/_emulator/stats") as resp:
                stats = await resp.json()
        finally:
            proc.terminate()
            await proc.wait()
    print(
        f"machine: nproc={cores}, python {platform.python_version()}, {platform.machine()}, "
        f"server pinned to core {server_core}, client to core 1, concurrency {args.concurrency}"
    )
    print(
        "| scenario | client | requests | s | req/s | server cpu | req/s per server core | p50 ms | p99 ms | statuses |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for result in results:
        print(result.row())
    print(
        f"server stats: requests={stats['requests']} max_per_second={stats['max_per_second']} "
        f"peak_inflight={stats['peak_inflight']} documents_left={stats['documents_left']}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20_000, help="requests per scenario (default 20000)")
    parser.add_argument("--concurrency", type=int, default=64, help="connections in flight (default 64)")
    parser.add_argument("--client", nargs="+", choices=["raw", "aiohttp"], default=["raw", "aiohttp"])
    asyncio.run(main(parser.parse_args()))
