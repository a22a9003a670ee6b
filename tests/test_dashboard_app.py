"""Every page of the dashboard, driven by Streamlit's own AppTest over small marts
written here, with the figures shown checked against expectations computed from
the true counts of the scenario (not from the app's queries): headline figures and
their comparisons, "< k" for suppressed cells (with the configured k), ranges for
totals that include them, "no data" for hours no sensor heard, the empty state."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from statistics import mean
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

import footfall.dashboard
from footfall.config import load_settings
from footfall.pipeline import runner

import mart_builder as mb
from conftest import Collected
from footfall_command import run_footfall

APP = str(Path(footfall.dashboard.__file__).with_name("app.py"))
D = date(2024, 5, 17)  # a Friday: the day looked at
FIRST = D - timedelta(days=34)  # daily figures from here (so the previous period exists too)
ZONES = {"north": "Europe/Prague", "south": "UTC"}
NORTH_GAP = (14, 16)  # local hours on D in which north's sensor heard nothing
NORTH_SENSOR_HOURS = [h for h in range(7, 21) if not NORTH_GAP[0] <= h < NORTH_GAP[1]]  # heard on D (local)
NORTH_MISSING_DAY = D - timedelta(days=3)  # north has no marts at all that day
DASH = "\u2013"

CONFIG = """
[privacy]
k = {k}

[stores.north]
timezone = "Europe/Prague"
opening_hours = "09:00-20:00"
[stores.north.sensors.door]
[stores.north.sensors.back]

[stores.south]
timezone = "UTC"
"""


# --- the scenario: true counts, from which the marts are written and the expectations computed


def true_daily(store: str, day: date) -> dict:
    i = (day - FIRST).days
    if store == "north":
        visitors = 120 + 7 * (i % 5) + (30 if day.weekday() == 4 else 0)  # busier on Fridays
        dwell = {"p50": 1500.0 + 10 * i, "p90": 4000.0 + 20 * i}
        return {"visitors": visitors, "visits": visitors + 10, "passersby": 3 * visitors + i, **dwell}
    visitors = 2 if day == D - timedelta(days=1) else 20 + i % 4
    visits = 4 if day == D - timedelta(days=1) else visitors + 2
    return {"visitors": visitors, "visits": visits, "passersby": 60 + i, "p50": 900.0 + 5 * i, "p90": 2400.0}


def true_hourly(store: str, day: date, hour: int) -> tuple[int, int, int]:
    """arrivals, visitors present, passers-by in the local hour."""
    i = (day - FIRST).days
    opening, closing = (9, 20) if store == "north" else (8, 18)
    if store == "north" and day == D and NORTH_GAP[0] <= hour < NORTH_GAP[1]:
        return 0, 0, 0  # the sensor was down: the pipeline saw nobody
    if not opening <= hour < closing:
        return 0, 0, 1
    arrivals = 2 + (hour * 3 + i) % 9 if store == "north" else 1 + (hour + i) % 7
    return arrivals, arrivals + 2, 10 + hour


DWELL = {"north": (0, 40, 50, 30, 2), "south": (0, 8, 6, 3, 0)}  # per day, by bucket


def true_present(store: str, local: datetime) -> int:
    if store == "north":
        if local.hour in range(*NORTH_GAP):
            return 0
        if (local.hour, local.minute) == (12, 30):
            return 31  # the peak
        return 6 + local.minute // 10 if 9 <= local.hour < 20 else 0
    return 5 if 8 <= local.hour < 18 else 0


def daily_dates(store: str) -> list[date]:
    days = [FIRST + timedelta(days=n) for n in range((D - FIRST).days + 1)]
    return [d for d in days if not (store == "north" and d == NORTH_MISSING_DAY)]


def write_scenario(data: Path, k: int) -> None:
    for store, zone in ZONES.items():
        for day in daily_dates(store):
            t = true_daily(store, day)
            daily = mb.daily_row(t["visitors"], t["visits"], t["passersby"], t["p50"], t["p90"], k)
            mb.write(data, "daily", store, day, [daily])
            mb.write(data, "hourly", store, day, [mb.hourly_row(h, *true_hourly(store, day, h), k) for h in range(24)])
            buckets = zip(("<5m", "5-20m", "20-60m", "1-6h", "6h+"), DWELL[store], strict=True)
            dwell = [{"bucket": b, "visits": mb.shown(n, k), "suppressed": mb.hidden(n, k)} for b, n in buckets]
            mb.write(data, "dwell", store, day, dwell)
        midnight = datetime.combine(D, time(0), ZoneInfo(zone))
        mb.write(
            data,
            "occupancy",
            store,
            D,
            [occupancy_row(store, midnight + timedelta(minutes=5 * n), k) for n in range(288)],
        )
        mb.write(data, "sensor_health", store, D, sensor_rows(store, midnight))


def occupancy_row(store: str, local: datetime, k: int) -> dict:
    present = true_present(store, local)
    shown, hidden = mb.shown(present, k), mb.hidden(present, k)
    return {"ts": local.astimezone(UTC), "present": shown, "suppressed": hidden, "estimated": True}


def sensor_rows(store: str, midnight: datetime) -> list[dict]:
    """A heartbeat each minute the sensor heard something (40 frames; minute 7 of each
    hour only 3, below k: a row still, so heard); none in north's gap."""
    sensor, hours = ("door", NORTH_SENSOR_HOURS) if store == "north" else ("s1", range(6, 22))
    rows = []
    for hour in hours:
        for minute in range(60):
            quiet = minute == 7
            at = (midnight + timedelta(hours=hour, minutes=minute)).astimezone(UTC)
            frames, probes = (None, None) if quiet else (40, 9)
            rows.append(
                {
                    "sensor": sensor,
                    "minute": at,
                    "frames": frames,
                    "probes": probes,
                    "suppressed": quiet,
                    "continuous": True,  # a running collector: a minute without a row is an outage
                }
            )
    return rows


def use_scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, k: int) -> int:
    (tmp_path / "footfall.toml").write_text(CONFIG.format(k=k))
    write_scenario(tmp_path / "data", k)
    monkeypatch.setenv("FOOTFALL_CONFIG", str(tmp_path / "footfall.toml"))
    monkeypatch.setenv("FOOTFALL_DASHBOARD_DATA", str(tmp_path / "data"))
    return k


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    return use_scenario(tmp_path, monkeypatch, 5)


@pytest.fixture
def scenario_k3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    return use_scenario(tmp_path, monkeypatch, 3)


# --- driving the app ---------------------------------------------------------------------


def open_page(page: str, stores: list[str] | None = None, dates: tuple[date, date] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    if stores is not None:
        at.multiselect(key="stores").set_value(stores).run()
    if dates is not None:
        at.date_input(key="dates").set_value(dates).run()
    if page != "overview":
        at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest, occurrence: int = 0) -> dict[str, tuple[str, str | None]]:
    """label -> (value, delta) of the metrics on the page; a page that shows the same
    figures for two days (the overview) has them twice: occurrence 1 is the second."""
    seen: dict[str, int] = {}
    found = {}
    for m in at.metric:
        if seen.get(m.label, 0) == occurrence:
            found[m.label] = (m.value, m.delta or None)
        seen[m.label] = seen.get(m.label, 0) + 1
    return found


def table(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first dataframe on the page that has these columns."""
    for frame in at.dataframe:
        if set(columns) <= set(frame.value.columns):
            return frame.value
    raise AssertionError(f"no table with {columns}: {[list(f.value.columns) for f in at.dataframe]}")


def chart_rows(at: AppTest, column: str) -> pd.DataFrame:
    """The data behind the first chart on the page that has this column."""
    for element in at.get("vega_lite_chart"):
        for dataset in element.proto.datasets:
            frame = pa.ipc.open_stream(io.BytesIO(dataset.data.data)).read_all().to_pandas()
            if column in frame.columns:
                return frame
    raise AssertionError(f"no chart with a {column!r} column")


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info") for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


# --- expected figures, from the true counts ------------------------------------------------


def published(n: int, k: int) -> int | None:
    return None if mb.hidden(n, k) else n


def count_text(values: list[int | None], k: int) -> str:
    """What a total of published/suppressed counts reads: exact, a range, or < n."""
    known = sum(v for v in values if v is not None)
    hidden = sum(v is None for v in values)
    if not hidden:
        return f"{known:,}"
    top = known + hidden * (k - 1)
    return f"< {top + 1:,}" if known == 0 else f"{known:,}{DASH}{top:,}"


def minutes_text(seconds: float) -> str:
    m = round(seconds / 60)
    return f"{m} min" if m < 60 else f"{m // 60} h {m % 60:02d} min"


def change_text(current: float, reference: float) -> str:
    return f"{(current - reference) / reference:+.0%}"


@dataclass
class Day:
    visitors: list[int | None]
    visits: list[int | None]
    passersby: list[int | None]
    p50: list[tuple[float, int]]  # (median, visits) of the stores that publish it
    rate_parts: tuple[int, int]  # visitors, passers-by over the stores that publish both


def expected_day(stores: list[str], day: date, k: int) -> Day | None:
    present = [s for s in stores if day in daily_dates(s)]
    if not present:
        return None
    truths = [true_daily(s, day) for s in present]
    both = [t for t in truths if not (mb.hidden(t["visitors"], k) or mb.hidden(t["passersby"], k))]
    return Day(
        visitors=[published(t["visitors"], k) for t in truths],
        visits=[published(t["visits"], k) for t in truths],
        passersby=[published(t["passersby"], k) for t in truths],
        p50=[(t["p50"], t["visits"]) for t in truths if not mb.hidden(t["visits"], k)],
        rate_parts=(sum(t["visitors"] for t in both), sum(t["passersby"] for t in both)),
    )


# --- overview ------------------------------------------------------------------------------


@pytest.mark.parametrize("stores", [["north", "south"], ["north"]], ids=["both stores", "north"])
def test_overview_headline_figures_and_same_weekday_comparison(scenario: int, stores: list[str]) -> None:
    k = scenario
    at = open_page("overview", stores=stores if stores != ["north", "south"] else None)
    shown = metrics(at)  # the day looked at (D) comes first, then the day before
    day = expected_day(stores, D, k)
    assert day is not None
    earlier = [expected_day(stores, D - timedelta(weeks=w), k) for w in range(1, 5)]
    reference = mean(sum(e.visitors) for e in earlier if e is not None and None not in e.visitors)
    against = "vs the average of 4 previous Fridays"  # the deltas say what they compare against
    assert shown["Visitors"] == (count_text(day.visitors, k), f"{change_text(sum(day.visitors), reference)} {against}")
    assert shown["Visits"][0] == count_text(day.visits, k)
    assert shown["Passers-by"][0] == count_text(day.passersby, k)
    rate = day.rate_parts[0] / sum(day.rate_parts)
    earlier_rates = [e.rate_parts[0] / sum(e.rate_parts) for e in earlier if e is not None]
    assert shown["Capture rate"] == (
        f"{rate * 100:.0f}%",
        f"{(rate - mean(earlier_rates)) * 100:+.1f} pts {against}",
    )
    weighted = sum(p * v for p, v in day.p50) / sum(v for _, v in day.p50)
    assert shown["Median dwell"][0] == minutes_text(weighted)
    assert "Friday 17 May 2024" in texts(at) and "Thursday 16 May 2024" in texts(at)


def test_overview_shows_suppressed_counts_as_below_k_and_totals_as_ranges(scenario: int) -> None:
    """On D-1 south has 2 visitors and 4 visits: below k, they are "< k", never 0 or
    blank; with north added the total is the range it must lie in."""
    k = scenario
    thursday = D - timedelta(days=1)
    south = open_page("overview", stores=["south"])
    values = [m.value for m in south.metric]
    assert len(values) == 12, "six figures for each of the two days"
    thursday_figures = {label: value for label, (value, _) in metrics(south, occurrence=1).items()}
    assert thursday_figures["Visitors"] == f"< {k}"
    assert thursday_figures["Visits"] == f"< {k}"
    assert thursday_figures["Capture rate"] == f"too few (< {k})"
    assert thursday_figures["Median dwell"] == f"too few (< {k})"
    assert thursday_figures["Passers-by"] == f"{true_daily('south', thursday)['passersby']:,}"
    assert not any(v in ("0", "", "None", "nan") for v in values)

    both = open_page("overview")
    north = true_daily("north", thursday)["visitors"]
    assert metrics(both, occurrence=1)["Visitors"][0] == f"{north:,}{DASH}{north + k - 1:,}"


def test_the_configured_k_is_the_one_shown(scenario_k3: int) -> None:
    at = open_page("overview", stores=["south"])
    thursday = metrics(at, occurrence=1)
    assert thursday["Visitors"][0] == "< 3"  # 2 visitors on D-1
    assert thursday["Visits"][0] == "4", "4 visits are published when k = 3"


@pytest.mark.parametrize(("published_with", "configured", "visitors"), [(1, 5, "< 5"), (5, 1, "suppressed")])
def test_marts_published_with_another_k(
    published_with: int, configured: int, visitors: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The k in force now rules: a count the marts show (k was 1 then) is hidden when
    it is below today's k; a count hidden then is never shown as 0 with k = 1 now."""
    use_scenario(tmp_path, monkeypatch, published_with)
    (tmp_path / "footfall.toml").write_text(CONFIG.format(k=configured))
    thursday = metrics(open_page("overview", stores=["south"]), occurrence=1)
    assert thursday["Visitors"][0] == visitors  # 2 visitors on D-1
    assert thursday["Visits"][0] == visitors  # and 4 visits
    assert thursday["Passers-by"][0] == f"{true_daily('south', D - timedelta(days=1))['passersby']:,}"


def test_with_k_1_a_true_zero_reads_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """k = 1 suppresses nothing (the pipeline's rule, 00_macros.sql): the zero visits of
    the "<5m" bucket and of a closed hour are published as 0 and read 0, never
    "suppressed" (the dashboard's own `< k` rule hid them)."""
    use_scenario(tmp_path, monkeypatch, 1)
    dwell = table(open_page("dwell", stores=["south"]), "length of stay", "visits (range)").set_index("length of stay")
    assert DWELL["south"][0] == 0 and dwell.loc["<5m", "visits (range)"] == "0"
    hourly = table(open_page("hourly", stores=["south"]), "hour", "arrivals").set_index("hour")
    assert true_hourly("south", D, 6)[0] == 0 and hourly.loc[f"06:00{DASH}07:00", "arrivals"] == "0", "sensor up"


def test_a_day_without_marts_is_no_data_not_zero(scenario: int) -> None:
    k = scenario
    at = open_page("overview", stores=["north"])
    bars = chart_rows(at, "state").set_index("day")
    missing = f"{NORTH_MISSING_DAY:%a %-d %b}"
    assert bars.loc[missing, "state"] == "no data" and bars.loc[missing, "shown"] == "no data"
    for day in [D - timedelta(days=n) for n in range(7)]:
        if day != NORTH_MISSING_DAY:
            assert bars.loc[f"{day:%a %-d %b}", "shown"] == f"{true_daily('north', day)['visitors']:,}"
    assert k == 5


def test_a_total_over_stores_says_when_a_store_has_no_data(scenario: int) -> None:
    """North has no marts on NORTH_MISSING_DAY: the total of both stores is south's
    alone; the page says so, compares it with south's own earlier days (not with both
    stores' totals, which would read as a drop), and flags the day in the chart."""
    at = open_page("overview", dates=(NORTH_MISSING_DAY - timedelta(days=6), NORTH_MISSING_DAY))
    warnings = [w.value for w in at.warning]
    assert any("no data from north" in w and "no data is not zero" in w for w in warnings), warnings
    south = true_daily("south", NORTH_MISSING_DAY)["visitors"]
    earlier = [true_daily("south", NORTH_MISSING_DAY - timedelta(weeks=w))["visitors"] for w in range(1, 5)]
    value, delta = metrics(at)["Visitors"]
    assert value == f"{south:,}"
    weekday = f"{NORTH_MISSING_DAY:%A}"
    assert delta == f"{change_text(south, mean(earlier))} vs the average of 4 previous {weekday}s", "south vs south"
    both = open_page("overview", dates=(NORTH_MISSING_DAY - timedelta(days=3), NORTH_MISSING_DAY + timedelta(days=3)))
    bars = chart_rows(both, "state").set_index("day")
    flagged = bars.loc[f"{NORTH_MISSING_DAY:%a %-d %b}"]
    assert flagged["state"] == "some stores without data" and flagged["note"] == "no data from north"
    assert flagged["height"] == south, "the other store's total, drawn as what it is"
    assert (bars.drop(f"{NORTH_MISSING_DAY:%a %-d %b}")["state"] != "some stores without data").all()
    complete = open_page("overview", dates=(D - timedelta(days=6), D))
    assert not any("no data from" in w.value for w in complete.warning)


# --- hourly --------------------------------------------------------------------------------


def test_hourly_views_default_to_the_opening_hours(scenario: int) -> None:
    """North opens 09:00-20:00; south sets no hours: all 24 (and the page says why)."""
    north = open_page("hourly", stores=["north"])
    hours = table(north, "hour", "arrivals")["hour"].tolist()
    assert hours == [f"{h:02d}:00{DASH}{h + 1:02d}:00" for h in range(9, 20)]
    assert sorted(chart_rows(north, "state")["hour"]) == list(range(9, 20))
    assert set(chart_rows(north, "mean_arrivals")["hour"]) == set(range(9, 20)), "the heat map too"
    rates = open_page("capture_rate", stores=["north"])
    assert sorted(chart_rows(rates, "state")["hour"]) == list(range(9, 20)), "and the capture rate by hour"
    south = open_page("hourly", stores=["south"])
    assert len(table(south, "hour", "arrivals")) == 24 and "set opening_hours" in texts(south)


def all_hours(at: AppTest) -> AppTest:
    """The hourly page with every hour, not only the opening hours (when it has the choice)."""
    if any(toggle.key == "hourly_all_hours" for toggle in at.toggle):
        at.toggle(key="hourly_all_hours").set_value(True).run()
    assert not at.exception
    return at


def test_hourly_figures_and_the_sensor_gap(scenario: int) -> None:
    k = scenario
    at = all_hours(open_page("hourly", stores=["north"]))
    rows = table(at, "hour", "arrivals").set_index("hour")
    assert len(rows) == 24
    for hour in range(24):
        label = f"{hour:02d}:00{DASH}{(hour + 1) % 24:02d}:00"
        arrivals, visitors, passersby = true_hourly("north", D, hour)
        if hour not in NORTH_SENSOR_HOURS:
            assert rows.loc[label].tolist()[:4] == ["no data"] * 4, "no sensor heard: no data, never 0 or < k"
            continue
        assert rows.loc[label, "arrivals"] == (f"< {k}" if mb.hidden(arrivals, k) else f"{arrivals:,}")
        assert rows.loc[label, "visitors present"] == (f"< {k}" if mb.hidden(visitors, k) else f"{visitors:,}")
        assert rows.loc[label, "passers-by"] == (f"< {k}" if mb.hidden(passersby, k) else f"{passersby:,}")
        if not (mb.hidden(arrivals, k) or mb.hidden(passersby, k)):
            assert rows.loc[label, "capture rate"] == f"{arrivals / (arrivals + passersby) * 100:.0f}%"
    bars = chart_rows(at, "state").set_index("hour")
    assert bars.loc[14, "state"] == bars.loc[15, "state"] == bars.loc[3, "state"] == "no data"
    closed = bars.loc[8]  # sensor up, store closed: 0 arrivals, published as below k
    assert closed["state"] == "below k" and closed["shown"] == f"< {k}"
    assert pd.isna(closed["height"]) and pd.isna(closed["high"]), "a hidden count is never drawn as a value"
    assert rows.loc[f"08:00{DASH}09:00", "arrivals"] == f"< {k}"


def test_weekday_hour_heat_map_is_the_mean_per_weekday(scenario: int) -> None:
    k = scenario
    start = D - timedelta(days=13)  # two of each weekday
    at = open_page("hourly", dates=(start, D))
    cells = chart_rows(at, "mean_arrivals").set_index(["weekday_name", "hour"])
    days = [start + timedelta(days=n) for n in range(14)]
    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    checked = 0
    for weekday in range(7):
        for hour in range(24):
            totals, complete = [], 0
            for day in (d for d in days if d.weekday() == weekday):
                if not all(day in daily_dates(s) for s in ZONES):
                    continue  # a store without data that day: left out, never averaged in as quiet
                complete += 1
                parts = [true_hourly(s, day, hour)[0] for s in ZONES]
                if not any(mb.hidden(p, k) for p in parts):
                    totals.append(sum(parts))
            cell = cells.loc[(names[weekday], hour)]
            if totals:
                assert cell["mean_arrivals"] == pytest.approx(mean(totals)), (weekday, hour)
                assert cell["state"] == "count"
                checked += 1
            elif complete:
                assert pd.isna(cell["mean_arrivals"]) and cell["shown"] == f"< {k}" and cell["state"] == "below k"
            else:
                assert cell["state"] == "no data" and cell["shown"] == "no data", "no data looks unlike < k"
    assert checked > 20
    assert "Left out, a store had no data: " + f"{NORTH_MISSING_DAY:%a %-d %b}" in texts(at)
    spec = next(e for e in at.get("vega_lite_chart") if "mean_arrivals" in e.proto.spec)
    assert '"domainMin": 0' in spec.proto.spec, "the colour scale starts at 0"


# --- dwell, capture rate ----------------------------------------------------------------------


def test_dwell_buckets_median_and_p90(scenario: int) -> None:
    k = scenario
    start = D - timedelta(days=6)
    at = open_page("dwell", stores=["south"], dates=(start, D))
    rows = table(at, "length of stay", "visits (range)").set_index("length of stay")
    for bucket, per_day in zip(("<5m", "5-20m", "20-60m", "1-6h", "6h+"), DWELL["south"], strict=True):
        assert rows.loc[bucket, "visits (range)"] == count_text([published(per_day, k)] * 7, k)
    assert rows.loc["<5m", "visits (range)"] == f"< {7 * (k - 1) + 1}", "7 hidden zeros: below 29"
    assert rows.loc["5-20m", "visits (range)"] == f"{8 * 7:,}"
    shown = metrics(at)
    today = true_daily("south", D)
    assert shown["Median dwell"][0] == minutes_text(today["p50"])
    assert shown["90th percentile dwell"][0] == minutes_text(today["p90"])
    days = [start + timedelta(days=n) for n in range(7)]
    published_days = [true_daily("south", d) for d in days if not mb.hidden(true_daily("south", d)["visits"], k)]
    typical = sum(t["p50"] * t["visits"] for t in published_days) / sum(t["visits"] for t in published_days)
    assert shown["Median dwell (typical day)"][0] == minutes_text(typical)


def test_capture_rate_of_the_day_and_the_range(scenario: int) -> None:
    k = scenario
    start = D - timedelta(days=6)
    at = open_page("capture_rate", dates=(start, D))
    shown = metrics(at)
    day = expected_day(["north", "south"], D, k)
    assert day is not None
    assert shown["Capture rate, Fri 17 May"][0] == f"{day.rate_parts[0] / sum(day.rate_parts) * 100:.0f}%"
    parts = [expected_day(["north", "south"], start + timedelta(days=n), k) for n in range(7)]
    visitors = sum(p.rate_parts[0] for p in parts if p)
    passersby = sum(p.rate_parts[1] for p in parts if p)
    assert shown["Capture rate, 7 days"][0] == f"{visitors / (visitors + passersby) * 100:.0f}%"
    all_visitors = [v for p in parts if p for v in p.visitors]
    assert shown["Visitors"][0] == count_text(all_visitors, k)
    assert DASH in shown["Visitors"][0], "south's suppressed Thursday makes it a range"


# --- occupancy, stores, sensor health -------------------------------------------------------------


def test_occupancy_peak_by_the_store_clock(scenario: int) -> None:
    k = scenario
    at = open_page("occupancy", stores=["north"])
    shown = metrics(at)
    assert shown["Peak"][0] == "31" and shown["Time of peak"][0] == "12:30", "north's own clock (Prague)"
    line = chart_rows(at, "present")
    by_time = dict(zip(line["time"], line["state"], strict=True))
    assert by_time["14:30"] == by_time["03:00"] == "no data", "no sensor heard: no data"
    assert by_time["07:30"] == "below k" and by_time["10:00"] == "count"
    assert k == 5


def test_stores_side_by_side(scenario: int) -> None:
    k = scenario
    start = D - timedelta(days=6)
    at = open_page("stores", dates=(start, D))
    rows = table(at, "store", "visitors").set_index("store")
    days = [start + timedelta(days=n) for n in range(7)]
    previous = [start - timedelta(days=n) for n in range(1, 8)]
    for store in ZONES:
        mine = [d for d in days if d in daily_dates(store)]
        values = [published(true_daily(store, d)["visitors"], k) for d in mine]
        assert rows.loc[store, "visitors"] == count_text(values, k)
        assert rows.loc[store, "days with data"] == f"{len(mine)} of 7"
    # issue 13: north misses a day of the range; its total fell by that day's visitors, and the page said
    # "-12 %". Periods compare per day with data: 6 days now against 7 before.
    now_days = [d for d in days if d in daily_dates("north")]
    north_now = sum(true_daily("north", d)["visitors"] for d in now_days) / len(now_days)
    north_before = sum(true_daily("north", d)["visitors"] for d in previous) / len(previous)
    assert len(now_days) == 6
    assert rows.loc["north", "vs previous period, per day"] == (
        f"{change_text(north_now, north_before)} (6 vs 7 days with data)"
    )
    whole = sum(true_daily("north", d)["visitors"] for d in now_days) * 7 / 6  # not the naive totals' change
    assert change_text(whole / 7, north_before) == change_text(north_now, north_before)
    assert list(rows.index) == ["north", "south"], "sorted by visitors"
    assert any("north: data on fewer than the 7 days" in w.value for w in at.warning)


def test_sensor_health_shows_gaps_as_no_data(scenario: int) -> None:
    at = open_page("sensor_health", stores=["north"])
    gaps = table(at, "from", "to", "no data for")
    door = gaps[gaps["sensor"] == "door"]
    # north's door is heard 07:00-21:00 local except 14:00-16:00
    assert door[["from", "to", "no data for"]].values.tolist() == [
        ["00:00", "07:00", "7 h 00 min"],
        ["14:00", "16:00", "2 h 00 min"],
        ["21:00", "00:00", "3 h 00 min"],
    ]
    assert set(door["why"]) == {"no heartbeat (down)"}, "a continuous sensor: every silence is an outage"
    back = gaps[gaps["sensor"] == "back"]
    assert back["no data for"].tolist() == ["the whole day"], "a configured sensor never heard"
    coverage = table(at, "sensor", "minutes heard").set_index("sensor")
    heard = (21 - 7 - 2) * 60
    assert coverage.loc["door", "minutes heard"] == f"{heard:,}"
    assert coverage.loc["door", "covered"] == f"12 h 00 min ({heard / (7 * 1440) * 100:.0f}% of the time)"
    assert coverage.loc["back", "covered"] == "no data"
    ticks = chart_rows(at, "level")
    assert len(ticks) == heard and (ticks["shown"] == "< 5").sum() == 12, "minutes below k are heard, shown < k"


def test_quiet_minutes_inside_a_capture_are_not_outages(scenario: int, tmp_path: Path) -> None:
    """Issue 13: north's sensor collected from capture files (not continuous): its silent
    14:00-16:00 inside the capture is quiet, not "sensor down"; only the time before its
    first and after its last minute is no data. Hours, coverage and gaps say so."""
    for file in (tmp_path / "data" / "marts" / "sensor_health" / "store=north").rglob("*.parquet"):
        table_ = pq.read_table(file)
        flags = pa.array([False] * table_.num_rows)
        pq.write_table(table_.set_column(table_.schema.get_field_index("continuous"), "continuous", flags), file)
    at = open_page("sensor_health", stores=["north"])
    gaps = table(at, "from", "to", "no data for")
    door = gaps[gaps["sensor"] == "door"]
    assert door[["from", "to", "why"]].values.tolist() == [
        ["00:00", "07:00", "outside the capture"],
        ["21:00", "00:00", "outside the capture"],
    ], "14:00-16:00 lies inside the capture"
    assert "120 quiet minutes in which no frame was heard" in texts(at)
    coverage = table(at, "sensor", "covered").set_index("sensor")
    span = (21 - 7) * 60  # 07:00 to 21:00, quiet minutes included
    assert coverage.loc["door", "covered"] == f"14 h 00 min ({span / (7 * 1440) * 100:.0f}% of the time)"
    hourly = all_hours(open_page("hourly", stores=["north"]))
    rows = table(hourly, "hour", "arrivals").set_index("hour")
    assert rows.loc[f"14:00{DASH}15:00", "arrivals"] == "< 5", "covered, and nobody came: not no data"
    assert rows.loc[f"03:00{DASH}04:00", "arrivals"] == "no data", "outside the capture"
    stores = table(open_page("stores", stores=["north"]), "store", "sensor coverage").set_index("store")
    week = [D - timedelta(days=n) for n in range(7)]
    assert stores.loc["north", "sensor coverage"] == f"{span / (2 * 7 * 1440) * 100:.0f}%", (
        "one sensor's span on the one day it has heartbeats, of two sensors over a week"
    )
    assert len(week) == 7


# --- privacy -------------------------------------------------------------------------------

PRIVACY_CONFIG = """
[privacy]
epoch = "week"
k = 7
salt_grace_hours = 3

[retention]
sightings = 2
visits = 14
marts = 0
"""


def test_privacy_page_shows_the_settings_in_force(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From the configuration file and the opt-out list, even before there is any data."""
    (tmp_path / "footfall.toml").write_text(PRIVACY_CONFIG)
    done = run_footfall("optout", "add", "02:00:00:00:00:01", "02:00:00:00:00:02", cwd=tmp_path)
    assert done.returncode == 0, done.output
    monkeypatch.setenv("FOOTFALL_CONFIG", str(tmp_path / "footfall.toml"))
    monkeypatch.setenv("FOOTFALL_DASHBOARD_DATA", str(tmp_path / "data"))
    at = open_page("privacy")
    shown = {label: value for label, (value, _) in metrics(at).items()}
    assert shown == {
        "k: smallest published count": "7",
        "Salt epoch": "week",
        "Salts alive": "0",
        "Opt-out entries": "2",
        "Retention: sightings": "2 days",
        "Retention: visits": "14 days",
        "Retention: marts": "for ever",
        "Last salt destruction": "never",
    }
    words = texts(at)
    assert str(tmp_path / "footfall.toml") in words
    assert "suppress every count below 7" in words and "2 device(s) have opted out" in words
    assert "No data yet" not in words


def test_privacy_page_is_the_privacy_report(demo_outputs: Collected, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page renders footfall.privacy.report for the configuration in force; its salt
    count is the salt files on disk."""
    from footfall.privacy import report

    monkeypatch.setenv("FOOTFALL_DASHBOARD_DATA", str(demo_outputs.data))
    monkeypatch.delenv("FOOTFALL_CONFIG", raising=False)
    monkeypatch.chdir(demo_outputs.workspace)
    at = open_page("privacy")
    salts = list((demo_outputs.workspace / "secrets" / "salts").rglob("*.salt"))
    assert metrics(at)["Salts alive"][0] == str(len(salts)) and salts
    page = next(m.value for m in at.markdown if m.value.startswith("# Privacy report"))
    expected = report.render_markdown(report.build_report(load_settings(None, demo_outputs.data)))
    assert page.splitlines()[1:] == expected.splitlines()[1:], "the same report (bar its time stamp)"


# --- empty state, schemas -----------------------------------------------------------------


PAGES = ["overview", "hourly", "dwell", "capture_rate", "occupancy", "stores", "sensor_health"]


@pytest.mark.parametrize("page", PAGES)
def test_empty_state_tells_a_new_user_what_to_do(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOOTFALL_DASHBOARD_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("FOOTFALL_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    at = open_page(page)
    words = texts(at)
    assert "No data yet" in words
    assert "footfall collect" in words and "footfall run" in words and str(tmp_path / "data" / "marts") in words
    assert not at.metric and not at.dataframe
    assert [w.value for w in at.warning] == [f"No data folder at {tmp_path / 'data'}: nothing to show (see --data)."]


def test_a_damaged_mart_file_is_named_and_the_rest_shown(scenario: int, tmp_path: Path) -> None:
    broken = tmp_path / "data" / "marts" / "daily" / "store=south" / f"date={D}" / "part-0.parquet"
    broken.write_bytes(b"PAR1 truncated")
    at = open_page("overview")
    assert str(broken) in at.warning[0].value and "footfall run" in at.warning[0].value
    north = true_daily("north", D)["visitors"]
    assert metrics(at)["Visitors"][0] == f"{north:,}", "south's damaged day is left out, north still shown"


def test_a_bad_configuration_is_one_line_on_the_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "footfall.toml").write_text("[privacy]\nk = 0\n")
    monkeypatch.setenv("FOOTFALL_CONFIG", str(tmp_path / "footfall.toml"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "privacy.k" in at.error[0].value


def test_the_builder_writes_the_pipelines_mart_schemas(tmp_path: Path) -> None:
    """So the small marts of these tests are the marts the app meets in practice."""
    (tmp_path / "footfall.toml").write_text('[privacy]\nk = 1\n[stores.shop]\ntimezone = "Europe/Prague"\n')
    folder = tmp_path / "data" / "heartbeats" / "store=shop" / f"date={D}"
    folder.mkdir(parents=True)
    minute = datetime.combine(D, time(10), ZoneInfo("Europe/Prague")).astimezone(UTC)
    pq.write_table(
        pa.table({"minute": [minute], "sensor": ["s1"], "frames": [120], "probes": [0]}), folder / "p.parquet"
    )
    settings = load_settings(tmp_path / "footfall.toml")
    assert not runner.run(settings, runner.plan(settings)).errors
    for mart, schema in mb.SCHEMAS.items():
        (written,) = (tmp_path / "data" / "marts" / mart).rglob("*.parquet")
        assert pq.read_schema(written).remove_metadata().equals(schema), mart


def test_chart_rows_reads_the_data_behind_a_chart(scenario: int) -> None:
    """The helper above must read real chart data (so the chart checks can fail)."""
    at = open_page("overview", stores=["north"])
    rows = chart_rows(at, "state")
    assert json.loads(rows.to_json())  # a real frame
    assert set(rows["state"]) >= {"count", "no data"}
