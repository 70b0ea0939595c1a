"""Run safety: interrupts, kills and resume, aborts, budgets, the source status lifecycle, older-than, hostile input."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

import orjson

from bulkdelete.emulator import EmulatorConfig, run_emulator
from tests.conftest import KEY, ORG, SOURCE, coveo_args, read_lines, run_cli, start_cli, write_ids

IDS = [f"https://site.example/doc/{n}" for n in range(400)]


async def wait_for_requests(emu: object, count: int, limit_s: float = 20) -> None:
    deadline = time.monotonic() + limit_s
    while emu.stats()["requests"] < count:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the run never got going"
        await asyncio.sleep(0.02)


async def test_sigint_drains_reports_every_accepted_request_resets_status_and_exits_130(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    out = tmp_path / "out.jsonl"
    async with run_emulator(EmulatorConfig(latency_ms=20), docs=IDS) as emu:
        proc = await start_cli(
            *coveo_args(emu.base_url, "--rate", "40", "--status", "REFRESH", "-o", str(out), str(ids))
        )
        await wait_for_requests(emu, 20)
        sent_at = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 10)
        elapsed = time.monotonic() - sent_at
        deleted = len(IDS) - len(emu.documents)
        history = emu.stats()["status_history"]
    assert proc.returncode == 130, err.decode()
    assert elapsed < 5
    lines = read_lines(out)
    assert len(lines) == deleted  # every request the server accepted is reported, nothing more
    assert all(line["outcome"] == "accepted" for line in lines)
    assert history[SOURCE] == ["REFRESH", "IDLE"]
    assert b"Traceback" not in err and b"interrupted" in err


async def test_sigkill_then_resume_leaves_exactly_one_ok_line_per_id(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    journal = tmp_path / "journal.jsonl"
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        proc = await start_cli(*coveo_args(emu.base_url, "--rate", "100", "--resume", str(journal), str(ids)))
        await wait_for_requests(emu, 60)
        proc.kill()
        await proc.wait()
        with journal.open("ab") as handle:  # as if the kill had torn the last line in the middle
            handle.write(b'{"id":"https://site.example/doc/torn","outco')
        done = await run_cli(*coveo_args(emu.base_url, "--rate", "0", "--resume", str(journal), str(ids)))
        assert emu.documents == []
    assert done.code == 0, done.stderr
    ok_ids = Counter(line["id"] for line in read_lines(journal) if line["ok"])
    assert set(ok_ids) == set(IDS)
    assert set(ok_ids.values()) == {1}


async def test_a_repeated_id_whose_delete_failed_is_not_done_for_resume(tmp_path: Path) -> None:
    """The repeat of an id gets ``duplicate`` (ok) at once, before its first occurrence is answered: when that one
    fails, the journal's ``duplicate`` line must not make ``--resume`` skip the id (it was never deleted). And once
    the id is done, a resumed run neither re-sends it nor appends another ``duplicate`` line for the repeat."""
    doc = IDS[0]
    ids = write_ids(tmp_path / "ids.txt", [doc, doc, IDS[1]])
    journal = tmp_path / "journal.jsonl"
    async with run_emulator(EmulatorConfig(fail_rate=1.0, seed=1), docs=IDS[:2]) as emu:
        first = await run_cli(*coveo_args(emu.base_url, "--max-attempts", "1", "--resume", str(journal), str(ids)))
    assert first.code == 1, first.stderr
    assert sorted(line["outcome"] for line in read_lines(journal)) == ["duplicate", "failed", "failed"]
    async with run_emulator(EmulatorConfig(), docs=IDS[:2]) as emu:
        second = await run_cli(*coveo_args(emu.base_url, "--resume", str(journal), str(ids)))
        assert emu.documents == []  # the repeated id is deleted too
        assert emu.stats()["requests"] == 2
        third = await run_cli(*coveo_args(emu.base_url, "--resume", str(journal), str(ids)))
        assert emu.stats()["requests"] == 2  # nothing sent again
    assert second.code == third.code == 0, second.stderr + third.stderr
    outcomes = [(line["id"], line["outcome"]) for line in read_lines(journal)]
    assert outcomes.count((doc, "duplicate")) == 2  # one per run that sent the id, none from the third
    assert {outcome for record_id, outcome in outcomes[3:] if record_id == doc} == {"accepted", "duplicate"}


async def test_resume_with_a_separate_output_writes_skipped_lines(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS[:10])
    journal = write_ids(tmp_path / "journal.jsonl", [])
    journal.write_text("".join(f'{{"id":"{i}","outcome":"accepted","ok":true}}\n' for i in IDS[:4]))
    async with run_emulator(EmulatorConfig(), docs=IDS[:10]) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--resume", str(journal), "-o", "-", str(ids)))
        assert emu.stats()["requests"] == 6
    assert Counter(line["outcome"] for line in done.lines) == {"skipped": 4, "accepted": 6}


async def test_daily_quota_aborts_without_a_retry_storm(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    async with run_emulator(EmulatorConfig(daily_items=30), docs=IDS) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--rate", "0", "--concurrency", "8", str(ids)))
        requests = emu.stats()["requests"]
    assert done.code == 3
    assert requests <= 30 + 8 + 1
    failed = [line for line in done.lines if not line["ok"]]
    assert failed and all(line["attempts"] == 1 and "TOO_MANY_DOCUMENTS_DAILY" in line["error"] for line in failed)
    assert len(done.lines) == requests
    assert "aborted" in done.stderr


async def test_max_errors_aborts_with_exit_3(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    async with run_emulator(EmulatorConfig(fail_rate=1.0, seed=3), docs=IDS) as emu:
        done = await run_cli(
            *coveo_args(
                emu.base_url, "--rate", "0", "--max-attempts", "1", "--max-errors", "5", "--concurrency", "4", str(ids)
            )
        )
        requests = emu.stats()["requests"]
    assert done.code == 3
    assert 5 <= len(done.lines) == requests <= 5 + 4
    assert "max-errors" in done.stderr


async def test_max_requests_and_stop_after_end_gracefully(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    summary = tmp_path / "summary.json"
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        done = await run_cli(
            *coveo_args(emu.base_url, "--rate", "0", "--max-requests", "25", "--summary", str(summary), str(ids))
        )
        assert emu.stats()["requests"] == 25
        assert len(done.lines) == 25 and done.code == 4  # a budget stop with records left: --resume finishes them
        assert "max-requests" in done.stderr and "--resume" in done.stderr
        doc = orjson.loads(summary.read_bytes())
        assert (doc["unsent"], doc["unsent_exact"], doc["stop_reason"]) == (len(IDS) - 25, True, "max-requests")
        timed = await run_cli(*coveo_args(emu.base_url, "--rate", "50", "--stop-after", "1s", str(ids)))
    assert timed.code == 4
    assert 20 <= len(timed.lines) <= 80
    assert "stop-after" in timed.stderr
    assert f"unsent    {len(IDS) - len(timed.lines)} records" in timed.stderr  # the rest of the file, counted


async def test_status_is_reset_to_idle_even_when_the_run_aborts(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS[:50])
    async with run_emulator(EmulatorConfig(daily_items=5), docs=IDS) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--status", "REBUILD", "--rate", "0", str(ids)))
        history = emu.stats()["status_history"]
    assert done.code == 3
    assert history[SOURCE] == ["REBUILD", "IDLE"]


async def test_coveo_status_command() -> None:
    async with run_emulator(EmulatorConfig(), docs=[]) as emu:
        done = await run_cli(
            "coveo", "status", "INCREMENTAL", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE
        )
        assert emu.stats()["status_history"][SOURCE] == ["INCREMENTAL"]
    assert done.code == 0
    assert done.lines[0]["ok"] is True


async def test_older_than_refuses_a_future_ordering_id_and_needs_yes_without_a_terminal() -> None:
    future = str(int(time.time() * 1000) + 3_600_000)
    async with run_emulator(EmulatorConfig(), docs=["https://a/1"]) as emu:
        args = ["coveo", "older-than", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE]
        refused = await run_cli(*args, "--ordering-id", future, "--yes")
        unconfirmed = await run_cli(*args, "--ordering-id", "now")
        assert emu.stats()["requests"] == 0
        done = await run_cli(*args, "--ordering-id", "now", "--queue-delay", "0", "--yes")
        calls = emu.stats()["olderthan"]
    assert refused.code == 2 and "reject" in refused.stderr
    assert unconfirmed.code == 2 and "--yes" in unconfirmed.stderr
    assert done.code == 0
    assert len(calls) == 1


async def test_hostile_inputs_each_get_one_clear_line(tmp_path: Path) -> None:
    raw = (
        b"\xef\xbb\xbfhttps://bom.example/first\r\n"
        b"https://crlf.example/x\r\n"
        b"https://ctrl.example/a\x01b\n"
        b"https://long.example/" + b"x" * 10_000 + b"\n"
        b"https://bad-utf8.example/\xff\xfe\n"
        b"\n# a comment\n"
        b"https://last.example/no-newline"
    )
    path = tmp_path / "hostile.txt"
    path.write_bytes(raw)
    async with run_emulator(EmulatorConfig(), docs=[]) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--rate", "0", str(path)))
    by_line = {line["line"]: line for line in done.lines}
    assert len(done.lines) == 6
    assert by_line[1]["id"] == "https://bom.example/first" and by_line[1]["ok"]
    assert by_line[2]["id"] == "https://crlf.example/x" and by_line[2]["ok"]
    assert by_line[8]["id"] == "https://last.example/no-newline" and by_line[8]["ok"]
    for bad in (3, 4, 5):
        assert by_line[bad]["outcome"] == "invalid" and by_line[bad]["error"]
    assert done.code == 1
    assert KEY not in done.stderr


async def test_a_second_signal_exits_at_once(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    async with run_emulator(EmulatorConfig(latency_ms=2500), docs=IDS) as emu:
        proc = await start_cli(*coveo_args(emu.base_url, "--rate", "0", "--concurrency", "4", str(ids)))
        await wait_for_requests(emu, 4)
        proc.send_signal(signal.SIGINT)
        await asyncio.sleep(0.3)
        sent_at = time.monotonic()
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 10)
        elapsed = time.monotonic() - sent_at
    assert proc.returncode == 130
    assert elapsed < 1.5  # did not wait for the 2.5 s requests in flight


def test_settings_never_show_a_secret() -> None:
    from bulkdelete import CoveoSettings, Secret, VeltSettings

    coveo = CoveoSettings("https://api.cloud.coveo.com", ORG, SOURCE, Secret(KEY))
    velt = VeltSettings(organization_id=ORG, api_key=Secret(KEY), auth_token=Secret(KEY + "-token"))
    for shown in (repr(coveo), str(coveo), f"{coveo}", repr(velt), str(velt)):
        assert KEY not in shown


async def test_older_than_asks_on_a_terminal_showing_org_source_and_utc_cutoff() -> None:
    import fcntl
    import os
    import pty
    import struct
    import sys
    import termios

    from tests.conftest import ROOT, cli_env

    async with run_emulator(EmulatorConfig(), docs=["https://a/1"]) as emu:
        leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bulkdelete", "coveo", "older-than", "--base-url", emu.base_url,
            "--org", ORG, "--source", SOURCE, "--ordering-id", "1700000000000",
            stdin=follower, stdout=asyncio.subprocess.PIPE, stderr=follower, env=cli_env(), cwd=ROOT,
        )  # fmt: skip
        os.close(follower)
        screen = b""
        while b"[y/N]" not in screen:
            screen += await asyncio.wait_for(asyncio.to_thread(os.read, leader, 4096), 10)
        os.write(leader, b"y\n")
        await asyncio.wait_for(proc.wait(), 10)
        os.close(leader)
        calls = emu.stats()["olderthan"]
    prompt = screen.decode()
    assert proc.returncode == 0
    assert ORG in prompt and SOURCE in prompt and "2023-11-14 22:13:20.000 UTC" in prompt
    assert len(calls) == 1


async def test_output_naming_the_journal_never_truncates_it(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS[:6])
    journal = tmp_path / "journal.jsonl"
    journal.write_text("".join(f'{{"id":"{i}","outcome":"accepted","ok":true}}\n' for i in IDS[:3]))
    async with run_emulator(EmulatorConfig(), docs=IDS[:6]) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--resume", str(journal), "-o", str(journal), str(ids)))
        assert emu.stats()["requests"] == 3
    assert done.code == 0
    lines = read_lines(journal)
    assert [line["id"] for line in lines[:3]] == IDS[:3]
    assert Counter(line["id"] for line in lines) == Counter(IDS[:6])


async def test_an_unreachable_api_stops_the_run_instead_of_crawling_through_retries(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a loopback port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ids = write_ids(tmp_path / "ids.txt", IDS)
    started = time.monotonic()
    done = await run_cli(*coveo_args(f"http://127.0.0.1:{port}", "--concurrency", "4", str(ids)))
    assert done.code == 3
    assert time.monotonic() - started < 30
    assert "unreachable" in done.stderr and "--base-url" in done.stderr
    assert done.lines == []  # nothing was decided: --resume sends everything once the URL is right


async def test_coveo_status_with_a_rejected_key_exits_3() -> None:
    async with run_emulator(EmulatorConfig(api_key="the-right-key"), docs=[]) as emu:
        done = await run_cli("coveo", "status", "IDLE", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE)
    assert done.code == 3
    assert done.lines[0]["ok"] is False and done.lines[0]["status"] == 401


async def test_ids_trickling_down_a_pipe_are_sent_as_they_come_not_at_end_of_input() -> None:
    """`tail -f deletions.log | bulkdelete ...`: an id is sent while the pipe is still open, not after 1,024 more."""
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        proc = await start_cli(*coveo_args(emu.base_url, "--rate", "0", "-"), stdin=asyncio.subprocess.PIPE)
        assert proc.stdin is not None
        proc.stdin.write("".join(f"{i}\n" for i in IDS[:3]).encode())
        await proc.stdin.drain()
        await wait_for_requests(emu, 3)  # the pipe is still open: nothing has marked the end of input
        proc.stdin.write(f"{IDS[3]}\n".encode())
        proc.stdin.close()
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    assert sorted(orjson.loads(line)["id"] for line in out.splitlines()) == sorted(IDS[:4])
