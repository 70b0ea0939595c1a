"""The summary's timeline (SPEC §8): one row per second from cumulative counters, merged above ``max_rows``."""

from __future__ import annotations

from datetime import datetime

import pytest

from bulkdelete.output.console import utc_now_iso
from bulkdelete.output.runinfo import describe_target
from bulkdelete.output.stats import RunStats
from bulkdelete.output.timeline import Timeline
from bulkdelete.rate.pacing import Pacer
from bulkdelete.secrets import Secret
from bulkdelete.targets.coveo import CoveoItemTarget, CoveoSettings
from bulkdelete.targets.coveo_batch import CoveoBatchTarget
from bulkdelete.targets.velt import VeltSettings, VeltTarget


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make(max_rows: int = 3600) -> tuple[Timeline, RunStats, Pacer, Clock]:
    clock, stats = Clock(), RunStats()
    pacer = Pacer(100.0, clock=clock)
    return Timeline(stats, pacer, clock, max_rows=max_rows), stats, pacer, clock


def send(stats: RunStats, n: int, *, ok: int | None = None, throttled: int = 0) -> None:
    """``n`` requests sent and answered (``throttled`` of them 429), ``ok`` records decided ok."""
    for i in range(n):
        stats.requests += 1
        stats.record_reply(429 if i < throttled else 202, 5.0)
    stats.ok += n - throttled if ok is None else ok


def test_one_row_per_second_holds_what_happened_within_it() -> None:
    timeline, stats, pacer, clock = make()
    send(stats, 90)
    clock.now = 1.0
    timeline.sample(clock.now)
    send(stats, 50, throttled=3)
    stats.retries += 3
    stats.requests += 4  # sent, not answered yet
    pacer.set_rate(70.0)
    clock.now = 2.0
    timeline.sample(clock.now)
    stats.not_ok += 2
    timeline.stop(2.4)
    rows = timeline.rows()
    assert [row["t"] for row in rows] == [0, 1, 2]
    assert rows[0] == {
        "t": 0, "sent": 90, "ok": 90, "not_ok": 0, "throttled": 0, "retries": 0,
        "in_flight": 0, "rate_target": 100.0, "paused_s": 0.0,
    }  # fmt: skip
    assert (rows[1]["sent"], rows[1]["ok"], rows[1]["throttled"], rows[1]["retries"]) == (54, 47, 3, 3)
    assert (rows[1]["in_flight"], rows[1]["rate_target"]) == (4, 70.0)
    assert (rows[2]["sent"], rows[2]["not_ok"]) == (0, 2)


def test_pauses_are_counted_in_the_seconds_they_happened() -> None:
    timeline, _, pacer, clock = make()
    clock.now = 0.5
    pacer.pause(1.0)  # 0.5 .. 1.5
    clock.now = 1.0
    timeline.sample(1.0)
    clock.now = 2.0
    timeline.sample(2.0)
    timeline.stop(2.0)
    assert [row["paused_s"] for row in timeline.rows()] == [0.5, 0.5]


def test_a_stalled_loop_leaves_the_seconds_it_missed_at_zero() -> None:
    timeline, stats, _, clock = make()
    clock.now = 1.0
    timeline.sample(1.0)
    send(stats, 30)
    clock.now = 3.7  # the timer for t=2 and t=3 fired late, once
    timeline.sample(3.7)
    timeline.stop(3.7)
    rows = timeline.rows()
    assert [row["t"] for row in rows] == [0, 1, 2, 3]
    assert [row["sent"] for row in rows] == [0, 0, 30, 0]


@pytest.mark.parametrize("seconds", [7, 8, 9, 17, 100])
def test_long_runs_merge_neighbouring_seconds_and_keep_every_count(seconds: int) -> None:
    timeline, stats, _, clock = make(max_rows=4)
    for second in range(seconds):
        send(stats, second + 1)
        clock.now = second + 1.0
        timeline.sample(clock.now)
    clock.now = seconds + 0.5
    send(stats, 1000)
    timeline.stop()
    rows = timeline.rows()
    assert len(rows) <= 4
    times = [int(str(row["t"])) for row in rows]
    assert times == sorted(set(times)) and times[0] == 0
    assert sum(int(str(row["sent"])) for row in rows) == stats.requests
    assert sum(int(str(row["ok"])) for row in rows) == stats.ok


def test_a_whole_day_fits_in_3600_rows() -> None:
    timeline, stats, _, clock = make()
    for second in range(86_400):
        stats.requests += 1
        clock.now = second + 1.0
        timeline.sample(clock.now)
    timeline.stop()
    rows = timeline.rows()
    assert 1800 <= len(rows) <= 3600
    assert sum(int(str(row["sent"])) for row in rows) == 86_400
    assert rows[1]["t"] == 32  # 86,400 s in rows of 32 s: 2,700 rows
    assert timeline.recent_rate() == 100.0


def test_recent_rate_is_the_mean_target_of_the_last_minute() -> None:
    timeline, _, pacer, clock = make()
    assert timeline.recent_rate() is None
    for second in range(120):
        pacer.set_rate(50.0 if second < 60 else 80.0)
        clock.now = second + 1.0
        timeline.sample(clock.now)
    assert timeline.recent_rate() == 80.0
    assert timeline.recent_rate(seconds=120) == 65.0


def test_max_rows_must_be_even() -> None:
    clock = Clock()
    with pytest.raises(ValueError, match="even"):
        Timeline(RunStats(), Pacer(1.0, clock=clock), clock, max_rows=3)


def test_targets_describe_where_the_run_went_and_never_a_secret() -> None:
    coveo = CoveoSettings("https://user:pw@api.cloud.coveo.com", "org1", "src1", Secret("k3y"))
    item, batch = describe_target(CoveoItemTarget(coveo)), describe_target(CoveoBatchTarget(coveo))
    assert item == {
        "api": "coveo", "org": "org1", "source": "src1", "base_url": "https://api.cloud.coveo.com", "mode": "item"
    }  # fmt: skip
    assert batch["mode"] == "batch"
    velt = VeltSettings(organization_id="o2", api_key=Secret("k3y"), auth_token=Secret("t0k"), batch_size=20)
    described = describe_target(VeltTarget(velt))
    assert (described["api"], described["org"], described["mode"], described["batch_size"]) == (
        "velt",
        "o2",
        "batch",
        20,
    )
    for info in (item, batch, described):
        assert "k3y" not in repr(info) and "t0k" not in repr(info) and "pw" not in repr(info)


def test_timestamps_are_utc_iso_8601_with_milliseconds() -> None:
    stamp = utc_now_iso()
    assert stamp.endswith("Z") and len(stamp) == len("2026-12-01T18:43:03.123Z")
    assert datetime.fromisoformat(stamp).utcoffset() is not None
