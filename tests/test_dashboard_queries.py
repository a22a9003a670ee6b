"""The dashboard's data access on its own (no Streamlit): it follows the marts as the
pipeline republishes them, reads only the partitions selected, binds what users
choose as parameters, and names a damaged file in one line."""

from __future__ import annotations

import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from footfall.dashboard.queries import PAGE_QUERIES, Marts, Selection

import mart_builder as mb

D = date(2024, 5, 17)


def publish(data: Path, store: str, day: date, visitors: int) -> None:
    """As the runner does: a new file written aside, then renamed over the old one."""
    folder = data / "marts" / "daily" / f"store={store}" / f"date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    staged = data / "staged.parquet"
    pq.write_table(
        pa.Table.from_pylist([mb.daily_row(visitors, visitors, 50, 600.0, 1200.0, 5)], schema=mb.SCHEMAS["daily"]),
        staged,
    )
    os.replace(staged, folder / "part-0.parquet")


def visitors_on(marts: Marts, stores: tuple[str, ...], day: date) -> int | None:
    days = marts.overview(Selection(stores, day, day)).days.set_index("date")
    return int(days.loc[day, "visitors"]) if day in days.index else None


def test_a_republished_day_is_read_again_and_a_deleted_one_forgotten(tmp_path: Path) -> None:
    publish(tmp_path, "a", D, 10)
    marts = Marts(tmp_path)
    assert visitors_on(marts, ("a",), D) == 10
    publish(tmp_path, "a", D, 20)
    assert visitors_on(marts, ("a",), D) == 20, "the pipeline ran the day again"
    shutil.rmtree(tmp_path / "marts" / "daily" / "store=a" / f"date={D}")
    assert visitors_on(marts, ("a",), D) is None, "retention deleted the day"
    assert marts.date_bounds(["a"]) is None


def test_only_the_selected_store_days_are_read_and_a_damaged_file_is_left_out(tmp_path: Path) -> None:
    publish(tmp_path, "a", D, 10)
    publish(tmp_path, "b", D, 30)
    publish(tmp_path, "b", D - timedelta(days=2), 7)
    broken = tmp_path / "marts" / "daily" / "store=b" / f"date={D - timedelta(days=3)}" / "part-0.parquet"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"PAR1 not a parquet file")
    marts = Marts(tmp_path)
    assert visitors_on(marts, ("a",), D) == 10
    assert visitors_on(marts, ("a", "b"), D) == 40
    assert marts.damaged == {}, "b's damaged day is not in the selection: never opened"
    days = marts.overview(Selection(("b",), D - timedelta(days=3), D)).days.set_index("date")
    assert int(days.loc[D - timedelta(days=2), "visitors"]) == 7 and D - timedelta(days=3) not in days.index
    assert list(marts.damaged) == [str(broken)]
    assert "\n" not in marts.damaged[str(broken)]
    publish(tmp_path, "b", D - timedelta(days=3), 9)  # the day run again
    assert visitors_on(marts, ("b",), D - timedelta(days=3)) == 9 and marts.damaged == {}


def test_user_choices_are_parameters_not_sql(tmp_path: Path) -> None:
    publish(tmp_path, "a", D, 10)
    marts = Marts(tmp_path)
    hostile = ("a' or '1'='1", "a'); drop table daily; --")
    for query in PAGE_QUERIES.values():
        query(marts, Selection(hostile, D, D))  # no error, nothing read
    assert visitors_on(marts, hostile, D) is None
    assert visitors_on(marts, ("a",), D) == 10, "the cache tables are intact"


def test_stores_and_dates_come_from_the_partition_folders(tmp_path: Path) -> None:
    publish(tmp_path, "a", D, 10)
    publish(tmp_path, "a", D - timedelta(days=3), 12)
    publish(tmp_path, "b", D + timedelta(days=1), 5)
    (tmp_path / "marts" / "daily" / "store=a" / "date=not-a-date").mkdir()
    (tmp_path / "marts" / "daily" / "store=not a store name").mkdir()
    marts = Marts(tmp_path)
    assert marts.stores() == ["a", "b"]
    assert marts.date_bounds(["a"]) == (D - timedelta(days=3), D)
    assert marts.date_bounds(["a", "b"]) == (D - timedelta(days=3), D + timedelta(days=1))


def test_a_damaged_file_of_the_day_is_left_out_until_it_is_replaced(tmp_path: Path) -> None:
    """The day-by-day marts (occupancy here) are read from the files when asked."""
    start = pd.Timestamp(D, tz="UTC")
    bins = [
        {"ts": start + pd.Timedelta(minutes=5 * n), "present": 7.0, "suppressed": False, "estimated": True}
        for n in range(288)
    ]
    good = mb.write(tmp_path, "occupancy", "a", D, bins)
    broken = tmp_path / "marts" / "occupancy" / "store=b" / f"date={D}" / "part-0.parquet"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"PAR1 not a parquet file")
    marts = Marts(tmp_path)
    selection = Selection(("a", "b"), D, D)
    assert set(marts.occupancy(selection).bins["store"]) == {"a"}
    assert list(marts.damaged) == [str(broken)]
    staged = tmp_path / "staged.parquet"
    shutil.copy(good, staged)
    os.replace(staged, broken)  # the day run again
    assert set(marts.occupancy(selection).bins["store"]) == {"a", "b"} and marts.damaged == {}
