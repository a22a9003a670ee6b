"""How many people a visit stands for (05_visits.sql) and what the daily mart makes of
it (06_mart_daily.sql): hand-computed on hand-made phones."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest

from sightings_builder import S, local, run_pipeline

SECOND = timedelta(seconds=1)


def android(first: int, start, scans: int, every_s: int, seq: int) -> list[S]:
    """A phone that draws a new address per scan while its sequence number runs on:
    followed. One frame per scan, device ids from `first`."""
    return [
        S(start + n * every_s * SECOND, first + n, rssi=-50, seq=(seq + 3 * n) % 4096, randomized=True, layout=1)
        for n in range(scans)
    ]


def iphone(first: int, start, scans: int, every_s: int, seed: int) -> list[S]:
    """A phone that draws a new address and a new sequence number at every scan: guessed."""
    rng = random.Random(seed)
    return [
        S(start + n * every_s * SECOND, first + n, rssi=-50, seq=rng.randrange(4096), randomized=True, layout=2)
        for n in range(scans)
    ]


def day(followed_phones: int) -> list[S]:
    """Followed phones one after another from 10:00 (20 scans 30 s apart: 570 s, 20
    scans each), then at 16:00 a guessed chain scanning about twice as often (40 scans
    14 s apart: 546 s): two phones the tracker could not tell apart, or one phone twice
    as busy; its scans make two of the day's visits."""
    sightings = []
    for k in range(followed_phones):
        sightings += android(1000 * (k + 1), local(10) + k * 12 * 60 * SECOND, 20, 30, seq=500 * k)
    return sightings + iphone(900_000, local(16), 40, 14, seed=1)


def test_a_guessed_visit_counts_its_scans_over_a_followed_visit(tmp_path: Path) -> None:
    result = run_pipeline(tmp_path, day(12))
    visits = result["visits"]
    followed = [v for v in visits if v["followed"]]
    guessed = [v for v in visits if not v["followed"]]
    assert len(followed) == 12 and {v["scans"] for v in followed} == {20} and {v["people"] for v in followed} == {1.0}
    assert len(guessed) == 1 and guessed[0]["scans"] == 40 and guessed[0]["class"] == "visitor"
    # a followed phone: 20 scans in 570 s at 20/570 per second, and the mean stay is 570 s:
    # 40 scans stand for 40 / (20/570 * 570) = 2 visits
    assert guessed[0]["people"] == pytest.approx(2.0)
    daily = result["marts/daily"][0]
    assert daily["visits"] == 14
    assert daily["visitors"] == 14  # 12 followed people, and 2 visits at 12 people per 12 visits
    # the range: the plain count of device keys (13) to the estimate (14); the scans of
    # the followed visits do not vary, so no spread widens it
    assert (daily["visitors_low"], daily["visitors_high"]) == (13, 14)
    assert daily["dwell_p50_s"] == pytest.approx(570.0)  # the followed visits' dwell
    hourly = {h["hour"]: h for h in result["marts/hourly"]}
    assert hourly[16]["arrivals"] == 2


def test_a_guessed_visit_longer_than_any_followed_one_counts_one(tmp_path: Path) -> None:
    """Longer than any followed visitor stayed: more likely a phone there all day, cut
    off from the rest of its day by a crowd of its model, than customers in a row."""
    sightings = [s for s in day(12) if s.device < 900_000] + iphone(900_000, local(16), 50, 14, seed=1)
    guessed = [v for v in run_pipeline(tmp_path, sightings)["visits"] if not v["followed"]]
    assert len(guessed) == 1 and guessed[0]["dwell_s"] > 570 and guessed[0]["people"] == 1.0


def test_with_fewer_than_ten_followed_visits_every_visit_counts_one(tmp_path: Path) -> None:
    result = run_pipeline(tmp_path, day(9))
    assert {v["people"] for v in result["visits"]} == {1.0}
    daily = result["marts/daily"][0]
    assert (daily["visitors"], daily["visits"]) == (10, 10)
    assert daily["visitors_low"] <= daily["visitors"] <= daily["visitors_high"]


@pytest.mark.parametrize("k", [5, 20])
def test_the_range_is_suppressed_with_visitors(tmp_path: Path, k: int) -> None:
    daily = run_pipeline(tmp_path, day(12), k=k)["marts/daily"][0]
    if k > 14:
        assert daily["visitors"] is None and daily["visitors_low"] is None and daily["visitors_high"] is None
    else:
        assert daily["visitors_low"] <= daily["visitors"] <= daily["visitors_high"]


def test_footfall_run_prints_visitors_with_their_range(tmp_path: Path) -> None:
    from footfall_command import run_footfall
    from sightings_builder import config, write

    (tmp_path / "footfall.toml").write_text(config(k=1))
    write(tmp_path / "data", day(12))
    done = run_footfall("run", "--config", tmp_path / "footfall.toml", "--data", tmp_path / "data", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "14 (13-14)" in done.stdout
