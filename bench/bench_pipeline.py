#!/usr/bin/env python3
"""Pipeline benchmark: `footfall run` against the same visits computed plainly in pandas.

Generates (once, cached) a sightings dataset of --rows sightings over many stores and
days, written as the collector writes it (Hive partitions, one part per store-day,
in time order), then measures in this run, each in its own process:

  footfall   `footfall run --from D1 --to Dn` end to end: every step (stage with
             duplicate folding, devices, visits, classification, the five marts) and
             every output written
  pandas     the same folding, pseudonym linking (the same tracker, fed by a pandas
             group-by), visits and classification in plain pandas (read the
             columns, sort, diff, cumsum, group), no marts

and prints rows per second for both, their ratio, and each one's peak memory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
FOOTFALL = Path(sys.executable).with_name("footfall")
CACHE = REPO / "bench" / ".cache"
FIRST_DAY = date(2024, 5, 6)
DAYS = 7
ROWS_PER_STORE_DAY = 100_000


def generate(root: Path, rows: int, seed: int = 7) -> tuple[int, int]:
    """Store-days of ~100 k sightings: visitors (a few minutes to two hours, a probe
    burst every ~40 s), passers-by (a minute), some staff (all day); a tenth of the
    frames heard twice (a second sensor)."""
    from footfall.collector.parquet_sink import SIGHTINGS_SCHEMA

    rng = np.random.default_rng(seed)
    stores = max(1, round(rows / (ROWS_PER_STORE_DAY * DAYS)))
    written = 0
    for store in range(stores):
        for offset in range(DAYS):
            day = FIRST_DAY + timedelta(days=offset)
            table = _store_day(rng, day, ROWS_PER_STORE_DAY)
            folder = root / "sightings" / f"store=shop{store:04d}" / f"date={day}"
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(table.cast(SIGHTINGS_SCHEMA), folder / "part-bench-0.parquet", compression="zstd")
            written += table.num_rows
    return stores, written


def _store_day(rng: np.random.Generator, day: date, target: int) -> pa.Table:
    start = int((np.datetime64(day.isoformat()) - np.datetime64("1970-01-01")) / np.timedelta64(1, "us"))
    opening = start + 9 * 3600 * 10**6
    people = target // 120
    kind = rng.choice(3, size=people, p=[0.55, 0.43, 0.02])  # visitor, passer-by, staff
    stay = np.where(kind == 1, rng.uniform(20, 120, people), 9 * 3600)
    duration_s = np.where(kind == 0, rng.lognormal(7.2, 0.7, people), stay)
    arrive = opening + (rng.uniform(0, 11 * 3600, people) * np.where(kind == 2, 0, 1) * 1e6).astype(np.int64)
    per_person = np.maximum(2, (duration_s / 40 * 3).astype(np.int64))  # bursts of 3 probes every 40 s
    person = np.repeat(np.arange(people), per_person)
    offsets = rng.uniform(0, 1, len(person)) * duration_s[person] * 1e6
    ts = arrive[person] + offsets.astype(np.int64)
    order = np.lexsort((ts,))
    ts, person = ts[order], person[order]
    rssi = np.where(kind[person] == 1, rng.integers(-90, -72, len(person)), rng.integers(-68, -45, len(person)))
    device = rng.integers(-(2**62), 2**62, people)[person]
    # each phone numbers its frames: the sequence number runs on per device
    first_of_person = np.searchsorted(np.sort(person), np.arange(people))
    rank = np.empty(len(person), np.int64)
    rank[np.argsort(person, kind="stable")] = np.arange(len(person)) - np.repeat(first_of_person, per_person)
    seq = ((rng.integers(0, 4096, people)[person] + rank) % 4096).astype(np.int16)
    echo = rng.random(len(person)) < 0.1  # heard by a second sensor too
    table = {
        "ts": np.concatenate([ts, ts[echo] + 200]),
        "sensor": np.array(["s1"] * len(ts) + ["s2"] * int(echo.sum())),
        "device": np.concatenate([device, device[echo]]),
        "randomized": np.zeros(len(ts) + int(echo.sum()), bool),
        "rssi": np.concatenate([rssi, rssi[echo] - 3]).astype(np.int8),
        "freq_mhz": np.full(len(ts) + int(echo.sum()), 2437, np.int16),
        "seq": np.concatenate([seq, seq[echo]]),
        "directed": np.zeros(len(ts) + int(echo.sum()), bool),
        "ie_hash": np.ones(len(ts) + int(echo.sum()), np.int64),
        "epoch": np.full(len(ts) + int(echo.sum()), day.isoformat()),
    }
    order = np.argsort(table["ts"], kind="stable")
    return pa.table({name: pa.array(values[order]) for name, values in table.items()}).set_column(
        0, "ts", pa.array(table["ts"][order], pa.timestamp("us", tz="UTC"))
    )


PANDAS_VISITS = r"""
import importlib, sys, numpy as np, pandas as pd, pyarrow.dataset as ds
root = sys.argv[1]
frame = ds.dataset(root + "/sightings", partitioning="hive").to_table(
    columns=["store", "date", "sensor", "device", "seq", "ts", "rssi", "epoch", "ie_hash", "randomized"]).to_pandas()
frame["ts_us"] = frame["ts"].astype("int64") // 1000 if frame["ts"].dtype.unit == "ns" else frame["ts"].astype("int64")
# fold copies of a frame: same store, device, sequence number within 5 s of the previous copy
frame = frame.sort_values(["store", "device", "seq", "ts_us"])
same = (frame["store"].eq(frame["store"].shift()) & frame["device"].eq(frame["device"].shift())
        & frame["seq"].eq(frame["seq"].shift()) & (frame["ts_us"] - frame["ts_us"].shift() <= 5_000_000))
frame["frame_no"] = (~same).cumsum()
frames = frame.groupby("frame_no").agg(store=("store", "first"), device=("device", "first"),
                                       ts_us=("ts_us", "min"), rssi=("rssi", "max"))
# devices: the same tracker as step 02, on a pandas summary of each pseudonym and receiver
import pyarrow as pa
step = importlib.import_module("footfall.pipeline.02_link_pseudonyms")
frame["receiver"] = frame["sensor"].astype(str) + "/"
ordered = frame.sort_values("ts_us")
summary = ordered.groupby(["store", "epoch", "device", "receiver"], sort=False).agg(
    first_us=("ts_us", "min"), last_us=("ts_us", "max"), seq_first=("seq", "first"), seq_last=("seq", "last"),
    layout=("ie_hash", "min"), randomized=("randomized", "any"), peak_rssi=("rssi", "max")).reset_index()
summary["margin"] = summary["peak_rssi"].astype(float) + 70
summary["gap_us"] = 15 * 60_000_000
summary = summary.sort_values(["store", "epoch", "device", "receiver"])
links = step.links(pa.Table.from_pandas(summary, preserve_index=False)).to_pandas()
device_key = pd.Series(links["device_key"].values, index=links["device"].values)
frames["device"] = frames["device"].map(device_key[~device_key.index.duplicated()])
# visits: split where unseen for more than 15 minutes
frames = frames.sort_values(["store", "device", "ts_us"])
new = ~(frames["store"].eq(frames["store"].shift()) & frames["device"].eq(frames["device"].shift())
        & (frames["ts_us"] - frames["ts_us"].shift() <= 15 * 60_000_000))
frames["visit_no"] = new.cumsum()
visits = frames.groupby("visit_no").agg(store=("store", "first"), device=("device", "first"),
                                        first_us=("ts_us", "min"), last_us=("ts_us", "max"),
                                        sightings=("ts_us", "size"), peak_rssi=("rssi", "max"))
visits["dwell_s"] = (visits["last_us"] - visits["first_us"]) / 1e6
visits["date"] = pd.to_datetime(visits["first_us"], unit="us").dt.date
staff = visits.groupby(["store", "date", "device"])["dwell_s"].transform("sum") > 6 * 3600
visits["class"] = "visitor"
visits.loc[(visits["peak_rssi"] < -70) | (visits["dwell_s"] < 300), "class"] = "passerby"
visits.loc[staff, "class"] = "staff"
print(len(visits))
"""


def run_measured(command: list[str], cwd: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) and stdout of a child process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{command[0]} failed: {err.read().decode()[-2000:]}")
        return elapsed, usage.ru_maxrss, out.read().decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--skip-pandas", action="store_true")
    args = parser.parse_args()

    root = CACHE / f"pipeline-{args.rows // 1_000_000}M"
    if not (root / "sightings").is_dir():
        print(f"generating {args.rows:,} sightings in {root.relative_to(REPO)} ...", flush=True)
        shutil.rmtree(root, ignore_errors=True)
        generate(root, args.rows)
    files = list((root / "sightings").rglob("*.parquet"))
    rows = sum(pq.read_metadata(f).num_rows for f in files)
    stores = len(list((root / "sightings").glob("store=*")))
    size_mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"sightings: {rows:,} rows, {stores} stores x {DAYS} days, {size_mb:,.0f} MB")

    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / "data"
        data.mkdir()
        (data / "sightings").symlink_to(root / "sightings")
        last = FIRST_DAY + timedelta(days=DAYS - 1)
        seconds, rss, _ = run_measured(
            [str(FOOTFALL), "run", "--data", str(data), "--from", str(FIRST_DAY), "--to", str(last)], Path(work)
        )
        visits = pq.ParquetDataset(data / "visits").read(columns=["class"]).num_rows
    print(
        f"footfall run   {seconds:7.1f} s  {rows / seconds:>12,.0f} sightings/s  peak RSS {rss / 1024:,.0f} MiB"
        f"  ({visits:,} visits)"
    )
    if args.skip_pandas:
        return
    pandas_seconds, pandas_rss, out = run_measured([sys.executable, "-c", PANDAS_VISITS, str(root)], REPO)
    print(
        f"plain pandas   {pandas_seconds:7.1f} s  {rows / pandas_seconds:>12,.0f} sightings/s  peak RSS "
        f"{pandas_rss / 1024:,.0f} MiB  ({int(out):,} visits, no marts)"
    )
    print(
        f"ratio: footfall run is {pandas_seconds / seconds:.1f}x plain pandas (target >= 2x); "
        f"100 M target: < 120 s, < 8 GiB"
    )


if __name__ == "__main__":
    main()
