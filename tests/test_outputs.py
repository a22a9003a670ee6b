"""The outputs' declaration (footfall.outputs) against what the code writes: the
collector's sightings and heartbeats, and each SQL step's output on a generated day
(names, order, types, nullability, the values an enumerated column takes), so that
the declaration, and all that is derived from it, cannot drift from the SQL."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from footfall import epochs, outputs, suppression
from footfall.config import load_settings
from footfall.pipeline import runner

from capture_files import SAMPLE_CAPTURES
from footfall_command import run_footfall
from sightings_builder import DAY, MINUTE, S, config, local, seen, write


def generated_day(seed: int = 5) -> list[S]:
    """A shop's day: visitors of every length, passers-by, staff from before opening,
    two sensors, frames without a signal level."""
    rng = random.Random(seed)
    sightings: list[S] = []
    for device in range(60):
        start = local(9) + timedelta(minutes=rng.randrange(0, 600))
        length = timedelta(minutes=rng.choice([1, 3, 8, 25, 70, 200]))
        rssi = rng.choice([-50, -65, -80, None])
        sightings += seen(device, start, start + length, every=rng.choice([MINUTE, 3 * MINUTE]), rssi=rssi)
    sightings += seen(900, local(7), local(19), every=10 * MINUTE, sensor="s2", rssi=-40)  # staff
    return sightings


def heartbeats(data: Path) -> None:
    folder = data / "heartbeats" / "store=shop" / f"date={DAY}"
    folder.mkdir(parents=True)
    minutes = [local(9) + n * MINUTE for n in range(600)]
    rows = {
        "minute": minutes,
        "sensor": ["s1"] * len(minutes),
        "frames": [40 + n % 7 for n in range(len(minutes))],
        "probes": [n % 9 for n in range(len(minutes))],  # some below any k
        "malformed": [0] * len(minutes),
        "drops": [None] * len(minutes),
        "channels": [None] * len(minutes),
    }
    pq.write_table(pa.table(rows, schema=outputs.HEARTBEATS.schema()), folder / "part-test-0.parquet")


@pytest.fixture(scope="module", params=[1, 1000], ids=["k=1", "k=1000"])
def published(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    """The pipeline's outputs for the generated day, with k = 1 (nothing suppressed)
    and k = 1000 (every count suppressed)."""
    k = request.param
    folder = tmp_path_factory.mktemp(f"outputs-k{k}")
    (folder / "footfall.toml").write_text(config(k=k))
    write(folder / "data", generated_day())
    heartbeats(folder / "data")
    settings = load_settings(folder / "footfall.toml")
    report = runner.run(settings, runner.plan(settings))
    assert not report.errors, report.errors
    return k, folder / "data"


def read(data: Path, dataset: outputs.Dataset) -> tuple[pa.Schema, pa.Table]:
    (file,) = (data / dataset.name).rglob("*.parquet")
    return pq.read_schema(file).remove_metadata(), pq.read_table(file, partitioning=None)


@pytest.mark.parametrize("dataset", outputs.PIPELINE_OUTPUTS, ids=lambda d: d.name)
def test_each_step_writes_the_declared_columns(published: tuple[int, Path], dataset: outputs.Dataset) -> None:
    k, data = published
    schema, table = read(data, dataset)
    assert schema.names == [c.name for c in dataset.columns], "names and order"
    assert schema.equals(dataset.schema()), f"{schema} is not {dataset.schema()}"
    assert table.num_rows > 0
    for column in dataset.columns:
        values = table.column(column.name)
        if not column.nullable:
            assert values.null_count == 0, f"{column.name} is declared never null"
        if column.suppressed:
            # k = 1 publishes every count; with k = 1000 every one is suppressed
            assert values.null_count == (table.num_rows if k == 1000 else 0), column.name
        if column.values:
            assert set(values.to_pylist()) <= set(column.values), column.name


def test_enumerated_values_come_in_their_declared_order(published: tuple[int, Path]) -> None:
    _, data = published
    _, dwell = read(data, outputs.DWELL)
    assert tuple(dwell.column("bucket").to_pylist()) == outputs.DWELL.column("bucket").values
    _, visits = read(data, outputs.VISITS)
    assert set(visits.column("class").to_pylist()) == set(outputs.VISITS.column("class").values), "all three"


def test_each_output_is_a_pipeline_step() -> None:
    steps = [step.name for step in runner.steps()]
    for dataset in outputs.PIPELINE_OUTPUTS:
        assert dataset.relation in steps, dataset.name
    assert runner.OUTPUTS["visits"].name == "visits" and "classify" not in steps


def test_the_collector_writes_the_declared_columns(workspace: Path) -> None:
    capture = SAMPLE_CAPTURES / "tcpdump_ieee802.11_exthdr.pcap"
    assert run_footfall("collect", capture, "--store", "s", "--sensor", "x", cwd=workspace).returncode == 0
    for dataset in (outputs.SIGHTINGS, outputs.HEARTBEATS):
        (file,) = (workspace / "data" / dataset.name).rglob("*.parquet")
        assert pq.read_schema(file).remove_metadata().equals(dataset.schema()), dataset.name


def test_the_audits_count_check_is_the_pipelines_rule() -> None:
    """below_k (the audit's, on Arrow arrays) hides exactly what is_suppressed does."""
    con = duckdb.connect()
    suppression.load_macros(con)
    for k in range(1, 7):
        for n in range(10):
            (hidden,) = con.execute("select is_suppressed($n, $k)", {"n": n, "k": k}).fetchall()[0]
            assert suppression.below_k(pa.array([n]), k) == int(hidden), (n, k)


def test_the_runners_calendar_follows_the_widths_of_the_steps() -> None:
    con = duckdb.connect()
    suppression.load_macros(con)
    quarter, bin_width = con.execute("select quarter_us(), occupancy_bin_us()").fetchall()[0]
    assert quarter == epochs.QUARTER_US, "the collector's local days use the same quarter hours"
    assert bin_width == 5 * 60 * 1_000_000, "DESIGN.md: people present per 5 minutes"


def test_every_count_is_an_integer_and_every_people_mart_says_it_is_estimated() -> None:
    """Issue 13: occupancy.present, visits.sightings and sensor health's frames and probes
    were doubles; hourly lacked the `estimated` flag that daily has."""
    for dataset in outputs.DATASETS:
        for column in dataset.columns:
            if column.count:
                assert pa.types.is_integer(column.type.arrow), f"{dataset.name}.{column.name}"
                assert column.sums, f"{dataset.name}.{column.name}: say how it adds up"
    for mart in ("daily", "hourly", "occupancy"):
        assert outputs.MARTS[mart].column("estimated").type == outputs.BOOL


def test_integer_counts_as_written(published: tuple[int, Path]) -> None:
    _, data = published
    for dataset, name in [
        (outputs.VISITS, "sightings"),
        (outputs.OCCUPANCY, "present"),
        (outputs.SENSOR_HEALTH, "frames"),
        (outputs.SENSOR_HEALTH, "probes"),
    ]:
        schema, _ = read(data, dataset)
        assert schema.field(name).type == pa.int64(), f"{dataset.name}.{name}"
    schema, _ = read(data, outputs.HOURLY)
    assert schema.field("estimated").type == pa.bool_()
