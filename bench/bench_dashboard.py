#!/usr/bin/env python3
"""Dashboard benchmark: the queries each page runs, on a year of marts for 100 stores.

Generates (once, cached in bench/.cache) the marts the pipeline would publish for
100 stores x 365 days (182,500 Parquet files), then times, page by page, the
queries of footfall.dashboard.queries (PAGE_QUERIES, exactly what the pages call):

  default view   all stores, the last 7 days (what the app opens on)
      first      the page opened first in a fresh app: the selection's files are read
      again      the same page again: only the partition folders' mtimes are checked
  year           all stores, the whole year, once the year is in the cache; "(first)":
                 opening the pages in order in one app, the first ones reading the
                 year's files (36,500 per mart)
  reference      the same SQL over DuckDB views that glob every mart file with Hive
                 partition filters (the straightforward way), default view

and prints each page's seconds, the target (< 1 s) and the ratio to the reference;
then the time of the Privacy page's report, which reads no mart but lists folders.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from dashboard_marts import generate  # noqa: E402

from footfall.dashboard.queries import CACHE_TABLE_OF, CACHE_TABLES, PAGE_QUERIES, Marts, Selection  # noqa: E402

CACHE = REPO / "bench" / ".cache"
FIRST_DAY = date(2024, 1, 1)
TARGET_S = 1.0


class GlobMarts(Marts):
    """The reference: the page SQL over views of every mart file (glob + Hive filters)."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        hive = "hive_partitioning = true, hive_types = {'store': 'VARCHAR', 'date': 'DATE'}"
        for mart in CACHE_TABLES:
            self._con.execute(f"drop table {CACHE_TABLE_OF[mart]}")
        for mart in ("daily", "hourly", "dwell"):
            files = f"{self.root}/{mart}/*/*/*.parquet"
            self._con.execute(f"create view {mart} as select * from read_parquet('{files}', {hive})")
        self._con.execute(
            "create view sensor_hours as select store, date, sensor, hour(minute) as hour, count(*) as minutes, "
            f"max(minute) as last_minute from read_parquet('{self.root}/sensor_health/*/*/*.parquet', {hive}) "
            "group by all"
        )

    def _ensure(self, mart, stores, dates) -> None:
        return None


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=100)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--skip-year", action="store_true", help="skip the whole-year view (its first load is long)")
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()

    root = CACHE / f"dashboard-{args.stores}x{args.days}"
    if not (root / ".complete").exists():
        where = root.relative_to(REPO)
        print(f"generating {args.stores} stores x {args.days} days of marts in {where} ...", flush=True)
        shutil.rmtree(root, ignore_errors=True)
        started = time.perf_counter()
        generate(root, args.stores, FIRST_DAY, args.days)
        (root / ".complete").touch()
        print(f"  generated in {time.perf_counter() - started:.0f} s")
    files = sum(1 for _ in (root / "marts").rglob("*.parquet"))
    size = sum(f.stat().st_size for f in (root / "marts").rglob("*.parquet")) / 1e6
    print(f"marts: {files:,} Parquet files ({size:,.0f} MB), {args.stores} stores x {args.days} days")

    marts = Marts(root)
    stores = tuple(marts.stores())
    bounds = marts.date_bounds(stores)
    assert bounds is not None
    last = bounds[1]
    week = Selection(stores, last - timedelta(days=6), last)
    year = Selection(stores, bounds[0], last)

    rows = {}
    for page, query in PAGE_QUERIES.items():
        fresh = Marts(root)  # each page opened first in a fresh app: its files are read
        first = timed(lambda query=query, fresh=fresh: query(fresh, week))
        again = timed(lambda query=query, fresh=fresh: query(fresh, week))
        rows[page] = {"first": first, "again": again}
    rss = {"7 days": _rss_mib()}
    if not args.skip_year:
        for page, query in PAGE_QUERIES.items():  # one app, the pages in order: the first ones load the year
            rows[page]["year first"] = timed(lambda query=query: query(marts, year))
            rows[page]["year"] = timed(lambda query=query: query(marts, year))
        rss["year"] = _rss_mib()
    if not args.skip_reference:
        reference = GlobMarts(root)
        for page, query in PAGE_QUERIES.items():
            rows[page]["reference"] = timed(lambda query=query: query(reference, week))

    print()
    print(f"{'page':<14} {'7 days: first':>14} {'again':>7} {'year':>7} {'(first)':>9} {'reference':>10} {'ratio':>7}")
    for page, row in rows.items():
        ratio = f"{row['reference'] / row['first']:.0f}x" if "reference" in row else "-"
        print(
            f"{page:<14} {row['first']:>12.2f} s {row['again']:>5.2f} s "
            f"{_s(row.get('year'))} {_s(row.get('year first'), 7)} {_s(row.get('reference'), 8)} {ratio:>7}"
        )
    worst = max(max(row["first"], row["again"], row.get("year", 0)) for row in rows.values())
    print(
        f"\ntarget: every page's queries < {TARGET_S:.0f} s (7 days first and again, year once loaded): "
        f"{'met' if worst < TARGET_S else 'NOT met'} (slowest {worst:.2f} s); "
        "ratio = reference (glob over every mart file) / first open of the 7 days"
    )
    from footfall.config import load_settings
    from footfall.privacy.report import build_report

    seconds = timed(lambda: build_report(load_settings(None, root)))
    print(
        f"Privacy page: footfall.privacy.report.build_report {seconds:.1f} s (no mart query: it lists every "
        "partition folder of every tier; the page keeps it for a minute)"
    )
    rss["reference"] = _rss_mib()
    print("peak RSS of this process: " + ", ".join(f"{mib:,.0f} MiB after the {stage}" for stage, mib in rss.items()))


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _s(value: float | None, width: int = 5) -> str:
    return f"{value:>{width}.2f} s" if value is not None else f"{'-':>{width + 2}}"


if __name__ == "__main__":
    main()
