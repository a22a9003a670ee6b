"""`footfall run --engine spark`: the same outputs as DuckDB's, file by file and row by
row, on the demo day and on two simulated stores over six days (with the same salts,
so the same pseudonyms and links); its errors; and what it leaves on disk.

The oracle is the DuckDB engine, itself tested against hand-computed cases and ground
truth elsewhere: a difference here is the Spark engine's (or the transpiler's)."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from footfall.config import EngineSettings, load_settings
from footfall.outputs import PIPELINE_OUTPUTS
from footfall.pipeline import runner

from conftest import Collected
from footfall_command import run_footfall
from spark_session import spark  # noqa: F401

SPARK = EngineSettings(name="spark", spark_master="local[1]")
OUTPUT_FOLDERS = ("visits", "marts", "_pipeline")


def _inputs_of(collected: Collected, to: Path) -> Path:
    """A copy of a workspace as the collector left it (sightings, heartbeats, salts,
    configuration), without what the pipeline wrote."""
    shutil.copytree(collected.workspace, to, ignore=lambda folder, names: [n for n in names if n in OUTPUT_FOLDERS])
    return to


def _run_on_spark(workspace: Path) -> runner.RunReport:
    settings = load_settings(workspace / "footfall.toml")
    return runner.run(settings, runner.plan(settings), engine=SPARK)


def assert_same_outputs(expected: Path, actual: Path) -> int:
    """Every output file of one data folder is in the other, with the same schema and
    the same rows in the same order; a double may differ in its last bits (a sum
    added up in another order). Returns how many rows were compared."""
    compared = 0
    for dataset in PIPELINE_OUTPUTS:
        files = sorted(p.relative_to(expected) for p in (expected / dataset.name).rglob("*.parquet"))
        assert files == sorted(p.relative_to(actual) for p in (actual / dataset.name).rglob("*.parquet")), dataset.name
        for file in files:
            want, got = pq.read_table(expected / file), pq.read_table(actual / file)
            assert got.schema.equals(want.schema), f"{file}: {got.schema} is not {want.schema}"
            assert got.num_rows == want.num_rows, file
            for number, (a, b) in enumerate(zip(want.to_pylist(), got.to_pylist(), strict=True)):
                for name, value in a.items():
                    if isinstance(value, float) and isinstance(b[name], float):
                        assert math.isclose(value, b[name], rel_tol=1e-12, abs_tol=1e-9), (file, number, name)
                    else:
                        assert value == b[name], (file, number, name, value, b[name])
            compared += want.num_rows
    return compared


def test_the_demo_day_gives_duckdbs_outputs(spark, demo_outputs: Collected, tmp_path: Path) -> None:  # noqa: F811
    work = _inputs_of(demo_outputs, tmp_path / "work")
    report = _run_on_spark(work)
    assert not report.errors and [str(day.date) for day in report.done] == ["2024-03-15"]
    assert assert_same_outputs(demo_outputs.data, work / "data") > 300
    daily = pq.read_table(demo_outputs.data / "marts" / "daily").to_pylist()
    assert [row["visitors"] for row in report.daily] == [row["visitors"] for row in daily]
    settings = load_settings(work / "footfall.toml")
    assert runner.plan(settings).targets == [], "the change detection is the runner's, whatever the engine"


def test_two_stores_over_six_days_give_duckdbs_outputs(spark, two_stores_outputs: Collected, tmp_path) -> None:  # noqa: F811
    work = _inputs_of(two_stores_outputs, tmp_path / "work")
    report = _run_on_spark(work)
    store_days = list((work / "data" / "sightings").glob("store=*/date=*"))
    assert not report.errors and len(report.done) == len(store_days) >= 11
    assert assert_same_outputs(two_stores_outputs.data, work / "data") > 1000
    daily = pq.read_table(two_stores_outputs.data / "marts" / "daily").to_pylist()
    assert any(row["suppressed"] for row in daily), "suppressed days were compared"


@pytest.fixture(scope="module")
def shop_day(tmp_path_factory: pytest.TempPathFactory) -> Collected:
    """A simulated shop day (sample_captures/shopsim) whose phones mostly change their
    address at every scan: guessed phones, weighed by their scans (05_visits.sql)."""
    from shopsim import generate

    folder = tmp_path_factory.mktemp("shop") / "work"
    generate(folder, seed=31, customers=100, sensors=("s1",))
    done = run_footfall("collect", folder / "s1.pcap", "--sensor", "s1", cwd=folder)
    assert done.returncode == 0, done.output
    done = run_footfall("run", cwd=folder)
    assert done.returncode == 0, done.output
    return Collected(folder, [folder / "s1.pcap"], done.output)


def test_a_shop_of_guessed_phones_gives_duckdbs_outputs(spark, shop_day: Collected, tmp_path: Path) -> None:  # noqa: F811
    visits = pq.read_table(shop_day.data / "visits").to_pylist()
    weighed = [v for v in visits if v["class"] == "visitor" and not v["followed"]]
    assert weighed and any(v["people"] != 1.0 for v in weighed), "guessed visits are weighed: that is compared"
    work = _inputs_of(shop_day, tmp_path / "work")
    report = _run_on_spark(work)
    assert not report.errors
    assert assert_same_outputs(shop_day.data, work / "data") > 100


def test_a_damaged_file_is_named_and_only_its_day_is_skipped(
    spark,  # noqa: F811
    two_stores_outputs: Collected,
    tmp_path: Path,
) -> None:
    work = _inputs_of(two_stores_outputs, tmp_path / "work")
    damaged = sorted((work / "data" / "sightings" / "store=north" / "date=2024-05-14").glob("*.parquet"))[0]
    damaged.write_bytes(damaged.read_bytes()[:200])
    settings = load_settings(work / "footfall.toml")
    report = runner.run(settings, runner.plan(settings, "north"), engine=SPARK)
    assert (
        len(report.errors) == 1 and str(damaged) in report.errors[0] and "2024-05-14 not processed" in report.errors[0]
    )
    assert "2024-05-14" not in {str(day.date) for day in report.done}
    assert {"2024-05-13", "2024-05-15", "2024-05-18"} <= {str(day.date) for day in report.done}


def test_the_command_runs_spark_and_leaves_nothing_behind(demo_outputs: Collected, tmp_path: Path) -> None:
    """Through the command, as a user runs it: a Spark of its own (local), the same
    outputs, no Spark log or traceback on the console, its scratch folder (shuffle
    files hold pseudonyms) gone from the data folder, nothing written where the
    command ran, and the privacy audit clean."""
    work = _inputs_of(demo_outputs, tmp_path / "work")
    done = run_footfall("run", "--engine", "spark", "--spark-master", "local[2]", cwd=work)
    assert done.returncode == 0, done.output
    assert "Traceback" not in done.output and " WARN " not in done.output and " ERROR " not in done.output
    assert assert_same_outputs(demo_outputs.data, work / "data") > 300
    assert sorted(p.name for p in (work / "data" / "_pipeline").iterdir()) == ["state.json"]
    assert sorted(p.name for p in work.iterdir()) == ["data", "footfall.toml", "secrets"]
    against = [arg for capture in demo_outputs.captures for arg in ("--against", capture)]
    audit = run_footfall("privacy", "audit", *against, cwd=work)
    assert audit.returncode == 0, audit.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--spark-master", "spark://127.0.0.1:9"], "the Spark master spark://127.0.0.1:9 cannot be reached"),
        (["--spark-master", "localhost"], "--spark-master: 'localhost' is not a Spark master URL"),
        (["--engine", "duckdb", "--spark-master", "local[2]"], "--spark-master goes with --engine spark"),
    ],
)
def test_a_bad_master_is_one_line(demo_outputs: Collected, tmp_path: Path, arguments, message) -> None:
    work = _inputs_of(demo_outputs, tmp_path / "work")
    done = run_footfall("run", *arguments, cwd=work)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == f"footfall: error: {done.stderr.strip().removeprefix('footfall: error: ')}"
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_without_java_spark_is_one_line(demo_outputs: Collected, tmp_path: Path) -> None:
    work = _inputs_of(demo_outputs, tmp_path / "work")
    done = run_footfall("run", "--engine", "spark", cwd=work, env={"PATH": "/nonexistent", "JAVA_HOME": ""})
    assert done.returncode == 1, done.output
    assert done.stderr.strip().splitlines() == [
        "footfall: error: --engine spark needs a Java 17 runtime: apt-get install openjdk-17-jre-headless"
    ]


@pytest.mark.parametrize(
    ("engine", "key"),
    [
        ('name = "flink"', "engine.name"),
        ('spark_master = "local[0]"', "engine.spark_master"),
        ('spark_conf = { "shuffle.partitions" = 4 }', "engine.spark_conf"),
    ],
)
def test_a_bad_engine_key_is_named(workspace: Path, engine: str, key: str) -> None:
    (workspace / "footfall.toml").write_text(f"[engine]\n{engine}\n")
    done = run_footfall("run", cwd=workspace)
    assert done.returncode == 1 and key in done.stderr and "Traceback" not in done.output


def test_spark_submit_runs_the_command_file(demo_outputs: Collected, tmp_path: Path) -> None:
    """The cluster route of docs/spark.md: spark-submit (the pyspark package's own) runs
    the file `python -m footfall.spark_submit` names, with spark-submit's master."""
    work = _inputs_of(demo_outputs, tmp_path / "work")
    python = Path(sys.executable)
    located = subprocess.run([python, "-m", "footfall.spark_submit"], capture_output=True, text=True, check=True)
    entry = Path(located.stdout.strip())
    assert entry.is_file() and entry.name == "spark_submit.py"
    environment = {
        **os.environ,
        "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}",
        "PYSPARK_PYTHON": str(python),
    }
    environment.pop("FOOTFALL_CONFIG", None)
    command = [python.parent / "spark-submit", "--master", "local[1]", "--conf", "spark.ui.enabled=false", entry]
    done = subprocess.run(
        [*map(str, command), "run", "--engine", "spark"], cwd=work, env=environment, capture_output=True, timeout=600
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert assert_same_outputs(demo_outputs.data, work / "data") > 300


def test_on_one_machine_a_batch_is_duckdbs_size(spark, demo_outputs: Collected) -> None:  # noqa: F811
    """local[N]: every shuffle file of a batch lies on this machine's disk (about 110 MB
    per million sightings), so batches are as small as DuckDB's; a cluster's are larger."""
    from footfall.data_folder import DataFolder
    from footfall.pipeline.spark_engine import BATCH_ROWS, SparkBatches

    settings = load_settings(demo_outputs.workspace / "footfall.toml")
    with SparkBatches(settings, SPARK, DataFolder(settings.data_dir)) as batches:
        assert spark.sparkContext.master.startswith("local")
        assert batches.rows_per_batch == runner.BATCH_ROWS < BATCH_ROWS


def test_a_failure_on_spark_is_told_by_its_cause(spark) -> None:  # noqa: F811
    """A store-day that fails on Spark is reported in one line: the cause, not Spark's
    stack traces (the JVM's, or a Python worker's)."""
    from footfall.pipeline.spark_engine import _cause

    with pytest.raises(Exception) as failed_query:
        spark.sql("select 1 / 0 as x").collect()
    assert _cause(failed_query.value).startswith("[DIVIDE_BY_ZERO] Division by zero")

    def broken(rows):
        raise ValueError("a broken linking function")

    with pytest.raises(Exception) as failed_worker:
        spark.range(2).groupBy("id").applyInArrow(broken, "id long").collect()
    assert _cause(failed_worker.value) == "a Python worker failed: ValueError: a broken linking function"
    for cause in (_cause(failed_query.value), _cause(failed_worker.value)):
        assert "\n" not in cause and "stacktrace" not in cause.lower() and len(cause) <= 400
