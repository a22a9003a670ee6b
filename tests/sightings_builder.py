"""Sightings with known content for the pipeline's tests: a store in Prague, devices
seen from one time to another (seen), written as the collector writes them (write),
and the pipeline run on them with a given configuration (run_pipeline, outputs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

from footfall.collector.parquet_sink import SIGHTINGS_SCHEMA
from footfall.config import load_settings
from footfall.outputs import PIPELINE_OUTPUTS
from footfall.pipeline import runner

PRAGUE = ZoneInfo("Europe/Prague")
DAY = date(2024, 5, 14)  # a Tuesday; Prague is UTC+2
MINUTE = timedelta(minutes=1)


def local(hour: int, minute: int = 0, second: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=PRAGUE)


@dataclass
class S:
    """One sighting."""

    ts: datetime
    device: int
    rssi: int | None = -50
    sensor: str = "s1"
    seq: int | None = None
    randomized: bool = False
    layout: int = 1  # the element layout's keyed hash


def seen(device: int, start: datetime, end: datetime, every: timedelta = 2 * MINUTE, **kwargs) -> list[S]:
    """Sightings of one device from start to end inclusive, every `every`."""
    out, t = [], start
    while t <= end:
        out.append(S(t, device, **kwargs))
        t += every
    if out[-1].ts != end:
        out.append(S(end, device, **kwargs))
    return out


CONFIG = """
[privacy]
k = {k}
[visits]
gap_min = 15
min_dwell_min = 5
rssi_threshold_dbm = -70
staff_daily_hours = 6
[stores.shop]
timezone = "Europe/Prague"
{hours}
[stores.shop.sensors.s1]
[stores.shop.sensors.s2]
rssi_threshold_dbm = -60
"""


def write(data: Path, sightings: list[S], store: str = "shop", name: str = "part-test-0.parquet") -> None:
    """Writes sightings as the collector would (partitioned by Prague's local date)."""
    by_date: dict[str, list[S]] = {}
    for s in sightings:
        by_date.setdefault(s.ts.astimezone(PRAGUE).date().isoformat(), []).append(s)
    for day, rows in by_date.items():
        folder = data / "sightings" / f"store={store}" / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(
            [
                {
                    "ts": s.ts.astimezone(UTC),
                    "sensor": s.sensor,
                    "device": s.device,
                    "randomized": s.randomized,
                    "rssi": s.rssi,
                    "freq_mhz": 2437,
                    "seq": s.seq if s.seq is not None else i % 4096,
                    "directed": False,
                    "ie_hash": s.layout,
                    "epoch": day,
                }
                for i, s in enumerate(rows)
            ],
            schema=SIGHTINGS_SCHEMA,
        )
        pq.write_table(table, folder / name)


def config(k: int = 1, hours: str | None = "09:00-20:00") -> str:
    return CONFIG.format(k=k, hours=f'opening_hours = "{hours}"' if hours else "")


def run_pipeline(
    tmp_path: Path, sightings: list[S], k: int = 1, hours: str | None = "09:00-20:00", **plan
) -> dict[str, list[dict]]:
    (tmp_path / "footfall.toml").write_text(config(k, hours))
    data = tmp_path / "data"
    write(data, sightings)
    settings = load_settings(tmp_path / "footfall.toml")
    report = runner.run(settings, runner.plan(settings, **plan))
    assert not report.errors, report.errors
    return outputs(data)


def outputs(data: Path) -> dict[str, list[dict]]:
    import duckdb

    found = {}
    for dataset in (d.name for d in PIPELINE_OUTPUTS):
        if any((data / dataset).rglob("*.parquet")):
            query = f"select * from read_parquet('{data / dataset}/**/*.parquet', hive_partitioning=true)"
            found[dataset] = duckdb.sql(query).to_arrow_table().to_pylist()
        else:
            found[dataset] = []
    return found


def visits_of(result: dict, device: int) -> list[dict]:
    return sorted((v for v in result["visits"] if v["device_key"] == device), key=lambda v: v["first_seen"])
