"""Every dataset as a DuckDB view named after it: `sightings`, `heartbeats`, `visits`,
`daily`, `hourly`, `dwell`, `occupancy`, `sensor_health`. What `footfall sql` and
`footfall export` read, so that nobody writes
`read_parquet('…/**/*.parquet', hive_partitioning=true)` by hand.

A view reads the published parts of its dataset (footfall.storage decides which
files those are: never a writer's temporary), with `store` and `date` from the path
first and then the declared columns (footfall.outputs), in their order. A mart's
counts are suppressed again with the k in force, by the pipeline's own rule (a mart
published with a smaller k must not show what the configuration now hides). A
dataset with no file yet is an empty view of the declared columns, so a query that
names it still runs. The session's time zone is UTC, the clock of every timestamp.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from footfall import outputs, storage, suppression
from footfall.data_folder import DataFolder, RemoteFolder

VIEWS = {dataset.view: dataset for dataset in outputs.DATASETS}  # sightings, heartbeats, visits, daily, ...
_HIVE = "hive_partitioning = true, hive_types = {'store': 'VARCHAR', 'date': 'DATE'}, union_by_name = true"


def connect(data: DataFolder, k: int, only: Iterable[str] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per dataset of the data folder (or these only)."""
    con = duckdb.connect(":memory:")
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"set variable k = {int(k)}")  # getvariable('k'): the k in force, for the queries' ranges
    suppression.load_macros(con)
    wanted = set(only) if only is not None else set(VIEWS)
    for dataset in outputs.DATASETS:
        if dataset.view in wanted:
            con.execute(view_sql(con, data, dataset, k))
    return con


def published_files(data: DataFolder, dataset: outputs.Dataset) -> list[str]:
    return [
        f"{partition.folder}/{name}"
        for partition in data.partitions(dataset.name)
        for name in partition.names
        if storage.is_published(name)
    ]


def view_sql(con: duckdb.DuckDBPyConnection, data: DataFolder, dataset: outputs.Dataset, k: int) -> str:
    files = published_files(data, dataset)
    if not files:
        return f"create or replace view {dataset.view} as {_empty(dataset)}"
    if isinstance(data, RemoteFolder):  # read through pyarrow's file system, as declared
        source = f"_files_{dataset.view}"
        con.register(source, data.arrow_dataset(dataset.name, files, dataset.schema(partitions=True)))
    else:
        source = f"read_parquet([{', '.join(literal(f) for f in files)}], {_HIVE})"
    present = con.sql(f"select * from {source} limit 0").columns
    declared = [c.name for c in dataset.columns if c.name in present]
    shown = suppression.resuppressed(dataset, str(int(k)), present) if dataset.is_mart else ", ".join(declared)
    known = {"store", "date", *declared}
    extra = [name for name in present if name not in known]  # columns a newer writer added
    select = ", ".join(["store", "date", shown, *extra])
    return f"create or replace view {dataset.view} as select {select} from {source}"


def _empty(dataset: outputs.Dataset) -> str:
    typed = ", ".join(f"cast(null as {c.type.sql}) as {c.name}" for c in (*dataset.partitions, *dataset.columns))
    return f"select {typed} where false"


def literal(text: str) -> str:
    """A SQL string literal (quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"
