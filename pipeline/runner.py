"""`footfall run`: the thin runner of the pipeline's SQL steps, on DuckDB.

It is the only Python that touches the data. It registers the inputs as named
relations (the store-days' sightings and heartbeats, read by DuckDB straight from
Parquet, and small tables made from the configuration: per-store settings, sensor
thresholds, the local calendar of each store-day), runs the `.sql` files of this
folder in order (each creates the relation named after its file), binds the
parameters they name (`$k`), and writes the outputs:

    DATA/visits/store=S/date=D/part-0.parquet           from 04_classify.sql
    DATA/marts/<mart>/store=S/date=D/part-0.parquet      from 05..09_mart_<mart>.sql

Each output partition is one file, replaced whole with a rename: re-running a
store-day swaps its outputs at once and never mixes old and new rows.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa

from footfall.config import Settings, parse_opening_hours
from footfall.errors import FootfallError
from footfall.pipeline.store_days import (
    RunState,
    StoreDay,
    days_with_sightings,
    input_files,
    parquet_files,
    partition,
)

QUARTER_US = 900_000_000
BIN_US = 300_000_000
FOLD_WINDOW_S = 5  # copies of one frame (same device and sequence number) this close fold into one
VIEW_STEPS = ("stage", "resolve_devices")  # streamed into the next step, never held whole
OUTPUTS = {
    "classify": "visits",
    "mart_daily": "marts/daily",
    "mart_hourly": "marts/hourly",
    "mart_dwell": "marts/dwell",
    "mart_occupancy": "marts/occupancy",
    "mart_sensor_health": "marts/sensor_health",
}
_PARAMETER = re.compile(r"\$([a-z_]+)")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Step:
    name: str
    sql: str


@dataclass
class Plan:
    """The store-days a run will cover; `unchanged` counts those skipped as up to date."""

    targets: list[StoreDay]
    fingerprints: dict[StoreDay, str]
    unchanged: int = 0


@dataclass
class RunReport:
    done: list[StoreDay] = field(default_factory=list)
    daily: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.errors)


def steps() -> list[Step]:
    """The pipeline's SQL files, in order (00_macros.sql is set-up, not a step)."""
    folder = resources.files("footfall.pipeline")
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        match = re.fullmatch(r"\d\d_([a-z_]+)\.sql", entry.name)
        if match and entry.name != "00_macros.sql":
            found.append(Step(match.group(1), entry.read_text()))
    return found


def macros() -> str:
    return resources.files("footfall.pipeline").joinpath("00_macros.sql").read_text()


# --- planning ----------------------------------------------------------------------------


def plan(
    settings: Settings,
    store: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Plan:
    """Store-days with sightings, of one store or all; between start and end
    (inclusive) when given, otherwise only those new or changed since the last run."""
    available = days_with_sightings(settings.data_dir, store)
    state = RunState(settings.data_dir)
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
    return Plan(targets, fingerprints, unchanged)


def settings_digest(settings: Settings, store: str) -> str:
    """Everything of the configuration and pipeline that shapes a store's outputs."""
    import hashlib

    store_settings = settings.store(store)
    parts = [
        store_settings.model_dump_json(),
        settings.file.visits.model_dump_json(),
        str(settings.privacy.k),
        str(FOLD_WINDOW_S),
        macros(),
        *(step.sql for step in steps()),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


# --- running -----------------------------------------------------------------------------


def run(settings: Settings, work: Plan, progress: Progress | None = None) -> RunReport:
    """Runs every step over the planned store-days at once and publishes their outputs."""
    import duckdb

    report = RunReport()
    targets = _readable_targets(settings, work.targets, report)
    if not targets:
        return report
    temp_dir = settings.data_dir / "_pipeline" / f"tmp-{os.getpid()}"
    con = duckdb.connect(config={"memory_limit": _memory_limit(), "temp_directory": str(temp_dir)})
    try:
        con.execute("set TimeZone = 'UTC'")
        _register_inputs(con, settings, targets)
        con.execute(macros())
        for step in steps():
            if progress:
                progress(step.name)
            kind = "view" if step.name in VIEW_STEPS else "table"
            sql = f"create temp {kind} {step.name} as\n{step.sql}"
            con.execute(sql, {name: _parameter(settings, name) for name in set(_PARAMETER.findall(step.sql))})
        report.daily = con.sql("select * from mart_daily order by store, date").to_arrow_table().to_pylist()
        for relation, dataset in OUTPUTS.items():
            if progress:
                progress(f"writing {dataset}")
            report.outputs += _publish(con, relation, settings.data_dir, dataset, targets)
    except duckdb.Error as exc:
        raise FootfallError(f"the pipeline failed: {_one_line(exc)}") from None
    finally:
        con.close()
        shutil.rmtree(temp_dir, ignore_errors=True)
    report.done = targets
    RunState(settings.data_dir).record({day: work.fingerprints[day] for day in targets if day in work.fingerprints})
    return report


def _parameter(settings: Settings, name: str) -> object:
    if name == "k":
        return settings.privacy.k
    raise FootfallError(f"a pipeline step asks for an unknown parameter ${name}")


def _memory_limit() -> str:
    """DuckDB's memory budget: most of the machine, at most 6 GiB; it spills beyond."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        total = 8 << 30
    return f"{min(6 << 30, int(total * 0.6)) >> 20}MB"


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _readable_targets(settings: Settings, targets: list[StoreDay], report: RunReport) -> list[StoreDay]:
    """Drops store-days whose own inputs have an unreadable Parquet file (each named
    in an error); the others run, without the damaged neighbour."""
    import pyarrow.parquet as pq

    readable = []
    for day in targets:
        damaged = False
        for dataset in ("sightings", "heartbeats"):
            for file in parquet_files(partition(settings.data_dir, dataset, day.store, day.date)):
                try:
                    pq.read_metadata(file)
                except (OSError, pa.ArrowException) as exc:
                    report.errors.append(
                        f"{file}: not a readable Parquet file ({_one_line(exc)}); "
                        f"store {day.store!r}, {day.date} not processed"
                    )
                    damaged = True
        if not damaged:
            readable.append(day)
    return readable


def _readable(files: list[Path]) -> list[Path]:
    import pyarrow.parquet as pq

    good = []
    for file in files:
        try:
            pq.read_metadata(file)
        except (OSError, pa.ArrowException):
            continue
        good.append(file)
    return good


# --- inputs --------------------------------------------------------------------------------


# The relations made from the configuration (see the steps for how they are used).
STORE_SETTINGS = pa.schema(
    [
        ("store", pa.string()),
        ("gap_us", pa.int64()),
        ("min_dwell_us", pa.int64()),
        ("staff_us", pa.int64()),
        ("rssi_threshold_dbm", pa.float64()),
        ("fold_us", pa.int64()),
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
HEARTBEAT_COLUMNS = pa.schema(
    [
        ("minute", pa.timestamp("us", tz="UTC")),
        ("sensor", pa.string()),
        ("frames", pa.int64()),
        ("probes", pa.int64()),
        ("store", pa.string()),
        ("date", pa.date32()),
    ]
)


def _register_inputs(con, settings: Settings, targets: list[StoreDay]) -> None:
    sightings = _readable(input_files(settings.data_dir, targets, "sightings"))
    con.read_parquet([str(f) for f in sightings], hive_partitioning=True).create_view("sightings")
    heartbeats = _readable(input_files(settings.data_dir, targets, "heartbeats"))
    if heartbeats:
        con.read_parquet([str(f) for f in heartbeats], hive_partitioning=True).create_view("heartbeats")
    else:
        con.register("heartbeats", HEARTBEAT_COLUMNS.empty_table())
    stores = sorted({day.store for day in targets})
    con.register("store_settings", _store_settings(settings, stores))
    con.register("sensor_thresholds", _sensor_thresholds(settings, stores))
    days, quarters, bins = _calendar(settings, targets)
    con.register("store_days", days)
    con.register("local_quarters", quarters)
    con.register("occupancy_bins", bins)


def _store_settings(settings: Settings, stores: list[str]) -> pa.Table:
    rows = []
    defaults = settings.file.visits
    for store in stores:
        own = settings.store(store)

        def pick(key: str, own=own) -> float:
            value = getattr(own, key)
            return getattr(defaults, key) if value is None else value

        rows.append(
            {
                "store": store,
                "gap_us": round(pick("gap_min") * 60e6),
                "min_dwell_us": round(pick("min_dwell_min") * 60e6),
                "staff_us": round(pick("staff_daily_hours") * 3600e6),
                "rssi_threshold_dbm": float(pick("rssi_threshold_dbm")),
                "fold_us": FOLD_WINDOW_S * 1_000_000,
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


def _calendar(settings: Settings, targets: list[StoreDay]) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Each store-day's local calendar in UTC microseconds: its bounds and opening
    hours, the local date and hour of each of its quarter hours, and its 5-minute bins."""
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
        for quarter in range(start // QUARTER_US, end // QUARTER_US):
            local = datetime.fromtimestamp(quarter * QUARTER_US / 1e6, zone)
            quarters.append({"store": day.store, "quarter": quarter, "date": day.date, "hour": local.hour})
        bins.extend({"store": day.store, "date": day.date, "bin_us": b} for b in range(start, end, BIN_US))
    return (
        pa.Table.from_pylist(days, schema=STORE_DAYS),
        pa.Table.from_pylist(quarters, schema=LOCAL_QUARTERS),
        pa.Table.from_pylist(bins, schema=OCCUPANCY_BINS),
    )


def _local_us(day: date, clock: time, zone: ZoneInfo) -> int:
    return round(datetime.combine(day, clock, zone).timestamp() * 1_000_000)


# --- outputs ------------------------------------------------------------------------------


def _publish(con, relation: str, data_dir: Path, dataset: str, targets: list[StoreDay]) -> list[Path]:
    """Writes the relation partitioned by store and date into a staging folder, then
    renames each partition's file over the published one. A store-day at hand with
    no rows loses its old file: its outputs are replaced whole."""
    root = data_dir / "_pipeline" / f"staging-{os.getpid()}-{secrets.token_hex(4)}"
    staging = root / dataset
    staging.parent.mkdir(parents=True, exist_ok=True)
    try:
        con.sql(f"select * from {relation}").write_parquet(
            str(staging), partition_by=["store", "date"], compression="zstd", overwrite=True
        )
        published = []
        for day in targets:
            target = partition(data_dir, dataset, day.store, day.date)
            written = sorted(partition(root, dataset, day.store, day.date).glob("*.parquet"))
            if len(written) > 1:
                raise FootfallError(f"{dataset}: {len(written)} files for one partition")
            if written:
                target.mkdir(parents=True, exist_ok=True)
                final = target / "part-0.parquet"
                os.replace(written[0], final)
                published.append(final)
            for old in parquet_files(target):
                if not written or old.name != "part-0.parquet":
                    old.unlink()
        return published
    finally:
        shutil.rmtree(root, ignore_errors=True)
