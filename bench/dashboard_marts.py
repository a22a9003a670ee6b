"""A year of marts for many stores, as the pipeline publishes them, for `make bench`.

The figures follow a store's rhythm (opening hours, busier weekends, a season, a
lunch and an evening peak) so that the dashboard's queries meet realistic shapes:
closed hours below k (suppressed), small stores with suppressed days, sensors with
outages (minutes without a heartbeat row). The counts of one store-day are drawn
independently per mart; they are plausible, not mutually consistent to the person.
Columns and types are the declared ones (footfall.outputs).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from footfall import outputs

BUCKETS = list(outputs.DWELL.column("bucket").values)
BUCKET_SHARES = [0.0, 0.45, 0.35, 0.19, 0.01]  # visits under 5 min are passers-by
SENSORS = ("door", "back")


def generate(root: Path, stores: int, first: date, days: int, k: int = 5, seed: int = 11) -> None:
    """Writes DATA/marts/<mart>/store=…/date=…/part-0.parquet for every store-day."""
    rng = np.random.default_rng(seed)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    dates = np.array([first + timedelta(days=i) for i in range(days)])
    for number in range(stores):
        store = f"store{number:03d}"
        size = float(rng.lognormal(5.5, 0.9))  # typical visitors on a weekday
        arrivals = _hourly_arrivals(rng, dates, size)
        tables = {
            "hourly": _hourly(rng, store, dates, arrivals, k),
            "daily": _daily(rng, store, dates, arrivals, k),
            "dwell": _dwell(rng, store, dates, arrivals, k),
            "occupancy": _occupancy(rng, store, dates, arrivals, k),
            "sensor_health": _sensor_health(rng, store, dates, k),
        }
        for mart, table in tables.items():
            con.register("rows", table.cast(outputs.MARTS[mart].schema(partitions=True)))  # as declared
            target = root / "marts" / mart
            target.mkdir(parents=True, exist_ok=True)
            con.execute(
                f"copy rows to '{target}' (format parquet, partition_by (store, date), compression zstd, "
                "filename_pattern 'part-{i}', overwrite_or_ignore true)"
            )
            con.unregister("rows")


def _hourly_arrivals(rng: np.random.Generator, dates: np.ndarray, size: float) -> np.ndarray:
    """Expected arrivals per day x local hour: open 9-20, lunch and evening peaks."""
    hours = np.arange(24)
    profile = np.exp(-((hours - 12.5) ** 2) / 4) + 1.3 * np.exp(-((hours - 17.5) ** 2) / 3)
    profile[(hours < 9) | (hours >= 20)] = 0
    profile /= profile.sum()
    weekday = np.array([d.weekday() for d in dates])
    season = 1 + 0.25 * np.cos(2 * np.pi * (np.array([d.timetuple().tm_yday for d in dates]) - 350) / 365)
    level = size * np.where(weekday >= 5, 1.6, 1.0) * season * rng.lognormal(0, 0.15, len(dates))
    return rng.poisson(np.outer(level, profile))


def _suppress(values: np.ndarray, k: int) -> tuple[pa.Array, np.ndarray]:
    hidden = values < k if k > 1 else np.zeros(values.shape, bool)
    return pa.array(values, mask=hidden), hidden


def _daily(rng, store, dates, arrivals, k) -> pa.Table:
    visits = arrivals.sum(axis=1)
    visitors = np.round(visits * rng.uniform(0.85, 0.95, len(dates))).astype(np.int64)
    passersby = rng.poisson(visits * 3.2)
    shown_visitors, hidden_visitors = _suppress(visitors, k)
    shown_visits, hidden_visits = _suppress(visits, k)
    shown_passersby, hidden_passersby = _suppress(passersby, k)
    hidden = hidden_visitors | hidden_visits | hidden_passersby
    rate = np.where(hidden, np.nan, visitors / np.maximum(visitors + passersby, 1))
    p50 = rng.normal(1500, 200, len(dates))
    p90 = p50 * rng.uniform(2.5, 3.5, len(dates))
    return pa.table(
        {
            "visitors": shown_visitors,
            "visits": shown_visits,
            "passersby": shown_passersby,
            "capture_rate": pa.array(rate, mask=hidden),
            "dwell_p50_s": pa.array(p50, mask=hidden_visits),
            "dwell_p90_s": pa.array(p90, mask=hidden_visits),
            "suppressed": hidden,
            "estimated": np.ones(len(dates), bool),
            "visitors_low": shown_visitors,
            "visitors_high": shown_visitors,
            "store": [store] * len(dates),
            "date": dates,
        }
    )


def _hourly(rng, store, dates, arrivals, k) -> pa.Table:
    flat = arrivals.ravel()
    present = np.round(flat * rng.uniform(1.1, 1.6, flat.size)).astype(np.int64)
    passersby = rng.poisson(flat * 3.2 + 0.5)
    shown_arrivals, hidden_arrivals = _suppress(flat, k)
    shown_visitors, hidden_visitors = _suppress(present, k)
    shown_passersby, hidden_passersby = _suppress(passersby, k)
    hidden = hidden_arrivals | hidden_visitors | hidden_passersby
    rate = flat / np.maximum(flat + passersby, 1)
    return pa.table(
        {
            "hour": pa.array(np.tile(np.arange(24, dtype=np.int32), len(dates))),
            "arrivals": shown_arrivals,
            "visitors": shown_visitors,
            "passersby": shown_passersby,
            "capture_rate": pa.array(rate, mask=hidden_arrivals | hidden_passersby),
            "suppressed": hidden,
            "estimated": np.ones(flat.size, bool),
            "store": [store] * flat.size,
            "date": np.repeat(dates, 24),
        }
    )


def _dwell(rng, store, dates, arrivals, k) -> pa.Table:
    visits = arrivals.sum(axis=1)
    counts = np.array([rng.multinomial(n, BUCKET_SHARES) for n in visits]).ravel()
    shown, hidden = _suppress(counts, k)
    return pa.table(
        {
            "bucket": BUCKETS * len(dates),
            "visits": shown,
            "suppressed": hidden,
            "store": [store] * counts.size,
            "date": np.repeat(dates, len(BUCKETS)),
        }
    )


def _occupancy(rng, store, dates, arrivals, k) -> pa.Table:
    per_bin = np.repeat(arrivals, 12, axis=1) / 12 * 2.2  # about 26 min average stay
    present = rng.poisson(per_bin).ravel().astype(np.int64)
    hidden = present < k if k > 1 else np.zeros(present.shape, bool)
    midnight = np.array([np.datetime64(d, "us") for d in dates])
    ts = (midnight[:, None] + np.arange(288) * np.timedelta64(5, "m")).ravel()
    return pa.table(
        {
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "present": pa.array(present, mask=hidden),
            "suppressed": hidden,
            "estimated": np.ones(present.size, bool),
            "store": [store] * present.size,
            "date": np.repeat(dates, 288),
        }
    )


def _sensor_health(rng, store, dates, k) -> pa.Table:
    """Every minute of both sensors, less a few outages (no row: no data)."""
    minutes = len(dates) * 1440
    up = np.ones((len(SENSORS), minutes), bool)
    for sensor in range(len(SENSORS)):
        for start in rng.choice(minutes, size=max(1, len(dates) // 20), replace=False):
            up[sensor, start : start + int(rng.integers(10, 240))] = False
    midnight = np.array([np.datetime64(d, "us") for d in dates])
    stamps = (midnight[:, None] + np.arange(1440) * np.timedelta64(1, "m")).ravel()
    sensor_index, minute_index = np.nonzero(up)
    frames = rng.poisson(300, sensor_index.size)
    probes = rng.poisson(12, sensor_index.size)
    hidden = ((frames < k) | (probes < k)) if k > 1 else np.zeros(frames.size, bool)
    return pa.table(
        {
            "sensor": pa.array(np.array(SENSORS)[sensor_index]),
            "minute": pa.array(stamps[minute_index], pa.timestamp("us", tz="UTC")),
            "frames": pa.array(frames.astype(np.int64), mask=hidden),
            "probes": pa.array(probes.astype(np.int64), mask=hidden),
            "suppressed": hidden,
            "continuous": np.ones(frames.size, bool),  # live sensors: a minute without a row is an outage
            "store": [store] * frames.size,
            "date": np.tile(dates, 1)[minute_index // 1440],
        }
    )
