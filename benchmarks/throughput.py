"""Throughput: ``bulkdelete coveo delete --rate 0`` vs the bare aiohttp loop it is built on vs the official client.

One emulator process (pinned to core 0) serves every run; each client is its own process pinned to core 1, and the
figure is **whole-process** wall time (interpreter start-up, imports, reading the ids, the run, exit). The contenders
alternate A/B/C within each round; the table gives the median over the rounds.

* ``bulkdelete``: the real CLI, every feature on: ``--rate 0 --concurrency 64``, de-duplication, retries, JSON lines
  to a file (``-o``), ``--summary`` to a file, no progress bar (stderr is not a terminal).
* ``bare aiohttp``: the loop under it, nothing more: the same ``ClientSession`` settings (a ``TCPConnector`` with
  ``limit`` = concurrency), the same URL (``DELETE …/documents?documentId=<quote(id, safe='')>&deleteChildren=false``
  with the ``Authorization`` and ``Accept`` headers), each body read, ``concurrency`` workers pulling ids from a list.
  Two variants: writing nothing, and writing one orjson line per result to a file.
* ``official client``: ``coveo-push-api-client.py`` (``requests``), ``PlatformClient.deleteDocument`` one id after
  the other, its hard-coded base URL patched to the emulator (fewer ids: it is slow).

    .venv/bin/python benchmarks/throughput.py                      # 30,000 ids, 3 rounds
    .venv/bin/python benchmarks/throughput.py --ids 50000 --rounds 5 --official-ids 3000

Bounded: a fixed id count per run, a timeout per process, loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    KEY,
    ORG,
    PYTHON,
    SOURCE,
    Emulator,
    Measured,
    bench_env,
    cli,
    emulator,
    machine,
    median,
    precompile,
    run_measured,
    versions,
    write_ids,
)

# -- the bare loop (run in its own process: `throughput.py bare ...`) ------------------------------------------------


async def bare_loop(base: str, ids_path: str, concurrency: int, output: str | None) -> None:
    import aiohttp
    import orjson
    from yarl import URL

    ids = Path(ids_path).read_text().splitlines()
    prefix = f"{base}/push/v1/organizations/{ORG}/sources/{SOURCE}/documents?documentId="
    suffix = "&deleteChildren=false"
    headers = {"Authorization": f"Bearer {KEY}", "Accept": "application/json"}
    out = open(output, "wb") if output else None  # noqa: SIM115
    loop = asyncio.get_running_loop()
    position = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal position
        while position < len(ids):
            doc_id = ids[position]
            position += 1
            began = loop.time()
            url = URL(f"{prefix}{quote(doc_id, safe='')}{suffix}", encoded=True)
            async with session.request("DELETE", url, headers=headers) as resp:
                await resp.read()
            if out is not None:
                latency = round((loop.time() - began) * 1000, 3)
                out.write(orjson.dumps({"id": doc_id, "status": resp.status, "latency_ms": latency}) + b"\n")

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session, asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker(session))
    if out is not None:
        out.close()


# -- the official client (run in its own process: `throughput.py official ...`) -------------------------------------


def official_loop(base: str, ids_path: str) -> None:
    import requests
    from push_api_clientpy import PlatformClient  # type: ignore[import-untyped]

    org_url = f"{base}/push/v1/organizations/{ORG}"
    PlatformClient._PlatformClient__basePushURL = lambda self: org_url  # its base URL is hard-coded
    with requests.Session() as session:
        session.trust_env = False
        client = PlatformClient(KEY, ORG, session=session)
        for doc_id in Path(ids_path).read_text().splitlines():
            client.deleteDocument(SOURCE, doc_id, False).raise_for_status()


# -- the orchestrator ------------------------------------------------------------------------------------------------


def contenders(base: str, ids: Path, out: Path, concurrency: int, uvloop: bool) -> dict[str, list[str]]:
    me = str(Path(__file__).resolve())
    common = ["--base-url", base, "--org", ORG, "--source", SOURCE]
    bulk = [*common, "--rate", "0", "--concurrency", str(concurrency), "--no-progress", "-q"]
    bulk += ["-o", str(out / "results.jsonl"), "--overwrite", "--summary", str(out / "s.json"), str(ids)]
    bare = [PYTHON, me, "bare", base, str(ids), str(concurrency)]
    runs = {
        # The CLI runs on uvloop whenever it is installed (bulkdelete/cli/loop.py): pin asyncio's loop here.
        "bulkdelete (JSONL to file)": ["env", "BULKDELETE_UVLOOP=0", *cli("coveo", "delete", *bulk)],
        "bare aiohttp (no output)": bare,
        "bare aiohttp (JSONL to file)": [*bare, str(out / "bare.jsonl")],
    }
    if uvloop:
        runs["bulkdelete + uvloop (JSONL to file)"] = ["env", "BULKDELETE_UVLOOP=1", *cli("coveo", "delete", *bulk)]
        runs["bare aiohttp + uvloop (JSONL to file)"] = [*bare, str(out / "bare.jsonl"), "uvloop"]
    return runs


def main(args: argparse.Namespace) -> None:
    precompile()
    with tempfile.TemporaryDirectory() as tmp, emulator() as emu:
        tmp_path = Path(tmp)
        ids = write_ids(tmp_path / "ids.txt", args.ids)
        official_ids = write_ids(tmp_path / "official.txt", args.official_ids)
        runs = contenders(emu.base_url, ids, tmp_path, args.concurrency, args.uvloop)
        small_runs = contenders(
            emu.base_url, write_ids(tmp_path / "small.txt", args.small), tmp_path, args.concurrency, args.uvloop
        )
        if args.only:
            runs = {name: cmd for name, cmd in runs.items() if any(word in name for word in args.only)}
        # glibc hands a freed mmap'd block's size up as its new mmap threshold. asyncio reads each response into a
        # fresh 256 KiB buffer: until something frees a block that large, every response costs mmap + mremap + munmap
        # (strace: one of each per id in the bare loop; bulkdelete's reader happens to free one early and is spared).
        # A fixed threshold gives every client the same allocator.
        env = bench_env(MALLOC_MMAP_THRESHOLD_=str(1024 * 1024))
        walls: dict[str, list[float]] = {name: [] for name in runs}
        cpus: dict[str, list[float]] = {name: [] for name in runs}
        small_walls: dict[str, list[float]] = {name: [] for name in runs}
        for round_no in range(args.rounds):
            order = list(runs) if round_no % 2 == 0 else list(reversed(runs))
            for name in order:
                if args.small:
                    small_walls[name].append(measure(emu, name, small_runs[name], args.small, env, args.timeout).wall_s)
                result = measure(emu, name, runs[name], args.ids, env, args.timeout)
                walls[name].append(result.wall_s)
                cpus[name].append(result.cpu_s)
                print(f"round {round_no + 1} {name}: {result.wall_s:.2f} s", file=sys.stderr)
        official = None
        if args.official_ids:
            emu.reset_stats()
            me = str(Path(__file__).resolve())
            official = run_measured([PYTHON, me, "official", emu.base_url, str(official_ids)], env=env, timeout_s=300)
            if official.returncode != 0:
                sys.exit(f"official client: exit {official.returncode}\n{official.stderr}")
    report(args, walls, cpus, official)
    if args.small:
        per_item(args, walls, small_walls)


def measure(emu: Emulator, name: str, cmd: list[str], ids: int, env: dict[str, str], timeout_s: float) -> Measured:
    """Run one contender on ``ids`` ids; exits unless it ended well with every id served."""
    emu.reset_stats()
    result = run_measured(cmd, env=env, timeout_s=timeout_s)
    served = emu.stats()["by_status"].get("202", 0)
    if result.returncode != 0 or served != ids:
        sys.exit(f"{name}: exit {result.returncode}, {served} of {ids} served\n{result.stderr}")
    return result


def per_item(args: argparse.Namespace, walls: dict[str, list[float]], small_walls: dict[str, list[float]]) -> None:
    """Per-item throughput: the ids between the small and the large run over the time between them, within each
    round: start-up, imports and exit cancel out (as in ``instructions.py``), what is left is the cost of one more id.
    """
    extra = args.ids - args.small
    print(f"\nper-item throughput (--ids {args.ids:,} minus --small {args.small:,}, per round), median [min–max]:\n")
    print("| client | per-item ids/s | vs bare (JSONL), per round | start-up + exit s (median) |")
    print("|---|---:|---:|---:|")
    rates = {name: [extra / (w - s) for w, s in zip(walls[name], small_walls[name], strict=True)] for name in walls}
    bare = rates.get("bare aiohttp (JSONL to file)")
    for name, own in rates.items():
        ratios = [mine / theirs for mine, theirs in zip(own, bare, strict=True)] if bare else []
        versus = f"{median(ratios):.3f}× [{min(ratios):.2f}–{max(ratios):.2f}]" if ratios else "-"
        fixed = [s - args.small / r for s, r in zip(small_walls[name], own, strict=True)]
        print(f"| {name} | {median(own):,.0f} | {versus} | {median(fixed):.3f} |")


def report(
    args: argparse.Namespace, walls: dict[str, list[float]], cpus: dict[str, list[float]], official: object
) -> None:
    print(f"machine: {machine()}; {versions()}")
    print(f"ids per run: {args.ids:,}, concurrency {args.concurrency}, {args.rounds} rounds alternating, median")
    print()
    print(
        "| client | ids | whole-process s (median) | min–max s | ids/s | client CPU s | vs bare (no output) "
        "| vs bare (JSONL) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    rates = {name: args.ids / median(w) for name, w in walls.items()}
    bare = rates.get("bare aiohttp (no output)")
    bare_jsonl = rates.get("bare aiohttp (JSONL to file)")
    for name, w in walls.items():
        rate = rates[name]
        r1 = f"{rate / bare:.2f}×" if bare else "-"
        r2 = f"{rate / bare_jsonl:.2f}×" if bare_jsonl else "-"
        print(
            f"| {name} | {args.ids:,} | {median(w):.2f} | {min(w):.2f}–{max(w):.2f} | {rate:,.0f} "
            f"| {median(cpus[name]):.2f} | {r1} | {r2} |"
        )
    if official is not None:
        assert isinstance(official, Measured)
        rate = args.official_ids / official.wall_s
        bulk = rates.get("bulkdelete (JSONL to file)")
        r1 = f"{rate / bare:.3f}×" if bare else "-"
        print(
            f"| official client, sequential | {args.official_ids:,} | {official.wall_s:.2f} | - | {rate:,.0f} "
            f"| {official.cpu_s:.2f} | {r1} | - |"
        )
        if bulk:
            print(f"\nbulkdelete / official client: {bulk / rate:.1f}×")
    paired(walls, cpus)


def paired(walls: dict[str, list[float]], cpus: dict[str, list[float]]) -> None:
    """Each client's speed relative to the bare loop *within each round* (the two ran back to back), median and
    range over the rounds: this VM's speed drifts by ±20% over minutes, which the medians of whole columns carry
    into their ratio, while two runs seconds apart mostly share it."""
    for bare_name in ("bare aiohttp (JSONL to file)", "bare aiohttp (no output)"):
        if bare_name not in walls:
            continue
        print(f"\nper-round ratios to {bare_name} (its time ÷ the client's: > 1 is faster), median [min–max]:\n")
        print("| client | wall clock | client CPU |")
        print("|---|---:|---:|")
        for name in walls:
            if name.startswith("bare"):
                continue
            by_wall = [b / c for b, c in zip(walls[bare_name], walls[name], strict=True)]
            by_cpu = [b / c for b, c in zip(cpus[bare_name], cpus[name], strict=True)]
            print(
                f"| {name} | {median(by_wall):.3f}× [{min(by_wall):.2f}–{max(by_wall):.2f}] "
                f"| {median(by_cpu):.3f}× [{min(by_cpu):.2f}–{max(by_cpu):.2f}] |"
            )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "bare":
        if sys.argv[-1] == "uvloop":
            import uvloop  # type: ignore[import-not-found]

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
            del sys.argv[-1]
        asyncio.run(bare_loop(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None))
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "official":
        official_loop(sys.argv[2], sys.argv[3])
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ids", type=int, default=30_000, help="ids per run (default 30000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight (default 64)")
    parser.add_argument("--official-ids", type=int, default=2_000, help="ids for the official client (0: skip)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per process (default 180)")
    parser.add_argument("--uvloop", action="store_true", help="also run both with uvloop (pip install uvloop)")
    parser.add_argument(
        "--small", type=int, default=0, help="also run every contender on this many ids per round: per-item throughput"
    )
    parser.add_argument("--only", nargs="*", help="run only the contenders whose name contains one of these words")
    main(parser.parse_args())
