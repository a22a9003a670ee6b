"""`footfall sql`: DuckDB with one view per dataset, for one query (--query) or as a
shell reading statements (here from a pipe, as a script), on the demo's real outputs;
the views' rows are checked against the partition files read with pyarrow alone."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow.parquet as pq

from footfall import outputs
from footfall.sql_shell import split_statements, statements_of

from conftest import Collected
from footfall_command import run_footfall

VIEWS = ["sightings", "heartbeats", "visits", "daily", "hourly", "dwell", "occupancy", "sensor_health"]


def file_rows(data: Path, dataset: outputs.Dataset) -> int:
    return sum(pq.read_metadata(f).num_rows for f in (data / dataset.name).glob("store=*/date=*/*.parquet"))


def test_every_dataset_is_a_view_with_its_rows(demo_outputs: Collected, tmp_path: Path) -> None:
    union = " union all ".join(f"select '{v}' as view, count(*) as n from {v}" for v in VIEWS)
    done = run_footfall("sql", "--data", demo_outputs.data, "--query", union, "--format", "csv", cwd=tmp_path)
    assert done.returncode == 0, done.output
    counts = {row["view"]: int(row["n"]) for row in csv.DictReader(io.StringIO(done.stdout))}
    for dataset in outputs.DATASETS:
        assert counts[dataset.view] == file_rows(demo_outputs.data, dataset) > 0, dataset.name


def test_views_have_the_declared_columns_store_and_date_first(demo_outputs: Collected, tmp_path: Path) -> None:
    for dataset in outputs.DATASETS:
        done = run_footfall(
            "sql", "--data", demo_outputs.data, "-q", f"describe {dataset.view}", "--format", "json", cwd=tmp_path
        )
        described = json.loads(done.stdout)
        assert [c["column_name"] for c in described] == ["store", "date", *(c.name for c in dataset.columns)]
        types = {c["column_name"]: c["column_type"] for c in described}
        assert types["date"] == "DATE" and all(types[c] == "BIGINT" for c in dataset.counts()), dataset.name


def test_a_table_prints_as_duckdb_draws_it(demo_outputs: Collected, tmp_path: Path) -> None:
    done = run_footfall(
        "sql", "--data", demo_outputs.data, "-q", "select store, date, visitors from daily", cwd=tmp_path
    )
    ((store, day, visitors),) = [
        (r["store"], r["date"], r["visitors"])
        for f in (demo_outputs.data / "marts/daily").glob("store=*/date=*/*.parquet")
        for r in [
            {
                "store": f.parent.parent.name[6:],
                "date": f.parent.name[5:],
                **pq.read_table(f).to_pylist()[0],
            }
        ]
    ]
    assert done.returncode == 0 and "┌" in done.stdout
    assert f"│ {store}" in done.stdout and day in done.stdout and f"{visitors} │" in done.stdout


def test_the_shell_runs_a_script_and_goes_on_after_an_error(demo_outputs: Collected, tmp_path: Path) -> None:
    script = (
        "-- a comment; with a semicolon\n"
        "select count(*) as hours\n  from hourly\n  where store = 'demo';\n"
        "select 'a;b' as text;\n"
        "select * from no_such_view;\n"
        ".views\n"
        "select 42 as last"  # the last statement may lack its ;
    )
    done = run_footfall("sql", "--data", demo_outputs.data, "--format", "csv", cwd=tmp_path, stdin=script.encode())
    assert done.returncode == 1, "a script whose statement failed"
    assert done.stdout.split("\n")[:2] == ["hours", "24"]
    assert "a;b" in done.stdout and "42" in done.stdout.splitlines()[-1]
    assert "sensor_health" in done.stdout, ".views lists the views"
    assert done.stderr.count("footfall: error:") == 1 and "no_such_view" in done.stderr


def test_with_no_data_folder_the_wording_is_the_audits(tmp_path: Path) -> None:
    done = run_footfall("sql", "-q", "select 1", cwd=tmp_path)
    audit = run_footfall("privacy", "audit", cwd=tmp_path)
    assert done.returncode == audit.returncode == 1
    assert done.stderr == audit.stderr.replace("nothing to audit", "nothing to query")


def test_an_empty_dataset_is_an_empty_view_of_its_columns(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    done = run_footfall(
        "sql", "-q", "select count(*) as n, max(present) as top from occupancy", "--format", "json", cwd=tmp_path
    )
    assert done.returncode == 0, done.output
    assert json.loads(done.stdout) == [{"n": 0, "top": None}]


def test_statements_are_split_outside_quotes_and_comments() -> None:
    first, second = split_statements("select ';' as a; -- x; y\nselect 2")
    assert first == "select ';' as a" and second.endswith("\nselect 2"), "the ; in the comment splits nothing"
    assert statements_of("select 1;\nselect\n") == (["select 1"], "select")
    assert statements_of("select 'it''s;' ;") == (["select 'it''s;'"], "")
    assert statements_of("-- only a comment\n") == ([], "")
