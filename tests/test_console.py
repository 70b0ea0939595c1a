"""The stderr console (``--log-format``): text lines for people, one JSON object per line for collectors."""

from __future__ import annotations

import io
import logging
import re
import warnings

import orjson
import pytest

from bulkdelete.output.console import Console, ProgressLine, duration_text, routed_logging
from bulkdelete.output.progress import ProgressLog
from bulkdelete.output.stats import RunStats
from bulkdelete.records import Outcome, Record, Result
from bulkdelete.secrets import Secret

LINE = ProgressLine(
    done=1200, total=5000, ok=1190, not_ok=10, rate=98.7, target=100, throttled=0, paused_s=0.0, eta_s=38.4
)
LOGFMT_PAIR = re.compile(r'(\w+)=("[^"]*"|\S*)')


def parse_logfmt(text: str) -> dict[str, str]:
    """key=value pairs of a logfmt line; asserts nothing else is on it."""
    pairs = dict(LOGFMT_PAIR.findall(text))
    assert LOGFMT_PAIR.sub("", text).strip() == "", text
    return pairs


def test_text_progress_line_is_logfmt_as_the_spec_words_it() -> None:
    out = io.StringIO()
    Console(out).progress(LINE)
    assert out.getvalue() == (
        "bulkdelete: progress done=1200/5000 ok=1190 not_ok=10 rate=98.7/s target=100/s throttled=0 paused=0.0s "
        "eta=38s\n"
    )


def test_progress_without_a_total_says_done_n_and_no_eta_and_unlimited_target() -> None:
    line = ProgressLine(
        done=7, total=None, ok=7, not_ok=0, rate=3.0, target=None, throttled=2, paused_s=1.25, eta_s=None
    )
    fields = parse_logfmt(line.logfmt())
    assert fields == {
        "done": "7",
        "ok": "7",
        "not_ok": "0",
        "rate": "3.0/s",
        "target": "unlimited",
        "throttled": "2",
        "paused": "1.2s",
    }


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (38.4, "38s"), (125, "2m05s"), (4520, "1h15m20s")])
def test_durations_read_as_go_durations(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_text_messages_have_one_prefix_each() -> None:
    out = io.StringIO()
    console = Console(out)
    console.info("resuming")
    console.warning("status not reset")
    console.error("--org is required")
    assert out.getvalue().splitlines() == [
        "bulkdelete: resuming",
        "bulkdelete: warning: status not reset",
        "bulkdelete: error: --org is required",
    ]


def test_json_mode_writes_every_kind_as_one_object_with_event_and_ts() -> None:
    out = io.StringIO()
    console = Console(out, "json")
    console.info("resuming", ok_ids=3)
    console.warning("w")
    console.error("e")
    console.progress(LINE)
    console.summary({"records": 2, "exit_code": 0}, "ignored\ntext")
    events = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["info", "warning", "error", "progress", "summary"]
    assert events[0]["ok_ids"] == 3 and events[0]["message"] == "resuming"
    assert events[3]["done"] == 1200 and events[3]["total"] == 5000 and events[3]["eta_s"] == 38
    assert events[4]["records"] == 2 and events[4]["exit_code"] == 0
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["ts"]) for e in events)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_known_secret_never_reaches_the_stream(fmt: str) -> None:
    out = io.StringIO()
    console = Console(out, fmt, [Secret("s3cr3t-token")])  # type: ignore[arg-type]
    console.error("server said: bad token s3cr3t-token")
    console.summary({"error": "s3cr3t-token"}, "s3cr3t-token")
    assert "s3cr3t-token" not in out.getvalue()


def test_a_closed_stream_loses_the_message_not_the_run() -> None:
    out = io.StringIO()
    out.close()
    Console(out).warning("nobody reads this")


def test_progress_log_rate_is_over_the_last_interval_and_eta_from_the_total() -> None:
    now = [100.0]
    stats = RunStats()
    log = ProgressLog(
        Console(io.StringIO()),
        stats,
        [],
        every=10,
        target=lambda: 50.0,
        paused_s=lambda: 1.5,
        clock=lambda: now[0],
    )
    log.set_total(1000)
    for n in range(200):
        stats.record_result(Result(Record(f"id{n}", n + 1), Outcome.ACCEPTED if n % 10 else Outcome.FAILED))
    now[0] = 110.0
    first = log.line()
    assert (first.done, first.ok, first.not_ok, first.rate, first.eta_s) == (200, 180, 20, 20.0, 40.0)
    assert (first.target, first.paused_s, first.total) == (50.0, 1.5, 1000)
    now[0] = 120.0  # nothing decided meanwhile: rate 0, no eta
    second = log.line()
    assert (second.rate, second.eta_s) == (0.0, None)


def test_library_log_records_and_warnings_go_through_the_console_as_json() -> None:
    out = io.StringIO()
    with routed_logging(Console(out, "json")):
        logging.getLogger("asyncio").error("Unclosed client session %s", "<session>")
        logging.getLogger("aiohttp.client").warning("a warning")
        logging.getLogger("quiet").info("below WARNING: not shown")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("deprecated thing", DeprecationWarning, stacklevel=1)
    logging.getLogger("asyncio").error("after: not routed any more")
    events = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert [(e["event"], e["logger"]) for e in events] == [
        ("error", "asyncio"),
        ("warning", "aiohttp.client"),
        ("warning", "py.warnings"),
    ]
    assert events[0]["message"] == "asyncio: Unclosed client session <session>"
    assert "deprecated thing" in events[2]["message"]
