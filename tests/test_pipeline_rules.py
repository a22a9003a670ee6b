"""The pipeline's rules on tiny hand-made sighting tables, with hand-computed answers:
gap splitting at the threshold, passers-by by signal and by dwell, staff by length
and by closed hours, midnight crossing, duplicate folding, k-suppression."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from footfall.config import load_settings
from footfall.pipeline import runner

from footfall_command import run_footfall
from sightings_builder import (
    DAY,
    MINUTE,
    PRAGUE,
    S,
    config,
    local,
    outputs,
    run_pipeline,
    seen,
    visits_of,
    write,
)


def test_a_gap_of_exactly_the_threshold_does_not_split(tmp_path: Path) -> None:
    t = local(10)
    result = run_pipeline(
        tmp_path,
        [
            *(S(t + offset, 1) for offset in (0 * MINUTE, 15 * MINUTE, 30 * MINUTE)),
            *(S(t + offset, 2) for offset in (0 * MINUTE, 15 * MINUTE + timedelta(microseconds=1), 20 * MINUTE)),
        ],
    )
    assert [v["dwell_s"] for v in visits_of(result, 1)] == [1800.0]
    assert [v["sightings"] for v in visits_of(result, 1)] == [3]
    second = visits_of(result, 2)
    assert [v["sightings"] for v in second] == [1, 2]
    assert second[1]["dwell_s"] == pytest.approx(5 * 60 - 1e-6)


def test_passers_by_by_signal_per_sensor_and_by_dwell(tmp_path: Path) -> None:
    t = local(11)
    sightings = (
        seen(1, t, t + 20 * MINUTE, rssi=-71)  # weaker than s1's -70: outside
        + seen(2, t, t + 20 * MINUTE, rssi=-70)  # exactly the threshold: inside
        + seen(3, t, t + 20 * MINUTE, rssi=-65, sensor="s2")  # s2's threshold is -60: outside
        + seen(4, t, t + 20 * MINUTE, rssi=-65, sensor="s1")  # the same signal at s1: inside
        # the minimum visit counts the span and one silence of the device between its scans
        # (heard only when it scans, it was there about half a silence either side)
        + seen(5, t, t + 4 * MINUTE - timedelta(seconds=1), every=MINUTE)  # 3:59 + 59.75 s < 5 min: passing
        + seen(6, t, t + timedelta(seconds=225), every=timedelta(seconds=75))  # 3:45 + 1:15 = 5 min: a visit
        + [S(t, 8)]  # one scan: no silence to add, no span: passing
        + [S(t, 7, rssi=-80, sensor="s1"), S(t + 10 * MINUTE, 7, rssi=-55, sensor="s2")]  # inside at s2
    )
    result = run_pipeline(tmp_path, sightings)
    classes = {v["device_key"]: v["class"] for v in result["visits"]}
    assert classes == {
        1: "passerby",
        2: "visitor",
        3: "passerby",
        4: "visitor",
        5: "passerby",
        6: "visitor",
        7: "visitor",
        8: "passerby",
    }
    assert visits_of(result, 7)[0]["peak_rssi"] == -55


def test_staff_by_daily_length_and_by_closed_hours(tmp_path: Path) -> None:
    sightings = (
        seen(1, local(10), local(16, 1))  # 6 h 01: staff
        + seen(2, local(10), local(15, 59))  # 5 h 59: a (long) visitor
        + seen(3, local(9), local(12, 1))
        + seen(3, local(13), local(16))  # 3:01 + 3:00 > 6 h: staff
        + seen(4, local(8, 40), local(10))  # inside 20 min before opening: staff
        + seen(5, local(8, 50), local(10))  # 10 min before opening: a visitor who came early
        + seen(6, local(19, 30), local(20, 14))  # 14 min after closing: a visitor
        + seen(7, local(19, 30), local(20, 16))  # 16 min after closing: staff
        + seen(8, local(2), local(3), rssi=-85)  # outside at night: a passer-by, not staff
    )
    result = run_pipeline(tmp_path, sightings)
    classes = {device: {v["class"] for v in visits_of(result, device)} for device in range(1, 9)}
    assert classes == {
        1: {"staff"},
        2: {"visitor"},
        3: {"staff"},
        4: {"staff"},
        5: {"visitor"},
        6: {"visitor"},
        7: {"staff"},
        8: {"passerby"},
    }
    (daily,) = result["marts/daily"]
    assert (daily["visitors"], daily["passersby"]) == (3, 1), "staff never count as customers"


def test_a_visit_crossing_midnight_belongs_to_the_day_it_started(tmp_path: Path) -> None:
    next_day = DAY + timedelta(days=1)
    sightings = seen(1, local(23, 50), local(0, 20, day=next_day)) + seen(
        2, local(10, 0, day=next_day), local(10, 30, day=next_day)
    )
    result = run_pipeline(tmp_path, sightings, hours="08:00-02:00")  # a late-night shop
    by_date = {(v["date"], v["device_key"]): v for v in result["visits"]}
    assert set(by_date) == {(DAY, 1), (next_day, 2)}
    assert by_date[(DAY, 1)]["dwell_s"] == 30 * 60
    days = {row["date"]: row for row in result["marts/daily"]}
    assert days[DAY]["visitors"] == 1 and days[next_day]["visitors"] == 1


def test_the_same_frame_heard_by_two_sensors_is_folded(tmp_path: Path) -> None:
    t = local(12)
    sightings = [
        S(t, 1, rssi=-75, sensor="s1", seq=100),
        S(t + timedelta(milliseconds=300), 1, rssi=-50, sensor="s2", seq=100),  # the same frame, s2 inside
        S(t + 6 * MINUTE, 1, rssi=-75, sensor="s1", seq=101),
        S(t + 6 * MINUTE + timedelta(seconds=4), 1, rssi=-74, sensor="s2", seq=101),  # 4 s: folded
        S(t + 8 * MINUTE, 1, rssi=-75, sensor="s1", seq=102),
        S(t + 8 * MINUTE + timedelta(seconds=6), 1, rssi=-74, sensor="s2", seq=102),  # 6 s: another frame
    ]
    result = run_pipeline(tmp_path, sightings)
    (visit,) = visits_of(result, 1)
    assert visit["sightings"] == 4
    assert visit["peak_rssi"] == -50 and visit["class"] == "visitor"
    assert visit["first_seen"] == t.astimezone(UTC)


@pytest.mark.parametrize(("visitors", "k", "shown"), [(4, 5, None), (5, 5, 5), (6, 5, 6), (0, 1, 0), (1, 2, None)])
def test_k_suppression_boundaries(tmp_path: Path, visitors: int, k: int, shown: int | None) -> None:
    t = local(14)
    sightings = [s for d in range(visitors) for s in seen(d + 1, t, t + 10 * MINUTE)]
    sightings += seen(100, t, t + MINUTE, rssi=-90)  # a passer-by, so the day has sightings
    result = run_pipeline(tmp_path, sightings, k=k)
    (daily,) = result["marts/daily"]
    assert daily["visitors"] == shown
    assert daily["suppressed"] is (k > 1), "the single passer-by is below any k > 1"
    if shown is None:
        assert daily["suppressed"] is True and daily["capture_rate"] is None and daily["dwell_p50_s"] is None
    occupied = [row for row in result["marts/occupancy"] if row["ts"] == (t + 5 * MINUTE).astimezone(UTC)]
    assert occupied[0]["present"] == shown


def test_daily_dwell_hourly_and_occupancy_figures(tmp_path: Path) -> None:
    sightings = (
        seen(1, local(10), local(10, 30))  # 30 min
        + seen(2, local(10, 10), local(10, 20))  # 10 min
        + seen(3, local(10, 50), local(12, 10))  # 80 min, two hours
        + seen(1, local(15), local(15, 7))  # the first comes back: a second visit, 7 min
        + seen(4, local(10, 5), local(10, 6), rssi=-80)  # a passer-by at 10:05
        + seen(5, local(13), local(13, 1), rssi=-80)  # and one at 13:00
    )
    result = run_pipeline(tmp_path, sightings)
    (daily,) = result["marts/daily"]
    assert (daily["visitors"], daily["visits"], daily["passersby"]) == (3, 4, 2)
    assert daily["capture_rate"] == pytest.approx(3 / 5)
    assert daily["dwell_p50_s"] == pytest.approx((600 + 1800) / 2)  # dwell: 420, 600, 1800, 4800
    assert daily["dwell_p90_s"] == pytest.approx(1800 + 0.7 * 3000)
    dwell = {row["bucket"]: row["visits"] for row in result["marts/dwell"]}
    assert dwell == {"<5m": 0, "5-20m": 2, "20-60m": 1, "1-6h": 1, "6h+": 0}
    hours = {row["hour"]: row for row in result["marts/hourly"]}
    assert len(hours) == 24
    assert (hours[10]["arrivals"], hours[10]["visitors"], hours[10]["passersby"]) == (3, 3, 1)
    assert (hours[11]["arrivals"], hours[11]["visitors"]) == (0, 1)
    assert (hours[12]["visitors"], hours[13]["passersby"], hours[15]["arrivals"]) == (1, 1, 1)
    assert hours[10]["capture_rate"] == pytest.approx(3 / 4)
    occupancy = {row["ts"].astimezone(PRAGUE).strftime("%H:%M"): row["present"] for row in result["marts/occupancy"]}
    assert len(occupancy) == 288
    # A visit counts in the bins whose midpoint it covers: 10:00-10:30 is in the bins
    # 10:00..10:25, 10:10-10:20 in 10:10 and 10:15 (10:22:30 is past its end).
    assert occupancy["09:55"] == 0 and occupancy["10:00"] == 1 and occupancy["10:10"] == 2
    assert occupancy["10:15"] == 2 and occupancy["10:20"] == 1 and occupancy["10:25"] == 1
    assert occupancy["10:30"] == 0 and occupancy["10:50"] == 1 and occupancy["12:05"] == 1 and occupancy["12:10"] == 0
    assert occupancy["15:00"] == 1 and occupancy["15:05"] == 0


def test_marts_hold_no_device_identifier(tmp_path: Path) -> None:
    result = run_pipeline(tmp_path, seen(1, local(10), local(10, 30)), k=1)
    for mart in ("daily", "hourly", "dwell", "occupancy", "sensor_health"):
        for row in result[f"marts/{mart}"]:
            assert not {"device", "device_key", "ie_hash", "seq"} & set(row), mart


def test_the_same_run_twice_gives_identical_files(tmp_path: Path) -> None:
    sightings = seen(1, local(10), local(10, 30)) + seen(2, local(11), local(11, 40), rssi=-80)
    run_pipeline(tmp_path, sightings, start=DAY)
    files = sorted((tmp_path / "data").rglob("part-0.parquet"))
    first = {f: f.read_bytes() for f in files}
    settings = load_settings(tmp_path / "footfall.toml")
    runner.run(settings, runner.plan(settings, start=DAY))
    assert {f: f.read_bytes() for f in sorted((tmp_path / "data").rglob("part-0.parquet"))} == first


def test_new_sightings_replace_the_days_outputs_whole(tmp_path: Path) -> None:
    result = run_pipeline(tmp_path, seen(1, local(10), local(10, 30)))
    assert len(result["visits"]) == 1
    write(tmp_path / "data", seen(2, local(12), local(12, 20)), name="part-later-0.parquet")
    settings = load_settings(tmp_path / "footfall.toml")
    work = runner.plan(settings)
    assert [d.date for d in work.targets] == [DAY], "only the changed day"
    runner.run(settings, work)
    after = outputs(tmp_path / "data")
    assert sorted(v["device_key"] for v in after["visits"]) == [1, 2]
    assert [row["visitors"] for row in after["marts/daily"]] == [2]
    assert len(list((tmp_path / "data" / "visits").rglob("*.parquet"))) == 1
    assert runner.plan(settings).targets == [], "nothing new now"


def test_sensor_health_from_heartbeats(tmp_path: Path) -> None:
    (tmp_path / "footfall.toml").write_text(config())
    folder = tmp_path / "data" / "heartbeats" / "store=shop" / f"date={DAY}"
    folder.mkdir(parents=True)
    minute = local(10).astimezone(UTC)
    pq.write_table(
        pa.table(
            {
                "minute": [minute, minute, minute + MINUTE],
                "sensor": ["s1", "s2", "s1"],
                "frames": [100, 7, 50],
                "probes": [3, 0, 2],
            }
        ),
        folder / "part-a-0.parquet",
    )
    pq.write_table(
        pa.table({"minute": [minute], "sensor": ["s1"], "frames": [10], "probes": [1]}), folder / "part-b-0.parquet"
    )
    result = run_pipeline(tmp_path, seen(1, local(10), local(10, 30)))
    health = {(r["sensor"], r["minute"]): (r["frames"], r["probes"]) for r in result["marts/sensor_health"]}
    assert health == {("s1", minute): (110, 4), ("s2", minute): (7, 0), ("s1", minute + MINUTE): (50, 2)}


def test_sensor_health_says_which_sensors_reported_their_quiet_minutes(tmp_path: Path) -> None:
    """Issue 13: a capture file holds only the minutes with frames, so a minute without a
    row inside its span is quiet; a running collector (stream, live) writes its quiet
    minutes as zeros, so there a minute without a row is an outage. `continuous` tells
    the dashboard which, per sensor and day, from the heartbeats themselves."""
    (tmp_path / "footfall.toml").write_text(config())
    folder = tmp_path / "data" / "heartbeats" / "store=shop" / f"date={DAY}"
    folder.mkdir(parents=True)
    minute = local(10).astimezone(UTC)
    minutes = [minute, minute + MINUTE, minute + 5 * MINUTE, minute, minute + 5 * MINUTE]
    pq.write_table(
        pa.table(
            {
                "minute": minutes,
                "sensor": ["stream", "stream", "stream", "file", "file"],
                "frames": [40, 0, 40, 40, 40],  # the stream heard nothing at 10:01 and said so
                "probes": [9, 0, 9, 9, 9],
            }
        ),
        folder / "part-a-0.parquet",
    )
    result = run_pipeline(tmp_path, seen(1, local(10), local(10, 30)))
    continuous = {(r["sensor"], r["minute"]): r["continuous"] for r in result["marts/sensor_health"]}
    assert continuous == {
        ("stream", minute): True,
        ("stream", minute + MINUTE): True,
        ("stream", minute + 5 * MINUTE): True,
        ("file", minute): False,
        ("file", minute + 5 * MINUTE): False,
    }


def test_run_command_end_to_end(workspace: Path) -> None:
    (workspace / "footfall.toml").write_text(config())
    write(workspace / "data", seen(1, local(10), local(10, 30)) + seen(2, local(11), local(11, 2), rssi=-80))
    run = run_footfall("run", cwd=workspace)
    assert run.returncode == 0, run.output
    text = " ".join(run.stdout.split())
    assert "shop │ 2024-05-14 │ 1 │ 1 │ 50% │ 30 min" in text
    assert "data/visits" in text and "data/marts/daily" in text
    again = run_footfall("run", cwd=workspace)
    assert again.returncode == 0 and "nothing new" in again.stderr


def test_no_data_is_an_error_worded_as_the_audit_words_it(workspace: Path) -> None:
    """Issue 13: `footfall run` on a data folder that does not exist, or holds no sightings,
    exited 0 as if it had done its work."""
    run = run_footfall("run", "--date", "2024-01-01", cwd=workspace)
    audit = run_footfall("privacy", "audit", cwd=workspace)
    assert run.returncode == audit.returncode == 1
    assert run.stderr == audit.stderr.replace("nothing to audit", "nothing to run")
    assert run.stderr == f"footfall: error: no data folder at {workspace / 'data'}: nothing to run (see --data)\n"
    assert not (workspace / "data").exists()
    (workspace / "data").mkdir()
    empty = run_footfall("run", cwd=workspace)
    assert empty.returncode == 1
    assert empty.stderr == "footfall: error: no sightings for any store under data: run `footfall collect` first\n"
    bad = run_footfall("run", "--date", "2024-13-01", cwd=workspace)
    assert bad.returncode == 1 and "--date" in bad.stderr


def test_a_corrupt_parquet_file_is_named_and_other_days_still_run(workspace: Path) -> None:
    (workspace / "footfall.toml").write_text(config())
    other = DAY + timedelta(days=3)
    write(
        workspace / "data", seen(1, local(10), local(10, 30)) + seen(2, local(10, day=other), local(10, 30, day=other))
    )
    broken = workspace / "data" / "sightings" / "store=shop" / f"date={DAY}" / "part-broken-0.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    run = run_footfall("run", cwd=workspace)
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "part-broken-0.parquet" in errors[0] and "Traceback" not in run.output
    days = [row["date"] for row in outputs(workspace / "data")["marts/daily"]]
    assert days == [other]


def test_a_day_with_heartbeats_but_no_phone_still_gets_its_marts(tmp_path: Path) -> None:
    """The sensor was up and heard beacons, nobody came: zero visitors, not "no data"."""
    (tmp_path / "footfall.toml").write_text(config(k=1))
    quiet = DAY + timedelta(days=10)
    folder = tmp_path / "data" / "heartbeats" / "store=shop" / f"date={quiet}"
    folder.mkdir(parents=True)
    minute = local(10, day=quiet).astimezone(UTC)
    pq.write_table(
        pa.table({"minute": [minute], "sensor": ["s1"], "frames": [120], "probes": [0]}), folder / "p.parquet"
    )
    settings = load_settings(tmp_path / "footfall.toml")
    report = runner.run(settings, runner.plan(settings))
    assert not report.errors
    result = outputs(tmp_path / "data")
    assert [(r["date"], r["visitors"], r["passersby"]) for r in result["marts/daily"]] == [(quiet, 0, 0)]
    assert [(r["frames"], r["probes"]) for r in result["marts/sensor_health"]] == [(120, 0)]
    assert result["visits"] == []
