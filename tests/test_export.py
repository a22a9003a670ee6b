"""`footfall export MART`: a mart (or the visits) as CSV, Parquet or JSON, for a store
and days, in order, checked against the partition files read with pyarrow alone (the
oracle), on the demo's real outputs and on small marts of two stores and several days."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from footfall import outputs

import mart_builder as mb
from conftest import Collected
from footfall_command import run_footfall

D = date(2024, 5, 17)
STORES = ("north", "south")


def partition_rows(data: Path, dataset: outputs.Dataset) -> list[dict]:
    """Every row of a dataset as its files hold it, with store and date from the path."""
    rows = []
    for file in sorted((data / dataset.name).glob("store=*/date=*/*.parquet")):
        store = file.parent.parent.name.removeprefix("store=")
        day = date.fromisoformat(file.parent.name.removeprefix("date="))
        rows += [{"store": store, "date": day, **row} for row in pq.read_table(file).to_pylist()]
    return rows


def small_marts(data: Path, k: int) -> None:
    """Two stores, five days each, daily and dwell marts with known counts."""
    for number, store in enumerate(STORES):
        for offset in range(5):
            day = D - timedelta(days=offset)
            visitors = 3 if (store, offset) == ("south", 1) else 20 + 10 * number + offset
            mb.write(data, "daily", store, day, [mb.daily_row(visitors, visitors + 2, 50, 900.0, 2400.0, k)])
            buckets = [("<5m", 0), ("5-20m", 9), ("20-60m", 7), ("1-6h", 4 + offset), ("6h+", 1)]
            mb.write(
                data,
                "dwell",
                store,
                day,
                [{"bucket": b, "visits": mb.shown(n, k), "suppressed": mb.hidden(n, k)} for b, n in buckets],
            )


def test_a_real_mart_exported_as_csv_is_its_files(demo_outputs: Collected, tmp_path: Path) -> None:
    for mart in ("daily", "hourly", "dwell", "occupancy", "sensor_health", "visits"):
        dataset = outputs.BY_NAME["visits"] if mart == "visits" else outputs.MARTS[mart]
        done = run_footfall("export", mart, "--data", demo_outputs.data, cwd=tmp_path)
        assert done.returncode == 0, done.output
        exported = list(csv.DictReader(io.StringIO(done.stdout)))
        expected = partition_rows(demo_outputs.data, dataset)
        assert len(exported) == len(expected) > 0, mart
        assert list(exported[0]) == ["store", "date", *(c.name for c in dataset.columns)], "the declared order"
        for column in ("store", "date", *dataset.counts()):
            assert sorted(r[column] for r in exported) == sorted(
                "" if r[column] is None else str(r[column]) for r in expected
            ), f"{mart}.{column}: a suppressed count is an empty cell"
        assert f"{len(expected):,} row(s) of {dataset.name} written" in done.stderr


def test_store_and_days_select_the_rows_in_order(tmp_path: Path) -> None:
    (tmp_path / "footfall.toml").write_text("[privacy]\nk = 5\n")
    small_marts(tmp_path / "data", 5)
    first, last = D - timedelta(days=3), D - timedelta(days=1)
    done = run_footfall("export", "daily", "--store", "south", "--from", first, "--to", last, cwd=tmp_path)
    assert done.returncode == 0, done.output
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [(r["store"], r["date"]) for r in rows] == [("south", str(last - timedelta(days=n))) for n in (2, 1, 0)]
    assert rows[2]["visitors"] == "" and rows[2]["suppressed"] == "true", "3 visitors: below k, never 3"
    dwell = run_footfall("export", "dwell", "--date", D, cwd=tmp_path)
    buckets = [(r["store"], r["bucket"]) for r in csv.DictReader(io.StringIO(dwell.stdout))]
    assert buckets == [(s, b) for s in STORES for b in outputs.DWELL.column("bucket").values], "declared order"


@pytest.mark.parametrize("fmt", ["parquet", "json", "csv"])
def test_each_format_keeps_the_values_and_nulls(fmt: str, tmp_path: Path) -> None:
    (tmp_path / "footfall.toml").write_text("[privacy]\nk = 5\n")
    small_marts(tmp_path / "data", 5)
    target = tmp_path / "out" / f"daily.{fmt}"
    done = run_footfall("export", "daily", "--output", target, cwd=tmp_path)  # the format from the suffix
    assert done.returncode == 0, done.output
    expected = sorted(partition_rows(tmp_path / "data", outputs.DAILY), key=lambda r: (r["store"], r["date"]))
    if fmt == "parquet":
        table = pq.read_table(target)
        declared = outputs.DAILY.schema(partitions=True)
        for field in declared:
            assert table.schema.field(field.name).type == field.type, field.name
        rows = table.to_pylist()
    elif fmt == "json":
        rows = [{**r, "date": date.fromisoformat(r["date"])} for r in json.loads(target.read_text())]
    else:
        rows = [
            {**r, "date": date.fromisoformat(r["date"]), "visitors": int(r["visitors"]) if r["visitors"] else None}
            for r in csv.DictReader(target.open())
        ]
    assert [(r["store"], r["date"], r["visitors"]) for r in rows] == [
        (r["store"], r["date"], r["visitors"]) for r in expected
    ]
    assert not list(target.parent.glob(".*")), "written under a hidden name, then renamed into place"


def test_the_k_in_force_suppresses_again(tmp_path: Path) -> None:
    """Marts published with k = 1 show 3 visitors; exported with k = 5 they must not."""
    small_marts(tmp_path / "data", 1)
    (tmp_path / "footfall.toml").write_text("[privacy]\nk = 5\n")
    done = run_footfall("export", "daily", "--store", "south", "--format", "json", cwd=tmp_path)
    rows = {r["date"]: r for r in json.loads(done.stdout)}
    hidden = rows[str(D - timedelta(days=1))]
    assert hidden["visitors"] is None and hidden["capture_rate"] is None and hidden["suppressed"] is True
    (tmp_path / "footfall.toml").write_text("[privacy]\nk = 1\n")
    shown = json.loads(run_footfall("export", "daily", "--store", "south", "--format", "json", cwd=tmp_path).stdout)
    assert {r["date"]: r["visitors"] for r in shown}[str(D - timedelta(days=1))] == 3


def test_mistakes_are_one_line(tmp_path: Path) -> None:
    missing = run_footfall("export", "daily", "--data", tmp_path / "nowhere", cwd=tmp_path)
    assert missing.returncode == 1
    assert (
        missing.stderr == f"footfall: error: no data folder at {tmp_path / 'nowhere'}: nothing to export (see --data)\n"
    )
    (tmp_path / "data").mkdir()
    for args in (["export", "weekly"], ["export", "daily", "--from", "yesterday"], ["export", "daily", "--to", D]):
        done = run_footfall(*args, cwd=tmp_path)
        assert done.returncode != 0 and "Traceback" not in done.output, args
        assert done.stderr.startswith("footfall: error:") and len(done.stderr.strip().splitlines()) == 1, done.stderr
    empty = run_footfall("export", "daily", cwd=tmp_path)
    assert empty.returncode == 0 and empty.stdout.splitlines()[0].startswith("store,date,visitors")


def test_the_view_reads_only_published_parts(tmp_path: Path) -> None:
    small_marts(tmp_path / "data", 5)
    folder = tmp_path / "data" / "marts" / "daily" / "store=north" / f"date={D}"
    pq.write_table(pa.table({"visitors": [999]}), folder / ".part-0.parquet.tmp.parquet")  # a writer's temporary
    (tmp_path / "footfall.toml").write_text("[privacy]\nk = 5\n")
    rows = json.loads(run_footfall("export", "daily", "--date", D, "--format", "json", cwd=tmp_path).stdout)
    assert [r["visitors"] for r in rows] == [20, 30], "north's 20, south's 30: the temporary is not read"
