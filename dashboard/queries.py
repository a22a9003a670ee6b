"""The dashboard's only door to the data: DuckDB over DATA/marts, parameters bound.

It reads the marts and nothing else (never sightings, never visits), and it knows
nothing of Streamlit, so that `make bench` can time the queries each page runs and
the tests can check them on their own. Every value that comes from a user (stores,
dates, file lists, time zones) is a bound parameter; the SQL text is constant.

Why a cache: the pipeline publishes one small Parquet file per store-day and mart,
and opening one costs about 0.1 ms here, so a year of 100 stores (36,500 files per
mart) would take seconds to open on every click. The marts a page aggregates over a
date range (daily, hourly, dwell, and the sensor coverage per hour, which is built
from sensor_health as it is loaded) are therefore held in in-memory DuckDB tables,
per store-day partition, and a partition is read again only when its folder changed:
the pipeline renames every new file into place, which changes the folder's mtime.
The large marts a page shows for one day only (occupancy, sensor minutes) are read
from that day's files when asked.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pyarrow as pa

from footfall import outputs, storage, suppression
from footfall.config import NAME_PATTERN
from footfall.errors import FootfallError

MARTS = tuple(outputs.MARTS)
BUCKETS = outputs.DWELL.column("bucket").values
COMPARISON_WEEKS = 4  # the same weekday of this many earlier weeks is the reference
_HIVE = "hive_partitioning = true, hive_types = {'store': 'VARCHAR', 'date': 'DATE'}"
# counts keep their nulls (suppressed) as pandas' nullable integers, not as objects
_NULLABLE = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int32Dtype()}
_SELECTED = "store in (select unnest($stores)) and date between $start and $end"


class MartsError(FootfallError):
    """The marts cannot be queried at all (the pages show it as a one-line error)."""


# what DuckDB raises for a file it cannot read (damaged, truncated, not Parquet, other columns)
_UNREADABLE = (duckdb.IOException, duckdb.InvalidInputException, duckdb.BinderException, duckdb.ConversionException)


@dataclass(frozen=True)
class Selection:
    """What the filters select: stores and an inclusive date range. The range's last
    day is the day the pages look at closely ("today" when the data is live)."""

    stores: tuple[str, ...]
    start: date
    end: date

    @property
    def day(self) -> date:
        return self.end

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def previous(self) -> Selection:
        """The period of the same length just before, for "compared with" figures."""
        length = self.end - self.start + timedelta(days=1)
        return Selection(self.stores, self.start - length, self.end - length)


# --- what each page gets --------------------------------------------------------------------


@dataclass
class Overview:
    days: pd.DataFrame  # per date (range, the day before, the same weekdays of earlier weeks): totals


@dataclass
class Hourly:
    day_hours: pd.DataFrame  # per hour of the day: totals and sensor coverage
    heat: pd.DataFrame  # per ISO weekday x hour over the range's complete days: mean arrivals
    day_stores: list[str]  # the stores with hourly figures on the day
    incomplete: pd.DataFrame  # date, stores_with_data: days of the range some store has none


@dataclass
class Dwell:
    buckets: pd.DataFrame  # per bucket over the range
    day_buckets: pd.DataFrame  # per bucket on the day
    days: pd.DataFrame  # per date: totals (median and p90 dwell among them)


@dataclass
class CaptureRate:
    days: pd.DataFrame  # per date: totals
    store_days: pd.DataFrame  # per store and date: totals
    day_hours: pd.DataFrame  # per hour of the day


@dataclass
class Occupancy:
    bins: pd.DataFrame  # store, ts (UTC), present, suppressed: the day's 5-minute bins
    heard: pd.DataFrame  # store, hour (local): hours in which the store's sensors heard something


@dataclass
class StoresCompared:
    stores: pd.DataFrame  # per store over the range: totals and sensor coverage
    previous: pd.DataFrame  # per store over the previous period of the same length


@dataclass
class Sensors:
    coverage: pd.DataFrame  # per store and sensor over the range: days and minutes heard
    coverage_days: pd.DataFrame  # per store, sensor and date: minutes heard
    gaps: pd.DataFrame  # store, sensor, start, end (UTC): the day's minutes without any heartbeat
    minutes: pd.DataFrame  # one store's day, minute by minute: sensor, minute, frames, probes, suppressed


# --- SQL -----------------------------------------------------------------------------------


def _cache_table(mart: str) -> str:
    """A mart's in-memory table: its columns as declared (footfall.outputs)."""
    dataset = outputs.MARTS[mart]
    columns = ", ".join(f"{c.name} {c.type.sql}" for c in (*dataset.partitions, *dataset.columns))
    return f"create table {mart} ({columns})"


def _resuppressed(mart: str, names: Iterable[str] | None = None) -> str:
    """The select list of a mart's columns (all, or these), suppressed again with the k
    in force ($k) by the pipeline's own rule (suppression.resuppressed)."""
    return suppression.resuppressed(outputs.MARTS[mart], "$k", names)


CACHE_TABLES = {
    **{mart: _cache_table(mart) for mart in ("daily", "hourly", "dwell")},
    "sensor_health": """create table sensor_hours (store varchar, date date, sensor varchar, hour integer,
        minutes bigint, first_minute timestamptz, last_minute timestamptz, continuous boolean)""",
}


def load_sql(mart: str, present: Iterable[str] | None = None) -> str:
    """The insert of a mart's files into its cache table. With `present` (the columns
    files written by an older footfall have), only those are read, by name; the cache's
    other columns stay null (a daily mart without visitors_low / visitors_high shows no
    range) or take their old meaning (sensor minutes of capture files)."""
    hive = _HIVE if present is None else f"{_HIVE}, union_by_name = true"
    if mart != "sensor_health":
        return (
            f"insert into {mart} by name select store, date, {_resuppressed(mart, present)} "
            f"from read_parquet($files, {hive})"
        )
    continuous = "h.continuous" if present is None or "continuous" in present else "false"
    # minutes heard per sensor and local hour (the hour repeated when clocks go back is one bin)
    return f"""insert into sensor_hours by name
        select h.store, h.date, h.sensor, hour(timezone(z.zone, h.minute)) as hour,
            count(*) as minutes, min(h.minute) as first_minute, max(h.minute) as last_minute,
            coalesce(bool_or({continuous}), false) as continuous
        from read_parquet($files, {hive}) as h
        join (select unnest($zone_stores) as store, unnest($zone_names) as zone) as z on z.store = h.store
        group by all"""


LOAD = {mart: load_sql(mart) for mart in CACHE_TABLES}
CACHE_TABLE_OF = {"daily": "daily", "hourly": "hourly", "dwell": "dwell", "sensor_health": "sensor_hours"}

# Totals over stores: a suppressed count is unknown (below k), so each sum comes with
# how many of its cells were hidden; a rate or a dwell is computed only over the rows
# that have it. Dwell over several store-days: their medians weighted by visits.
_DAILY_TOTALS = """
    count(*) as rows,
    sum(visitors) as visitors, count(*) - count(visitors) as visitors_hidden,
    sum(visitors_low) as visitors_low, sum(visitors_high) as visitors_high,
    count(*) filter (where visitors is not null and (visitors_low is null or visitors_high is null))
        as visitors_unranged,
    sum(visits) as visits, count(*) - count(visits) as visits_hidden,
    sum(passersby) as passersby, count(*) - count(passersby) as passersby_hidden,
    sum(visitors) filter (where visitors is not null and passersby is not null) as rate_visitors,
    sum(passersby) filter (where visitors is not null and passersby is not null) as rate_passersby,
    count(*) filter (where visitors is null or passersby is null) as rate_hidden,
    sum(dwell_p50_s * visits) filter (where dwell_p50_s is not null)
        / sum(visits) filter (where dwell_p50_s is not null) as dwell_p50_s,
    sum(dwell_p90_s * visits) filter (where dwell_p90_s is not null)
        / sum(visits) filter (where dwell_p90_s is not null) as dwell_p90_s,
    count(*) - count(visits) as dwell_hidden,
    coalesce(bool_or(estimated), false) as estimated"""

DAYS = f"""
select date, {_DAILY_TOTALS}, list_sort(list(distinct store)) as stores_with_data
from daily
where store in (select unnest($stores)) and date in (select unnest($dates))
group by date order by date"""

STORE_DAYS = f"""
select store, date, {_DAILY_TOTALS}
from daily where {_SELECTED}
group by store, date order by store, date"""

STORE_TOTALS = f"""
select store, count(distinct date) as days, {_DAILY_TOTALS}
from daily where {_SELECTED}
group by store order by store"""

# The local hours a store's sensors covered on a day: for a continuous sensor (a stream,
# a live capture) the hours it reported in; for a capture file every hour of its span, from
# its first heard minute to its last (a quiet minute inside a capture is no outage).
_COVERED_HOURS = """
covered as (
    select store, sensor, hour from sensor_hours
    where continuous and store in (select unnest($stores)) and date = $day
    union
    select s.store, s.sensor, h.hour
    from (
        select store, sensor, min(hour) as first_hour, max(hour) as last_hour
        from sensor_hours
        where not continuous and store in (select unnest($stores)) and date = $day
        group by store, sensor
    ) as s
    join (select unnest(range(24)) as hour) as h on h.hour between s.first_hour and s.last_hour
)"""

DAY_HOURS = f"""
with {_COVERED_HOURS},
counts as (
    select
        hour,
        count(*) as rows,
        sum(arrivals) as arrivals, count(*) - count(arrivals) as arrivals_hidden,
        sum(visitors) as visitors, count(*) - count(visitors) as visitors_hidden,
        sum(passersby) as passersby, count(*) - count(passersby) as passersby_hidden,
        sum(arrivals) filter (where arrivals is not null and passersby is not null) as rate_arrivals,
        sum(passersby) filter (where arrivals is not null and passersby is not null) as rate_passersby,
        count(*) filter (where arrivals is null or passersby is null) as rate_hidden
    from hourly
    where store in (select unnest($stores)) and date = $day
    group by hour
),
heard as (
    select hour, count(distinct store) as stores_heard
    from covered
    group by hour
),
sensed as (
    select count(distinct store) as stores_with_sensors
    from sensor_hours
    where store in (select unnest($stores)) and date = $day
)
select c.*, coalesce(h.stores_heard, 0) as stores_heard, s.stores_with_sensors
from counts as c
left join heard as h on h.hour = c.hour
cross join sensed as s
order by c.hour"""

# The busy hours: mean arrivals per weekday and local hour over the days on which every
# selected store has figures (a day missing a store would read as a quiet one).
HEAT = f"""
with per_hour as (
    select date, hour, sum(arrivals) as arrivals, count(*) - count(arrivals) as hidden,
        count(distinct store) as stores
    from hourly where {_SELECTED}
    group by date, hour
),
complete_days as (
    select date from per_hour group by date having max(stores) = len($stores)
)
select
    isodow(date) as weekday,
    hour,
    count(*) as days,
    avg(arrivals) filter (where hidden = 0) as mean_arrivals,
    count(*) filter (where hidden > 0) as days_hidden
from per_hour
where date in (select date from complete_days)
group by weekday, hour order by weekday, hour"""

# The days of the range on which some selected store has no hourly figures.
INCOMPLETE_HOURLY_DAYS = f"""
select date, list_sort(list(distinct store)) as stores_with_data
from hourly where {_SELECTED}
group by date having count(distinct store) < len($stores)
order by date"""

STORES_ON_DAY = """
select list_sort(list(distinct store)) as stores_with_data
from {mart} where store in (select unnest($stores)) and date = $day"""

BUCKET_TOTALS = f"""
select bucket, sum(visits) as visits, count(*) - count(visits) as visits_hidden, count(*) as rows
from dwell where {_SELECTED}
group by bucket"""

# Per sensor and day: the minutes it reported a heartbeat in, and the minutes it covered
# (a continuous sensor: those it reported in; a capture file: its span, first to last minute).
_SENSOR_DAYS = f"""
sensor_days as (
    select store, sensor, date, bool_or(continuous) as continuous, sum(minutes) as minutes,
        min(first_minute) as first_heard, max(last_minute) as last_heard,
        case when bool_or(continuous) then sum(minutes)
            else date_diff('minute', min(first_minute), max(last_minute)) + 1 end as covered
    from sensor_hours where {_SELECTED}
    group by store, sensor, date
)"""

SENSOR_COVERAGE = f"""
with {_SENSOR_DAYS}
select store, sensor, count(*) as days, sum(minutes) as minutes, sum(covered) as covered,
    max(last_heard) as last_heard, bool_or(continuous) as continuous
from sensor_days
group by store, sensor order by store, sensor"""

SENSOR_COVERAGE_DAYS = f"""
with {_SENSOR_DAYS}
select store, sensor, date, minutes, covered, first_heard, last_heard, continuous
from sensor_days order by store, sensor, date"""

STORE_SENSOR_MINUTES = f"""
with {_SENSOR_DAYS}
select store, sum(covered) as sensor_minutes, count(distinct sensor) as sensors
from sensor_days
group by store"""

HOURS_HEARD = f"""
with {_COVERED_HOURS}
select distinct store, hour
from covered
order by store, hour"""

OCCUPANCY = f"""
select store, ts, {_resuppressed("occupancy", ["present", "suppressed"])}
from read_parquet($files, {_HIVE})
order by store, ts"""

SENSOR_MINUTES = f"""
select sensor, minute, frames, probes, suppressed
from read_parquet($files, {_HIVE})
order by sensor, minute"""

# Runs of minutes without a heartbeat row on the day, per store and sensor: inside the
# sensor's span (an outage for a continuous sensor, a quiet minute for a capture file)
# and outside it, from the start and to the end of the local day (bounds computed from
# the store's time zone): nothing was captured there.
SENSOR_GAPS = f"""
with bounds as (
    select unnest($bound_stores) as store, unnest($day_starts) as day_start, unnest($day_ends) as day_end
),
heard as (
    select store, sensor, minute from read_parquet($files, {_HIVE})
),
steps as (
    select store, sensor, minute, lag(minute) over (partition by store, sensor order by minute) as previous
    from heard
),
inside as (
    select store, sensor, previous + interval 1 minute as gap_start, minute as gap_end
    from steps
    where previous is not null and minute - previous > interval 1 minute
),
edges as (
    select store, sensor, min(minute) as first_heard, max(minute) as last_heard from heard group by store, sensor
),
outside as (
    select e.store, e.sensor, b.day_start as gap_start, e.first_heard as gap_end
    from edges as e join bounds as b on b.store = e.store where e.first_heard > b.day_start
    union all
    select e.store, e.sensor, e.last_heard + interval 1 minute as gap_start, b.day_end as gap_end
    from edges as e join bounds as b on b.store = e.store where e.last_heard + interval 1 minute < b.day_end
),
kinds as (
    select store, sensor, bool_or(continuous) as continuous
    from sensor_hours where store in (select unnest($bound_stores)) and date = $day
    group by store, sensor
),
gaps as (
    select store, sensor, gap_start, gap_end, false as outside from inside
    union all
    select store, sensor, gap_start, gap_end, true as outside from outside
)
select g.store, g.sensor, g.gap_start, g.gap_end, g.outside, coalesce(k.continuous, false) as continuous
from gaps as g
left join kinds as k on k.store = g.store and k.sensor = g.sensor
order by g.store, g.sensor, g.gap_start"""


# --- access --------------------------------------------------------------------------------

Zones = Callable[[str], str]


@dataclass
class _Partitions:
    """Which store-days of a mart the cache holds, by the mtime of their folder."""

    stamps: dict[tuple[str, date], int] = field(default_factory=dict)


class Marts:
    """Read-only access to DATA/marts. One instance serves every session of the app
    (a lock keeps DuckDB's one connection to one query at a time)."""

    def __init__(self, data_dir: Path, zone_of: Zones | None = None, k: int = 1) -> None:
        self.data_dir = Path(data_dir)
        self.k = k  # counts below it are hidden, whatever k the marts were published with
        self.root = self.data_dir / "marts"
        self.zone_of: Zones = zone_of or (lambda store: "UTC")
        self._lock = threading.RLock()
        self._con = duckdb.connect(":memory:")
        self._con.execute("set TimeZone = 'UTC'")
        # rows need no order until a query sorts them: reading many small files is 2-3x faster so
        self._con.execute("set preserve_insertion_order = false")
        suppression.load_macros(self._con)
        for ddl in CACHE_TABLES.values():
            self._con.execute(ddl)
        self._partitions = {mart: _Partitions() for mart in CACHE_TABLES}
        # mart files that cannot be read, and why: left out (their store-days read "no data"), named on the
        # pages, until the file changes (the day run again)
        self.damaged: dict[str, str] = {}
        self._damaged_at: dict[str, int] = {}

    # -- what there is

    def stores(self) -> list[str]:
        """Stores with at least one published store-day (in any mart); a folder whose
        name no store can have (the configuration's rule) is not one."""
        found: set[str] = set()
        for mart in MARTS:
            found.update(
                name
                for name in storage.partition_values(self.root / mart, storage.STORE_KEY)
                if NAME_PATTERN.fullmatch(name)
            )
        return sorted(found)

    def date_bounds(self, stores: Iterable[str]) -> tuple[date, date] | None:
        """The first and last store-day of the daily mart (one per processed store-day)."""
        days = [
            day
            for store in stores
            for name in storage.partition_values(storage.store_folder(self.root, "daily", store), storage.DATE_KEY)
            if (day := storage.parse_day(name)) is not None
        ]
        return (min(days), max(days)) if days else None

    # -- the pages' queries (each one holds the lock for the whole page: one consistent view)

    def overview(self, selection: Selection) -> Overview:
        days = set(selection.dates())
        for reference in (selection.day, selection.day - timedelta(days=1)):
            days.update(reference - timedelta(weeks=week) for week in range(COMPARISON_WEEKS + 1))
        with self._lock:
            self._ensure("daily", selection.stores, days)
            return Overview(days=self._read(DAYS, {"stores": list(selection.stores), "dates": sorted(days)}))

    def hourly(self, selection: Selection) -> Hourly:
        with self._lock:
            self._ensure("hourly", selection.stores, selection.dates())
            self._ensure("sensor_health", selection.stores, [selection.day])
            return Hourly(
                day_hours=self._read(DAY_HOURS, _day(selection)),
                heat=self._read(HEAT, _range(selection)),
                day_stores=self._stores_on_day("hourly", selection),
                incomplete=self._read(INCOMPLETE_HOURLY_DAYS, _range(selection)),
            )

    def dwell(self, selection: Selection) -> Dwell:
        day = Selection(selection.stores, selection.day, selection.day)
        with self._lock:
            self._ensure("dwell", selection.stores, selection.dates())
            self._ensure("daily", selection.stores, selection.dates())
            return Dwell(
                buckets=_ordered_buckets(self._read(BUCKET_TOTALS, _range(selection))),
                day_buckets=_ordered_buckets(self._read(BUCKET_TOTALS, _range(day))),
                days=self._read(DAYS, {"stores": list(selection.stores), "dates": selection.dates()}),
            )

    def capture_rate(self, selection: Selection) -> CaptureRate:
        with self._lock:
            self._ensure("daily", selection.stores, selection.dates())
            self._ensure("hourly", selection.stores, [selection.day])
            self._ensure("sensor_health", selection.stores, [selection.day])
            return CaptureRate(
                days=self._read(DAYS, {"stores": list(selection.stores), "dates": selection.dates()}),
                store_days=self._read(STORE_DAYS, _range(selection)),
                day_hours=self._read(DAY_HOURS, _day(selection)),
            )

    def occupancy(self, selection: Selection) -> Occupancy:
        with self._lock:
            self._ensure("sensor_health", selection.stores, [selection.day])
            heard = self._read(HOURS_HEARD, _day(selection))
            files = self._files("occupancy", selection.stores, selection.day)
            bins = self._read_files(OCCUPANCY, files, ["store", "ts", "present", "suppressed"], {"k": self.k})
        return Occupancy(bins=bins, heard=heard)

    def stores_compared(self, selection: Selection) -> StoresCompared:
        previous = selection.previous()
        with self._lock:
            self._ensure("daily", selection.stores, previous.dates() + selection.dates())
            self._ensure("sensor_health", selection.stores, selection.dates())
            stores = self._read(STORE_TOTALS, _range(selection))
            sensors = self._read(STORE_SENSOR_MINUTES, _range(selection))
            return StoresCompared(
                stores=stores.merge(sensors, on="store", how="left"),
                previous=self._read(STORE_TOTALS, _range(previous)),
            )

    def sensors(self, selection: Selection, detail_store: str | None = None) -> Sensors:
        with self._lock:
            self._ensure("sensor_health", selection.stores, selection.dates())
            coverage = self._read(SENSOR_COVERAGE, _range(selection))
            coverage_days = self._read(SENSOR_COVERAGE_DAYS, _range(selection))
        day = selection.day
        bounds = [_day_bounds(day, self.zone_of(store)) for store in selection.stores]
        gaps = self._read_files(
            SENSOR_GAPS,
            self._files("sensor_health", selection.stores, day),
            ["store", "sensor", "gap_start", "gap_end", "outside", "continuous"],
            {
                "day": day,
                "bound_stores": list(selection.stores),
                "day_starts": [start for start, _ in bounds],
                "day_ends": [end for _, end in bounds],
            },
        )
        detail = self._files("sensor_health", (detail_store,), day) if detail_store else []
        minutes = self._read_files(SENSOR_MINUTES, detail, ["sensor", "minute", "frames", "probes", "suppressed"])
        return Sensors(coverage=coverage, coverage_days=coverage_days, gaps=gaps, minutes=minutes)

    # -- helpers

    def _stores_on_day(self, mart: str, selection: Selection) -> list[str]:
        """The selected stores with figures in a cached mart on the selection's day."""
        found = self._read(STORES_ON_DAY.format(mart=CACHE_TABLE_OF[mart]), _day(selection))
        value = found["stores_with_data"].iloc[0] if len(found) else None
        return [] if value is None or not hasattr(value, "__iter__") else list(value)

    def _read(self, sql: str, parameters: dict) -> pd.DataFrame:
        with self._lock:
            try:
                table = self._con.sql(sql, params=parameters).to_arrow_table()
            except _UNREADABLE as exc:
                raise MartsError(f"the marts cannot be queried ({_one_line(exc)})") from None
        return _plain(table).to_pandas(types_mapper=_NULLABLE.get)

    def _read_files(self, sql: str, files: list[str], columns: list[str], extra: dict | None = None) -> pd.DataFrame:
        """A query over the files of a day; a damaged one is left out (and recorded)."""
        with self._lock:
            files = [file for file in files if not self._still_damaged(file)]
            try:
                return self._read(sql, (extra or {}) | {"files": files}) if files else pd.DataFrame(columns=columns)
            except MartsError:
                files = self._sort_out("select * from read_parquet($files)", files)
                return self._read(sql, (extra or {}) | {"files": files}) if files else pd.DataFrame(columns=columns)

    def _sort_out(self, sql: str, files: list[str], extra: dict | None = None) -> list[str]:
        """The files a query can read, one by one; the others are recorded in `damaged`."""
        good = []
        for file in files:
            try:
                self._con.execute(sql, (extra or {}) | {"files": [file]})
                good.append(file)
            except _UNREADABLE as exc:
                self.damaged[file] = _one_line(exc)
                self._damaged_at[file] = _mtime(file)
        return good

    def _still_damaged(self, file: str) -> bool:
        """Recorded as damaged and not replaced since."""
        if file not in self.damaged:
            return False
        if self._damaged_at.get(file) == _mtime(file):
            return True
        del self.damaged[file]
        return False

    def _files(self, mart: str, stores: Iterable[str], day: date) -> list[str]:
        return [file for store in stores for file in self._published(mart, store, day)]

    def _published(self, mart: str, store: str, day: date) -> list[str]:
        folder = storage.partition_folder(str(self.root), mart, store, day)
        return [f"{folder}/{name}" for name in storage.published_names(folder)]

    def _ensure(self, mart: str, stores: Iterable[str], dates: Iterable[date]) -> None:
        """Loads the store-days not yet held, or whose folder changed since (a new file
        renamed in), and forgets those whose folder is gone."""
        held = self._partitions[mart].stamps
        dates = list(dates)
        changed: list[tuple[str, date]] = []
        stamps: dict[tuple[str, date], int | None] = {}
        for store in stores:
            for day in dates:
                key = (store, day)
                try:
                    stamp: int | None = os.stat(storage.partition_folder(str(self.root), mart, store, day)).st_mtime_ns
                except (FileNotFoundError, NotADirectoryError):
                    stamp = None
                if held.get(key) != stamp:
                    changed.append(key)
                    stamps[key] = stamp
        if not changed:
            return
        table = CACHE_TABLE_OF[mart]
        keys = pa.table({"store": [k[0] for k in changed], "date": pa.array([k[1] for k in changed], pa.date32())})
        self._con.register("changed_partitions", keys)
        try:
            self._con.execute(
                f"delete from {table} using changed_partitions as c where {table}.store = c.store "
                f"and {table}.date = c.date"
            )
        finally:
            self._con.unregister("changed_partitions")
        files = [file for key in changed if stamps[key] is not None for file in self._published(mart, *key)]
        if files:
            self._load(mart, files)
        for key in changed:
            stamp = stamps[key]
            if stamp is None:
                held.pop(key, None)
            else:
                held[key] = stamp

    def _load(self, mart: str, files: list[str]) -> None:
        parameters: dict[str, object] = {}
        if mart == "sensor_health":
            stores = sorted({storage.store_of(file) for file in files})
            parameters = {"zone_stores": stores, "zone_names": [self.zone_of(s) for s in stores]}
        else:
            parameters = {"k": self.k}
        for file in files:
            self.damaged.pop(file, None)
        try:
            self._con.execute(LOAD[mart], parameters | {"files": files})
        except _UNREADABLE:  # older files (without a newer column), or a damaged one
            try:
                self._load_older(mart, files, parameters)
            except _UNREADABLE:
                for file in files:  # one by one: the damaged ones are named, the others loaded
                    try:
                        self._load_older(mart, [file], parameters)
                    except _UNREADABLE as exc:
                        self.damaged[file] = _one_line(exc)
                        self._damaged_at[file] = _mtime(file)

    def _load_older(self, mart: str, files: list[str], parameters: dict[str, object]) -> None:
        """Files that lack columns added since they were written: their columns by name.
        A file without one of the mart's first columns is not an older version of it."""
        described = self._con.execute(
            f"select * from read_parquet($files, {_HIVE}, union_by_name = true) limit 0", {"files": files}
        )
        present = [column[0] for column in described.description]
        lacking = outputs.MARTS[mart].first_columns() - set(present)
        if lacking:
            raise duckdb.InvalidInputException(f"not a {mart} mart file: no column {', '.join(sorted(lacking))}")
        self._con.execute(load_sql(mart, present), parameters | {"files": files})


# The queries each page runs, by page: what `make bench` times.
PAGE_QUERIES: dict[str, Callable[[Marts, Selection], object]] = {
    "Overview": Marts.overview,
    "Hourly": Marts.hourly,
    "Dwell": Marts.dwell,
    "Capture rate": Marts.capture_rate,
    "Occupancy": Marts.occupancy,
    "Stores": Marts.stores_compared,
    "Sensor health": lambda marts, selection: marts.sensors(selection, selection.stores[0]),
}


def _plain(table: pa.Table) -> pa.Table:
    """DuckDB sums integers into 128-bit ones (decimals in Arrow): back to int64."""
    for index, column in enumerate(table.schema):
        if pa.types.is_decimal(column.type):
            kind = pa.int64() if column.type.scale == 0 else pa.float64()
            table = table.set_column(index, column.name, table.column(index).cast(kind))
    return table


def _range(selection: Selection) -> dict[str, object]:
    return {"stores": list(selection.stores), "start": selection.start, "end": selection.end}


def _day(selection: Selection) -> dict[str, object]:
    return {"stores": list(selection.stores), "day": selection.day}


def _mtime(file: str) -> int:
    try:
        return os.stat(file).st_mtime_ns
    except OSError:
        return -1


def _day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    """The store's local day in UTC: [midnight, next midnight)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    return start, end


def _ordered_buckets(frame: pd.DataFrame) -> pd.DataFrame:
    order = {bucket: position for position, bucket in enumerate(BUCKETS)}
    return frame.sort_values("bucket", key=lambda column: column.map(order)).reset_index(drop=True)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
