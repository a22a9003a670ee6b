"""What a store manager sees at a glance is true (issue 13), on the scenario of
test_dashboard_app (two stores, north missing a day, small cells suppressed): a hidden
count is never drawn as a value, one date format on every day axis, a page says in one
line what it answers and never sends the manager to the README, dwell shares are of all
the visits, the visitors' estimate shows its range where the marts carry one (and not
where older marts do not), one suppression rule for every cell, and each page's CSV is
what the page shows."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import streamlit
from test_dashboard_app import (
    DASH,
    DWELL,
    PAGES,
    ZONES,
    D,
    all_hours,
    chart_rows,
    daily_dates,
    open_page,
    table,
    texts,
    true_daily,
    use_scenario,
)

from footfall.dashboard import charts, figures

import mart_builder as mb


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    return use_scenario(tmp_path, monkeypatch, 5)


CHARTED = {"overview": ["south"], "hourly": ["south"], "dwell": ["south"], "capture_rate": ["north"]}


@pytest.mark.parametrize("page", sorted(CHARTED))
def test_a_hidden_value_is_never_drawn_as_a_value(scenario: int, page: str) -> None:
    """Capture rate drew its "too few" hours at full height, dwell its "<5m" bucket (0 by
    definition) at k-1: now a hidden cell has no height, only its label on the baseline."""
    at = all_hours(open_page(page, stores=CHARTED[page], dates=(D - timedelta(days=6), D)))
    bars = chart_rows(at, "state")
    hidden = bars[bars["state"].isin(["below k", "no data"])]
    assert len(hidden), "the scenario has hidden cells on every page"
    assert hidden["height"].isna().all() and hidden["high"].isna().all(), hidden
    assert (hidden["shown"].str.startswith(("< ", "too few", "no data"))).all()
    shown = bars[bars["state"] == "count"]
    assert shown["height"].notna().all()
    spec = next(e.proto.spec for e in at.get("vega_lite_chart") if '"state"' in e.proto.spec)
    assert '"tick"' in spec and '"text"' in spec, "a marked cell with its label"


def test_a_total_with_hidden_parts_is_drawn_as_what_is_known_and_its_range(scenario: int) -> None:
    k = scenario
    at = open_page("stores", dates=(D - timedelta(days=6), D))
    bars = chart_rows(at, "state").set_index("store")
    south = [true_daily("south", D - timedelta(days=n))["visitors"] for n in range(7)]
    known = sum(v for v in south if not mb.hidden(v, k))
    assert bars.loc["south", "state"] == "some cells below k"
    assert (bars.loc["south", "height"], bars.loc["south", "high"]) == (known, known + k - 1)


def test_the_dwell_bucket_below_5m_is_a_label_not_a_bar(scenario: int) -> None:
    at = open_page("dwell", stores=["south"], dates=(D - timedelta(days=6), D))
    bars = chart_rows(at, "state").set_index("bucket")
    assert DWELL["south"][0] == 0 and bars.loc["<5m", "state"] == "below k" and pd.isna(bars.loc["<5m", "height"])


def test_dwell_shares_are_of_all_visits_and_hidden_buckets_are_ranges(scenario: int) -> None:
    """The buckets' shares added to 100 % while visits were left out: now each bucket is
    a share of all the visits of the daily mart, a hidden bucket's share a range."""
    k = scenario
    days = [D - timedelta(days=n) for n in range(7)]
    at = open_page("dwell", stores=["south"], dates=(days[-1], D))
    rows = table(at, "length of stay", "share of all visits").set_index("length of stay")
    visits = [true_daily("south", d)["visits"] for d in days]
    known = sum(v for v in visits if not mb.hidden(v, k))
    hidden_days = sum(mb.hidden(v, k) for v in visits)
    low_total, high_total = known, known + hidden_days * (k - 1)
    assert hidden_days == 1, "south's Thursday: 4 visits, below k"
    for bucket, per_day in zip(("5-20m", "20-60m"), DWELL["south"][1:3], strict=True):
        low, high = 7 * per_day / high_total, 7 * per_day / low_total  # the whole is itself a range
        one = round(low * 100) == round(high * 100)
        expected = f"{low * 100:.0f}%" if one else f"{low * 100:.0f}{DASH}{high * 100:.0f}%"
        assert rows.loc[bucket, "share of all visits"] == expected, bucket
    for bucket in ("<5m", "1-6h", "6h+"):  # below k on every day: 0 to 7 x (k - 1) visits
        assert rows.loc[bucket, "share of all visits"] == f"0{DASH}{7 * (k - 1) / low_total * 100:.0f}%", bucket
    published = 7 * sum(DWELL["south"][1:3]) / low_total
    assert published < 0.9, "the published buckets do not make up all the visits, and the shares say so"


def write_ranges(data: Path, k: int) -> None:
    """North's daily mart with a visitors range (the estimator's) on every day."""
    for day in daily_dates("north"):
        t = true_daily("north", day)
        row = mb.daily_row(
            t["visitors"], t["visits"], t["passersby"], t["p50"], t["p90"], k, (t["visitors"] - 10, t["visitors"] + 12)
        )
        mb.write(data, "daily", "north", day, [row])


def test_visitors_show_their_range_where_the_marts_carry_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    k = use_scenario(tmp_path, monkeypatch, 5)
    write_ranges(tmp_path / "data", k)
    north = true_daily("north", D)["visitors"]
    overview = open_page("overview", stores=["north"])
    value, _ = next((m.value, m.delta) for m in overview.metric if m.label == "Visitors")
    assert value == f"{north:,} ({north - 10:,}{DASH}{north + 12:,})"
    start = D - timedelta(days=6)
    stores = table(open_page("stores", stores=["north"], dates=(start, D)), "store", "visitors").set_index("store")
    days = [d for d in (start + timedelta(days=n) for n in range(7)) if d in daily_dates("north")]
    total = sum(true_daily("north", d)["visitors"] for d in days)
    assert stores.loc["north", "visitors"] == f"{total:,} ({total - 10 * len(days):,}{DASH}{total + 12 * len(days):,})"


def test_older_marts_without_the_range_read_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Marts written before visitors_low / visitors_high (and hourly's `estimated`, and
    sensor health's `continuous`) existed: the same figures, no range, nothing damaged."""
    use_scenario(tmp_path, monkeypatch, 5)
    newer = {"daily": ["visitors_low", "visitors_high"], "hourly": ["estimated"], "sensor_health": ["continuous"]}
    for mart, columns in newer.items():
        for file in (tmp_path / "data" / "marts" / mart).rglob("*.parquet"):
            pq.write_table(pq.read_table(file).drop(columns), file)
    at = open_page("overview", stores=["north"])
    assert not at.warning, [w.value for w in at.warning]
    value = next(m.value for m in at.metric if m.label == "Visitors")
    assert value == f"{true_daily('north', D)['visitors']:,}"
    for page in ("hourly", "sensor_health"):
        assert not open_page(page, stores=["north"]).warning


def test_every_day_axis_has_one_date_format(scenario: int) -> None:
    days = [D - timedelta(days=n) for n in range(6, -1, -1)]
    overview = chart_rows(open_page("overview", dates=(days[0], D)), "state")
    assert overview["day"].tolist() == [f"{d:%a %-d %b}" for d in days]
    for page in ("capture_rate", "dwell"):
        at = open_page(page, dates=(days[0], D))
        specs = [e.proto.spec for e in at.get("vega_lite_chart") if '"temporal"' in e.proto.spec]
        assert specs and all('"format": "%a %-d %b"' in spec for spec in specs), page


@pytest.mark.parametrize("page", [*PAGES, "privacy"])
def test_each_page_says_what_it_answers_and_never_points_to_the_readme(scenario: int, page: str) -> None:
    at = open_page(page)
    words = texts(at) + " ".join(str(c.value) for c in at.caption)
    assert "README" not in words
    first = at.markdown[0].value if at.markdown else ""
    assert 40 < len(first) < 240 and first.count(". ") <= 2, first


def test_with_k_1_no_cell_reads_below_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One suppression rule: marts published with k = 5 read with k = 1 now. A hidden cell
    cannot be bounded by "< 1": it reads "suppressed", on every page (the heat map and
    the sensor minutes had their own `< k`)."""
    use_scenario(tmp_path, monkeypatch, 5)
    (tmp_path / "footfall.toml").write_text((tmp_path / "footfall.toml").read_text().replace("k = 5", "k = 1"))
    heat = chart_rows(open_page("hourly", dates=(D - timedelta(days=13), D)), "mean_arrivals")
    ticks = chart_rows(open_page("sensor_health", stores=["north"]), "level")
    for frame in (heat, ticks):
        assert not frame["shown"].str.contains("< 1").any()
    assert (ticks["shown"] == "suppressed").sum() == 12


@pytest.mark.parametrize("page", [*PAGES, "privacy"])
def test_each_page_offers_a_csv_of_what_it_shows(scenario: int, page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    offered: list[tuple[str, bytes]] = []
    original = streamlit.download_button

    def recording(label, data, *args, **kwargs):
        offered.append((label, data if isinstance(data, bytes) else str(data).encode()))
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", recording)
    at = open_page(page, stores=["north", "south"] if page != "sensor_health" else ["north"])
    offered.clear()  # the runs before the page settled
    at.run()
    csvs = [
        pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False) for label, data in offered if "CSV" in label
    ]
    assert len(csvs) == 1, [label for label, _ in offered]
    (frame,) = csvs
    assert len(frame) > 0
    shown = [f.value for f in at.dataframe]
    for table_ in shown:  # every table on the page is in its CSV, cell for cell
        columns = [c for c in table_.columns if c in frame.columns]
        assert columns, list(table_.columns)
        rows = {tuple(r) for r in frame[columns].itertuples(index=False)}
        for row in table_[columns].astype(str).itertuples(index=False):
            assert tuple(row) in rows, (page, row)
    if page == "overview":
        day = frame.set_index("date").loc[f"{D:%a %-d %b %Y}"]
        assert day["Visitors"] == f"{sum(true_daily(s, D)['visitors'] for s in ZONES):,}"
        missing = frame.set_index("date").loc[f"{D - timedelta(days=3):%a %-d %b %Y}"]
        assert missing["note"] == "no data from north", "a day one store has no data is flagged in the CSV too"
    assert not any(v in ("nan", "None") for v in frame.astype(str).values.ravel()), "as shown, never raw"


def y_encodings(chart) -> list[dict]:
    """The y encoding of every layer of a chart (the axis the manager reads)."""
    return [layer["encoding"]["y"] for layer in chart.to_dict()["layer"] if "y" in layer.get("encoding", {})]


@pytest.mark.parametrize(
    ("arrivals", "top"),
    [([0, 3, 2], 5), ([0, 12, 40], 40)],  # every hour below k = 5; some hours published
    ids=["all hidden", "some shown"],
)
def test_every_bar_layer_reads_one_axis_from_0(arrivals: list[int], top: int) -> None:
    """The hidden marks and the no-data band sat on axes of their own fields: the y axis
    read "arrivals, zero, band" and, every hour hidden, had no height at all (0 to 0).
    Now every layer shares the title and a scale from 0 to the top (at least k)."""
    k = 5
    hours = pd.DataFrame({"hour": [9, 10, 11, 12], "arrivals": [mb.shown(a, k) for a in arrivals] + [None]})
    bars = figures.bar_frame(hours, "hour", "arrivals", k, no_data=pd.Series([False, False, False, True]))
    ys = y_encodings(charts.count_bars(bars, "hour", "hour (local)", "arrivals", k))
    assert len(ys) == 6
    assert {y["title"] for y in ys} == {"arrivals"}
    assert all(y["scale"]["domain"] == [0, top] for y in ys), ys
