"""The people estimate on simulated shop days (sample_captures/shopsim), run through the
`footfall` command as a user would, against the simulator's ground truth: a street,
passers-by several times the customers, staff, fixed devices, phones that change their
address at every scan. `make eval` measures a whole sweep of such days; this keeps
two small ones in `make test`."""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import duckdb
import numpy as np
import pytest

from footfall_command import run_footfall
from shopsim import generate


def _day(folder: Path, **knobs) -> tuple[dict, dict]:
    truth = generate(folder, seed=knobs.pop("seed"), **knobs)
    config = folder / "footfall.toml"
    config.write_text(config.read_text() + "\n[privacy]\nk = 1\n")
    for capture in sorted(folder.glob("*.pcap")):
        done = run_footfall("collect", capture, "--config", config, "--sensor", capture.stem, cwd=folder)
        assert done.returncode == 0, done.stderr
    done = run_footfall("run", "--config", config, cwd=folder)
    assert done.returncode == 0, done.stderr
    daily = (
        duckdb.sql(f"select * from read_parquet('{folder}/data/marts/daily/**/*.parquet', hive_partitioning = true)")
        .to_arrow_table()
        .to_pylist()
    )
    assert len(daily) == 1
    return truth, daily[0]


@pytest.fixture(scope="module")
def randomising(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    folder = tmp_path_factory.mktemp("shop-rand")
    truth, daily = _day(folder, seed=21, customers=200, sensors=("s1",))
    return folder, truth, daily


def test_visitors_within_a_tenth_of_the_truth_and_the_range_holds_it(randomising) -> None:
    _, truth, daily = randomising
    visitors = truth["daily"]["visitors"]
    assert abs(daily["visitors"] - visitors) <= 0.10 * visitors, (daily["visitors"], visitors)
    assert daily["visitors_low"] <= visitors <= daily["visitors_high"]
    assert daily["visitors_low"] <= daily["visitors"] <= daily["visitors_high"]


def test_median_dwell_within_three_minutes(randomising) -> None:
    """The issue's target is two minutes; over make eval's sweep the error is 1 minute on
    average, 3.6 at worst: a single day is held to three."""
    _, truth, daily = randomising
    assert abs(daily["dwell_p50_s"] - truth["daily"]["dwell_p50_s"]) <= 180


def test_followed_phones_are_one_person_each(randomising) -> None:
    """A device key the tracker followed (a fixed address, or sequence numbers that run
    on) holds one person's pseudonyms, all but a few (a sequence number that happens
    to continue another phone's): checked against the simulator's sidecar, which says
    who sent each frame."""
    folder, _, _ = randomising
    step = importlib.import_module("footfall.pipeline.02_link_pseudonyms")
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    sightings = folder / "data" / "sightings" / "**" / "*.parquet"
    con.execute(f"create view sightings as select * from read_parquet('{sightings}', hive_partitioning=true)")
    con.execute("create macro micros(ts) as epoch_us(ts)")
    con.execute(
        "create table store_settings as "
        "select 'shop' as store, 900000000::bigint as gap_us, -70.0 as rssi_threshold_dbm"
    )
    con.execute("create table sensor_thresholds (store varchar, sensor varchar, rssi_threshold_dbm double)")
    links = step.links(con.sql(step.SOURCE_SQL).to_arrow_table()).to_pandas()
    frames = np.load(folder / "frames.npz")
    heard = con.sql("select epoch_us(ts) as ts_us, seq, device from sightings where sensor = 's1'").df()
    sent = dict(
        zip(
            zip(frames["s1_ts_us"].tolist(), (frames["s1_seq"].astype(int) % 4096).tolist(), strict=True),
            frames["s1_person"].tolist(),
            strict=True,
        )
    )
    heard["person"] = [sent.get((t, s % 4096)) for t, s in zip(heard.ts_us, heard.seq, strict=True)]
    merged = heard.merge(links, on="device")
    followed = merged[merged.followed]
    people = followed.groupby("device_key").person.nunique()
    assert len(people) > 20 and (people == 1).mean() >= 0.95


def test_without_randomisation_visitors_within_a_twentieth(tmp_path: Path) -> None:
    truth, daily = _day(tmp_path, seed=22, customers=200, sensors=("s1", "s2"), randomization=False)
    visitors = truth["daily"]["visitors"]
    assert abs(daily["visitors"] - visitors) <= 0.05 * visitors, (daily["visitors"], visitors)
    assert daily["visitors_low"] == daily["visitors"] == daily["visitors_high"], "every phone followed: a count"
    assert not math.isnan(daily["capture_rate"])
