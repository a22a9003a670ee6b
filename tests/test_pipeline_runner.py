"""The runner's mechanics: batches, change detection, failures isolated per day."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from footfall.config import load_settings
from footfall.data_folder import DataFolder
from footfall.outputs import INT64, Column, Dataset
from footfall.pipeline import runner
from footfall.store_days import StoreDay

from sightings_builder import DAY, config, local, outputs, seen, write


def _week(tmp_path: Path) -> Path:
    """Five days of a shop, with a visit crossing each midnight (a late-night shop)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "footfall.toml").write_text(config(hours="08:00-02:00"))
    sightings = []
    for offset in range(5):
        day = DAY + timedelta(days=offset)
        sightings += seen(offset + 1, local(10, day=day), local(10, 40, day=day))
        sightings += seen(100 + offset, local(23, 40, day=day), local(0, 30, day=day + timedelta(days=1)))
        sightings += seen(200 + offset, local(12, day=day), local(12, 2, day=day), rssi=-85)
    write(tmp_path / "data", sightings)
    return tmp_path


def test_batches_of_one_day_give_the_same_outputs(tmp_path: Path, monkeypatch) -> None:
    whole, split = _week(tmp_path / "whole"), _week(tmp_path / "split")
    settings = load_settings(whole / "footfall.toml")
    runner.run(settings, runner.plan(settings))
    monkeypatch.setattr(runner, "BATCH_ROWS", 1)
    settings = load_settings(split / "footfall.toml")
    report = runner.run(settings, runner.plan(settings))
    assert len(report.done) == 6  # five days and the morning after the last
    assert outputs(split / "data") == outputs(whole / "data")
    midnight = [v for v in outputs(split / "data")["visits"] if v["device_key"] >= 100 and v["device_key"] < 200]
    assert sorted(v["dwell_s"] for v in midnight) == [50 * 60] * 5, "every visit crossing midnight is whole"


def test_a_changed_setting_reruns_the_store(tmp_path: Path) -> None:
    folder = _week(tmp_path)
    settings = load_settings(folder / "footfall.toml")
    runner.run(settings, runner.plan(settings))
    assert runner.plan(settings).targets == []
    (folder / "footfall.toml").write_text(config(hours="08:00-02:00").replace("gap_min = 15", "gap_min = 20"))
    settings = load_settings(folder / "footfall.toml")
    assert len(runner.plan(settings).targets) == 6


def test_new_sightings_rerun_the_day_and_its_neighbours(tmp_path: Path) -> None:
    folder = _week(tmp_path)
    settings = load_settings(folder / "footfall.toml")
    runner.run(settings, runner.plan(settings))
    middle = DAY + timedelta(days=2)
    write(folder / "data", seen(999, local(15, day=middle), local(15, 30, day=middle)), name="part-late-0.parquet")
    assert [d.date for d in runner.plan(settings).targets] == [
        middle - timedelta(days=1),
        middle,
        middle + timedelta(days=1),
    ]


def test_a_day_whose_data_breaks_the_query_fails_alone(tmp_path: Path) -> None:
    folder = _week(tmp_path)
    bad_day = DAY + timedelta(days=3)
    partition = folder / "data" / "sightings" / "store=shop" / f"date={bad_day}"
    pq.write_table(pa.table({"ts": [1], "unexpected": ["x"]}), partition / "part-odd-0.parquet")
    settings = load_settings(folder / "footfall.toml")
    report = runner.run(settings, runner.plan(settings))
    assert report.errors and all("pipeline failed" in e for e in report.errors)
    failed = {e.split(":")[0] for e in report.errors}
    # the day itself, and the days either side that read its sightings for their midnights
    assert failed == {f"store 'shop', {bad_day + timedelta(days=shift)}" for shift in (-1, 0, 1)}
    done = {row["date"] for row in outputs(folder / "data")["marts/daily"]}
    assert done == {DAY + timedelta(days=shift) for shift in (0, 1, 5)}


def test_two_steps_of_one_number_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An install mixed with an older version's files (02_resolve_devices.sql beside
    02_link_pseudonyms.py) would create a relation twice: say so instead."""
    from importlib import resources

    from footfall.errors import FootfallError
    from footfall.pipeline import runner

    for name in ("00_macros.sql", "01_stage.sql", "02_link_pseudonyms.py", "02_resolve_devices.sql"):
        (tmp_path / name).write_text("select 1")
    monkeypatch.setattr(resources, "files", lambda package: tmp_path)
    with pytest.raises(FootfallError, match="two steps numbered 02"):
        runner.steps()
    (tmp_path / "02_resolve_devices.sql").unlink()
    assert [step.name for step in runner.steps()] == ["stage", "link_pseudonyms"]


def test_every_output_file_keeps_its_steps_order_in_a_batch_of_many_days(tmp_path: Path) -> None:
    """Each published file holds its rows in the order the step made them, however many
    store-days one batch writes (DuckDB's partitioned writer, run in parallel, swaps
    chunks of rows within files once a batch holds about 100,000 rows)."""
    import duckdb

    days = [StoreDay("shop", DAY + timedelta(days=offset)) for offset in range(12)]
    con = duckdb.connect()
    con.execute(
        "create temp table steps_output as select 'shop' as store, $day + cast(i % 12 as integer) as date, i as n "
        "from range(1200000) as r(i) order by store, date, n",
        {"day": DAY},
    )
    numbered = Dataset("numbered", "a number", "", (Column("n", INT64, ""),), tier="marts")
    published = runner._publish(con, "steps_output", DataFolder(tmp_path), numbered, days)
    assert len(published) == 12
    for file in published:
        n = pq.read_table(file).column("n").to_pylist()
        assert len(n) == 100000 and n == sorted(n), f"{file.relative_to(tmp_path)} is out of order"
