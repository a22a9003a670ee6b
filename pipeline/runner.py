"""`footfall run`: the thin runner of the pipeline's SQL steps, on DuckDB (or on Spark:
spark_engine.py runs the same steps, transpiled, and writes the same files).

It is the only Python that touches the data. It registers the inputs as named
relations (the store-days' sightings and heartbeats, read by DuckDB straight from
Parquet, and small tables made from the configuration: per-store settings, sensor
thresholds, the local calendar of each store-day), runs the steps of this folder in
order (each `NN_name.sql` creates the relation `name`; a `NN_name.py` step does so
in Python), binds the parameters they name (`$k`), and writes the outputs:

    DATA/visits/store=S/date=D/part-0.parquet           from 05_visits.sql
    DATA/marts/<mart>/store=S/date=D/part-0.parquet      from 06..10_mart_<mart>.sql

Each output partition is one file, replaced whole with a rename: re-running a
store-day swaps its outputs at once and never mixes old and new rows. DATA is a folder
of this machine's disk or a URI (s3a://…): every file operation goes through
footfall/data_folder.py.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from importlib import resources
from typing import Protocol
from zoneinfo import ZoneInfo

import pyarrow as pa

from footfall import data_folder, key_spaces, outputs, storage, suppression
from footfall.config import EngineSettings, Settings, parse_opening_hours
from footfall.data_folder import DataFolder, RemoteFolder
from footfall.errors import FootfallError, writing
from footfall.store_days import RunState, StoreDay, days_with_inputs, input_files
from footfall.thresholds import visit_thresholds

BATCH_ROWS = 20_000_000  # sightings per DuckDB run: memory stays bounded whatever the range
VIEW_STEPS = ("stage", "resolve_devices")  # streamed into the next step, never held whole
OUTPUTS = {d.relation: d for d in outputs.PIPELINE_OUTPUTS if d.relation}  # relation -> dataset
_WRITE_BATCH_ROWS = 1_000_000  # rows held at once while an output file is written
_PARAMETER = re.compile(r"\$([a-z_]+)")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Step:
    """A `NN_name.sql` file (creates the relation `name`), or a `NN_name.py` module
    whose run(con) does (for what is an algorithm rather than a query)."""

    name: str
    sql: str | None = None
    module: str | None = None

    @property
    def source(self) -> str:
        if self.sql is not None:
            return self.sql
        return resources.files("footfall.pipeline").joinpath(f"{self.module}.py").read_text()


@dataclass
class Plan:
    """The store-days a run will cover, in the data folder it looked at; `unchanged`
    counts those skipped as up to date."""

    data: DataFolder
    targets: list[StoreDay]
    fingerprints: dict[StoreDay, str]
    unchanged: int = 0


@dataclass
class RunReport:
    done: list[StoreDay] = field(default_factory=list)
    daily: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.errors)


def steps() -> list[Step]:
    """The pipeline's steps, in file-name order (00_macros.sql is set-up, not a step)."""
    folder = resources.files("footfall.pipeline")
    found, numbers = [], []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        match = re.fullmatch(r"((\d\d)_([a-z_]+))\.(sql|py)", entry.name)
        if not match:
            continue
        stem, number, name, kind = match.groups()
        numbers.append(number)
        if entry.name != "00_macros.sql":
            found.append(Step(name, entry.read_text()) if kind == "sql" else Step(name, module=stem))
    repeated = sorted({number for number in numbers if numbers.count(number) > 1})
    if repeated:  # an install mixed with the step files of an older version
        raise FootfallError(
            f"the installed pipeline has two steps numbered {', '.join(repeated)} ({folder}): "
            "reinstall footfall from a clean source (without a build/ folder)"
        )
    return found


def macros() -> str:
    return suppression.macros()


# --- planning ----------------------------------------------------------------------------


def plan(
    settings: Settings,
    store: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Plan:
    """Store-days with sightings, of one store or all; between start and end
    (inclusive) when given, otherwise only those new or changed since the last run."""
    data = data_folder.of(settings)
    available = days_with_inputs(data, store)
    state = RunState(data)
    digests = {}
    fingerprints = {}
    targets, unchanged = [], 0
    for day in available:
        if start is not None and not (start <= day.date <= (end or start)):
            continue
        if day.store not in digests:
            digests[day.store] = settings_digest(settings, day.store)
        fingerprint = state.fingerprint(day, digests[day.store])
        if start is None and not state.changed(day, fingerprint):
            unchanged += 1
            continue
        targets.append(day)
        fingerprints[day] = fingerprint
    return Plan(data, targets, fingerprints, unchanged)


def settings_digest(settings: Settings, store: str) -> str:
    """Everything of the configuration and pipeline that shapes a store's outputs."""
    store_settings = settings.store(store)
    parts = [
        store_settings.model_dump_json(),
        settings.file.visits.model_dump_json(),
        str(settings.privacy.k),
        macros(),
        *(step.source for step in steps()),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


# --- running -----------------------------------------------------------------------------


def run(
    settings: Settings, work: Plan, progress: Progress | None = None, engine: EngineSettings | None = None
) -> RunReport:
    """Runs every step over the planned store-days and publishes their outputs, on the
    engine of the configuration (or the one given), in batches of about the engine's
    rows_per_batch sightings (so that memory stays bounded). A batch that fails is run
    again day by day, so one bad day only costs itself."""
    report = RunReport()
    work.data.remove_leftovers()  # what a killed run left
    inputs = _Inputs(work.data)
    inputs.read_footers(work.targets)
    targets = [day for day in work.targets if inputs.day_is_readable(day, report) and inputs.one_key_space(day, report)]
    if not targets:
        return report
    engine = engine or settings.file.engine
    if engine.name == "spark":
        from footfall.pipeline.spark_engine import SparkBatches

        batches: Batches = SparkBatches(settings, engine, work.data)
    else:
        batches = DuckDBBatches(settings, work.data)
    state = RunState(work.data)
    with batches:
        groups = _batches(targets, inputs, batches.rows_per_batch)
        for number, batch in enumerate(groups, 1):
            label = f"batch {number}/{len(groups)}: " if len(groups) > 1 else ""
            for done in _run_or_split(batches, batch, inputs, report, progress, label):
                state.record({day: work.fingerprints[day] for day in done if day in work.fingerprints})
    return report


def _run_or_split(batches, batch, inputs, report, progress, label) -> list[list[StoreDay]]:
    try:
        batches.run_batch(batch, inputs, report, progress, label)
        return [batch]
    except batches.errors as exc:
        if len(batch) == 1:
            day = batch[0]
            report.errors.append(f"store {day.store!r}, {day.date}: the pipeline failed: {_one_line(exc)}")
            return []
    done = []
    for day in batch:
        done += _run_or_split(batches, [day], inputs, report, progress, label)
    return done


def _batches(targets: list[StoreDay], inputs: _Inputs, batch_rows: int) -> list[list[StoreDay]]:
    """Consecutive store-days (by store, then date) of about batch_rows sightings each."""
    batches: list[list[StoreDay]] = []
    rows = 0
    for day in sorted(targets):
        size = inputs.rows(day)
        if not batches or rows + size > batch_rows:
            batches.append([])
            rows = 0
        batches[-1].append(day)
        rows += size
    return batches


class Batches(Protocol):
    """An engine, as the runner drives it: entered once per run, then one call per batch
    of about rows_per_batch sightings' store-days; `errors` are the exceptions that mean
    a batch failed on its data."""

    @property
    def errors(self) -> tuple[type[BaseException], ...]: ...

    @property
    def rows_per_batch(self) -> int: ...

    def __enter__(self) -> Batches: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def run_batch(
        self, batch: list[StoreDay], inputs: _Inputs, report: RunReport, progress: Progress | None, label: str
    ) -> None: ...


class DuckDBBatches:
    """Runs each batch of store-days on a DuckDB connection of its own."""

    def __init__(self, settings: Settings, data: DataFolder) -> None:
        self.settings = settings
        self.data = data

    def __enter__(self) -> DuckDBBatches:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        import duckdb

        return (duckdb.Error,)

    @property
    def rows_per_batch(self) -> int:
        return BATCH_ROWS

    def run_batch(self, batch, inputs, report, progress, label) -> None:
        _run_batch(self.settings, self.data, batch, inputs, report, progress, label)


def _run_batch(settings, data: DataFolder, batch, inputs, report, progress, label) -> None:
    import duckdb

    temp_dir = data.scratch()  # where DuckDB spills
    temp_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": f"{memory_budget_mib()}MB", "temp_directory": str(temp_dir)})
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(macros())
        _register_inputs(con, settings, batch, inputs)
        for step in steps():
            if progress:
                progress(f"{label}{step.name}")
            if step.module is not None:
                importlib.import_module(f"footfall.pipeline.{step.module}").run(con)
                continue
            assert step.sql is not None
            kind = "view" if step.name in VIEW_STEPS else "table"
            sql = f"create temp {kind} {step.name} as\n{step.sql}"
            con.execute(sql, parameters(settings, step.sql))
        daily = con.sql("select * from mart_daily order by store, date").to_arrow_table().to_pylist()
        published = []
        for relation, dataset in OUTPUTS.items():
            if progress:
                progress(f"{label}writing {dataset.name}")
            published += _publish(con, relation, data, dataset, batch)
    finally:
        con.close()
        shutil.rmtree(temp_dir, ignore_errors=True)
    report.daily += daily
    report.outputs += published
    report.done += batch


def parameters(settings: Settings, sql: str) -> dict[str, object]:
    """The values of the parameters a step names ($k)."""
    return {name: _parameter(settings, name) for name in set(_PARAMETER.findall(sql))}


def _parameter(settings: Settings, name: str) -> object:
    if name == "k":
        return settings.privacy.k
    raise FootfallError(f"a pipeline step asks for an unknown parameter ${name}")


def memory_budget_mib() -> int:
    """An engine's memory on this machine: most of it, at most 6 GiB; it spills beyond."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        total = 8 << 30
    return min(6 << 30, int(total * 0.6)) >> 20


def _one_line(exc: Exception) -> str:
    """DuckDB's message on one line; an I/O error's own message (it names the file)
    taken out of the JSON DuckDB wraps it in."""
    text = " ".join(str(exc).split())
    found = re.search(r'"exception_message":\s*"((?:[^"\\]|\\.)*)"', text)
    return found.group(1).replace('\\"', '"') if found else text


class _Inputs:
    """The Parquet inputs of store-days, each file's footer read once: its row count,
    or the reason it cannot be read."""

    def __init__(self, data: DataFolder) -> None:
        self.data = data
        self._rows: dict[str, int | str] = {}
        self._key_ids: dict[str, dict[str, str]] = {}

    def check(self, file: str) -> int | str:
        if file not in self._rows:
            try:
                footer = self.data.footer(file)
                self._rows[file] = footer.num_rows
                self._key_ids[file] = key_spaces.read(footer.metadata)
            except (OSError, pa.ArrowException) as exc:
                self._rows[file] = _one_line(exc)
        return self._rows[file]

    def read_footers(self, days: list[StoreDay]) -> None:
        """Reads the footers of the days' inputs ahead, many at once on a data folder at a
        URI, where each is a request whose latency, not its few kilobytes, is the cost."""
        if self.data.parallel_reads > 1:
            files = {file for dataset in outputs.COLLECTOR_DATASETS for file in input_files(self.data, days, dataset)}
            with ThreadPoolExecutor(self.data.parallel_reads) as pool:
                list(pool.map(self.check, sorted(files)))

    def one_key_space(self, day: StoreDay, report: RunReport) -> bool:
        """False, with an error, when the day's sightings hold one of their epochs under
        two salts (footfall/key_spaces.py), also counting the neighbouring days' parts
        (an epoch longer than a day spans several dates)."""
        own = [self._key_ids.get(f, {}) for f in self._own(day, "sightings")]
        around = [self._key_ids.get(f, {}) for f in self.files([day], "sightings")]
        mixed = key_spaces.mixed_epochs(around, [epoch for key_ids in own for epoch in key_ids])
        for epoch, salts in mixed.items():
            report.errors.append(
                f"store {day.store!r}, {day.date} not processed: its sightings of epoch {epoch} were made under "
                f"{salts} different salts (sensors collected with different secrets folders, or data that came "
                "after the salt was destroyed); pseudonyms of different salts never link, so one phone would "
                "count as several. Collect every sensor of a store against one secrets_dir, then delete these "
                "sightings and collect them again"
            )
        return not mixed

    def day_is_readable(self, day: StoreDay, report: RunReport) -> bool:
        """False, with one error per damaged file, when the day's own inputs are damaged;
        its neighbours still run, without the damaged file."""
        readable = True
        for dataset in outputs.COLLECTOR_DATASETS:
            for file in self._own(day, dataset):
                problem = self.check(file)
                if isinstance(problem, str):
                    where = f"store {day.store!r}, {day.date} not processed"
                    report.errors.append(f"{self.data.uri(file)}: not a readable Parquet file ({problem}); {where}")
                    readable = False
        return readable

    def rows(self, day: StoreDay) -> int:
        return sum(count for file in self._own(day, "sightings") if isinstance(count := self.check(file), int))

    def files(self, days: list[StoreDay], dataset: str) -> list[str]:
        return [file for file in input_files(self.data, days, dataset) if isinstance(self.check(file), int)]

    def _own(self, day: StoreDay, dataset: str) -> list[str]:
        """The day's own published parts (without its neighbours')."""
        return self.data.published_files(self.data.partition(dataset, day.store, day.date))


# --- inputs --------------------------------------------------------------------------------


# The relations made from the configuration (see the steps for how they are used).
STORE_SETTINGS = pa.schema(
    [
        ("store", pa.string()),
        ("gap_us", pa.int64()),
        ("min_dwell_us", pa.int64()),
        ("staff_us", pa.int64()),
        ("rssi_threshold_dbm", pa.float64()),
    ]
)
SENSOR_THRESHOLDS = pa.schema([("store", pa.string()), ("sensor", pa.string()), ("rssi_threshold_dbm", pa.float64())])
STORE_DAYS = pa.schema(
    [
        ("store", pa.string()),
        ("date", pa.date32()),
        ("day_start_us", pa.int64()),
        ("day_end_us", pa.int64()),
        ("open_start_us", pa.int64()),
        ("open_end_us", pa.int64()),
    ]
)
LOCAL_QUARTERS = pa.schema(
    [("store", pa.string()), ("quarter", pa.int64()), ("date", pa.date32()), ("hour", pa.int32())]
)
OCCUPANCY_BINS = pa.schema([("store", pa.string()), ("date", pa.date32()), ("bin_us", pa.int64())])
# The collector's datasets as the steps read them (partition columns included), for
# store-days that have none of them.
SIGHTING_COLUMNS = outputs.SIGHTINGS.schema(partitions=True)
HEARTBEAT_COLUMNS = outputs.HEARTBEATS.schema(partitions=True)


def _register_inputs(con, settings: Settings, targets: list[StoreDay], inputs: _Inputs) -> None:
    for dataset, columns in (("sightings", SIGHTING_COLUMNS), ("heartbeats", HEARTBEAT_COLUMNS)):
        files = inputs.files(targets, dataset)
        if not files:
            con.register(dataset, columns.empty_table())
        elif isinstance(inputs.data, RemoteFolder):  # read through pyarrow's file system, streamed
            con.register(dataset, inputs.data.arrow_dataset(dataset, files, columns))
        else:
            # union_by_name: heartbeats written before the collector added columns (malformed,
            # drops, channels) are read beside newer ones
            union = dataset == "heartbeats"
            con.read_parquet(files, hive_partitioning=True, union_by_name=union).create_view(dataset)
    (widths,) = con.execute("select quarter_us(), occupancy_bin_us()").fetchall()  # as the steps use them
    for name, table in configuration_tables(settings, targets, *widths).items():
        con.register(name, table)


def configuration_tables(
    settings: Settings, targets: list[StoreDay], quarter_us: int, bin_us: int
) -> dict[str, pa.Table]:
    """The relations made from the configuration, by name, for every engine."""
    stores = sorted({day.store for day in targets})
    days, quarters, bins = _calendar(settings, targets, quarter_us, bin_us)
    return {
        "store_settings": _store_settings(settings, stores),
        "sensor_thresholds": _sensor_thresholds(settings, stores),
        "store_days": days,
        "local_quarters": quarters,
        "occupancy_bins": bins,
    }


def _store_settings(settings: Settings, stores: list[str]) -> pa.Table:
    rows = []
    for store in stores:
        own = visit_thresholds(settings, store)
        rows.append(
            {
                "store": store,
                "gap_us": round(own.gap_min * 60e6),
                "min_dwell_us": round(own.min_dwell_min * 60e6),
                "staff_us": round(own.staff_daily_hours * 3600e6),
                "rssi_threshold_dbm": float(own.rssi_threshold_dbm),
            }
        )
    return pa.Table.from_pylist(rows, schema=STORE_SETTINGS)


def _sensor_thresholds(settings: Settings, stores: list[str]) -> pa.Table:
    rows = [
        {"store": store, "sensor": sensor, "rssi_threshold_dbm": float(own.rssi_threshold_dbm)}
        for store in stores
        for sensor, own in settings.store(store).sensors.items()
        if own.rssi_threshold_dbm is not None
    ]
    return pa.Table.from_pylist(rows, schema=SENSOR_THRESHOLDS)


def _calendar(
    settings: Settings, targets: list[StoreDay], quarter_us: int, bin_us: int
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Each store-day's local calendar in UTC microseconds: its bounds and opening
    hours, the local date and hour of each of its quarter hours, and its occupancy bins
    (the widths of 00_macros.sql)."""
    days: list[dict] = []
    quarters: list[dict] = []
    bins: list[dict] = []
    for day in targets:
        own = settings.store(day.store)
        zone = ZoneInfo(own.timezone)
        start, end = _local_us(day.date, time(0), zone), _local_us(day.date + timedelta(days=1), time(0), zone)
        open_start = open_end = None
        if own.opening_hours:
            opening, closing = parse_opening_hours(own.opening_hours)
            open_start = _local_us(day.date, opening, zone)
            open_end = _local_us(day.date + timedelta(days=closing <= opening), closing, zone)
        days.append(
            {
                "store": day.store,
                "date": day.date,
                "day_start_us": start,
                "day_end_us": end,
                "open_start_us": open_start,
                "open_end_us": open_end,
            }
        )
        for quarter in range(start // quarter_us, end // quarter_us):
            local = datetime.fromtimestamp(quarter * quarter_us / 1e6, zone)
            quarters.append({"store": day.store, "quarter": quarter, "date": day.date, "hour": local.hour})
        bins.extend({"store": day.store, "date": day.date, "bin_us": b} for b in range(start, end, bin_us))
    return (
        pa.Table.from_pylist(days, schema=STORE_DAYS),
        pa.Table.from_pylist(quarters, schema=LOCAL_QUARTERS),
        pa.Table.from_pylist(bins, schema=OCCUPANCY_BINS),
    )


def _local_us(day: date, clock: time, zone: ZoneInfo) -> int:
    return round(datetime.combine(day, clock, zone).timestamp() * 1_000_000)


# --- outputs ------------------------------------------------------------------------------


def _publish(con, relation: str, data: DataFolder, dataset: outputs.Dataset, targets: list[StoreDay]) -> list[str]:
    """Writes each store-day's rows of the relation to a staging file, then swaps it in
    place of the published one. A store-day at hand with no rows loses its old file: its
    outputs are replaced whole. Each file is streamed from the relation filtered to its
    store-day, because a filter keeps the rows in the step's order, while DuckDB's
    partitioned writer, run in parallel, swaps chunks of rows within files once a batch
    holds about 100,000 rows; and it is written with the declared schema (DuckDB's own
    writer marks a column required when its statistics show no null)."""
    import duckdb

    root = data.staging()
    rows = con.table(relation)
    schema = dataset.schema()
    present = set(rows.select("store, date").distinct().fetchall())
    try:
        published = []
        for day in targets:
            written = None
            if (day.store, day.date) in present:
                written = storage.partition_folder(root, dataset.name, day.store, day.date) + "/part-0.parquet"
                own = (duckdb.ColumnExpression("store") == duckdb.ConstantExpression(day.store)) & (
                    duckdb.ColumnExpression("date") == duckdb.ConstantExpression(day.date)
                )
                batches = rows.filter(own).select(*schema.names).to_arrow_reader(_WRITE_BATCH_ROWS)
                with writing(written), data.parquet_writer(written, schema) as writer:
                    for batch in batches:
                        writer.write_table(pa.Table.from_batches([batch]).cast(schema))
            final = data.publish(written, data.partition(dataset.name, day.store, day.date))
            published += [final] if final else []
        return published
    finally:
        data.remove_tree(root)
