"""Writes marts as the pipeline publishes them (same layout, same column types), from
true counts the tests choose, suppressing below k as the pipeline does: a count
below k (zero included) is null and the row's `suppressed` flag is set, and so is a
rate or a dwell derived from it. The schemas are the declared ones (footfall.outputs),
which test_outputs checks against the files the real pipeline writes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from footfall import outputs, storage

SCHEMAS = {name: mart.schema() for name, mart in outputs.MARTS.items()}  # as the pipeline writes them


def hidden(n: int, k: int) -> bool:
    return k > 1 and n < k


def shown(n: int, k: int) -> int | None:
    return None if hidden(n, k) else n


def daily_row(
    visitors: int,
    visits: int,
    passersby: int,
    p50: float,
    p90: float,
    k: int,
    visitors_range: tuple[int, int] | None = None,
) -> dict:
    """A daily row; visitors_range = (low, high), else the range is the count itself."""
    out = hidden(visitors, k) or hidden(passersby, k)
    low, high = visitors_range or (visitors, visitors)
    return {
        "visitors": shown(visitors, k),
        "visitors_low": shown(low, k),
        "visitors_high": shown(high, k),
        "visits": shown(visits, k),
        "passersby": shown(passersby, k),
        "capture_rate": None if out or visitors + passersby == 0 else visitors / (visitors + passersby),
        "dwell_p50_s": None if hidden(visits, k) else p50,
        "dwell_p90_s": None if hidden(visits, k) else p90,
        "suppressed": hidden(visitors, k) or hidden(visits, k) or hidden(passersby, k) or hidden(low, k),
        "estimated": True,
    }


def hourly_row(hour: int, arrivals: int, visitors: int, passersby: int, k: int) -> dict:
    out = hidden(arrivals, k) or hidden(passersby, k)
    return {
        "hour": hour,
        "arrivals": shown(arrivals, k),
        "visitors": shown(visitors, k),
        "passersby": shown(passersby, k),
        "capture_rate": None if out or arrivals + passersby == 0 else arrivals / (arrivals + passersby),
        "suppressed": hidden(arrivals, k) or hidden(visitors, k) or hidden(passersby, k),
        "estimated": True,
    }


def write(data_dir: Path, mart: str, store: str, day: date, rows: list[dict]) -> Path:
    """One partition file, as the runner publishes it (store and date only in the path)."""
    folder = storage.partition(data_dir, outputs.MARTS[mart].name, store, day)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "part-0.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMAS[mart]), path)
    return path
