"""Dwell time: how long visitors stay, in the buckets of the dwell mart, with the
median and the 90th percentile of the day looked at and of the range. A bucket's
share is of all the visits (the daily mart's), so a hidden bucket is never left out
of the whole: its share is the range it lies in."""

import pandas as pd
import streamlit as st

from footfall.dashboard import charts, display, figures, view
from footfall.dashboard.queries import BUCKETS

current, selection = view.require_data()
k = current.k
data = view.guard(lambda: current.marts.dwell(selection))
days = data.days.set_index("date")
today_row = days.loc[selection.day] if selection.day in days.index else None
incomplete = view.incomplete_days(days, selection)

view.header(
    "Dwell time",
    "How long visitors stay: their visits by length of stay, the typical stay (median) and the long ones (the "
    "90th percentile: one visit in ten is longer).",
    current,
    selection,
)


def weighted(column: str) -> figures.Figure:
    """Over the range: the days' figures weighted by their visits (the medians of
    several days cannot be merged exactly; this is their visit-weighted mean)."""
    known = days[days[column].notna()]
    weights = known["visits"].astype("float64")
    if known.empty or weights.sum() == 0:
        return figures.Figure(f"too few (< {k})" if len(days) else display.NO_DATA, None)
    value = float((known[column] * weights).sum() / weights.sum())
    return figures.Figure(display.duration(value), value)


left, right = st.columns(2)
with left:
    st.markdown(f"**{display.day_label(selection.day, current.today())}**")
    a, b = st.columns(2)
    a.metric("Median dwell", figures.dwell(today_row, "dwell_p50_s", k).text)
    b.metric("90th percentile dwell", figures.dwell(today_row, "dwell_p90_s", k).text)
with right:
    st.markdown(f"**The {display.plural(len(selection.dates()), 'day')} selected**")
    a, b = st.columns(2)
    a.metric("Median dwell (typical day)", weighted("dwell_p50_s").text, help="Daily medians weighted by visits.")
    b.metric(
        "90th percentile (typical day)", weighted("dwell_p90_s").text, help="Daily 90th percentiles weighted by visits."
    )

buckets = data.buckets
table = pd.DataFrame()
if buckets.empty:
    st.info("No dwell figures in the selected range.")
else:
    st.subheader("Visits by length of stay")
    bars = figures.bar_frame(buckets, "bucket", "visits", k)
    st.altair_chart(
        charts.count_bars(bars, "bucket", "length of stay", "visits", k, sort=list(BUCKETS)), width="stretch"
    )
    # every visit of the range (the daily mart's), the whole the shares are of
    all_low, all_high = display.count_bounds(days["visits"].sum(), int(days["visits_hidden"].sum()), k)
    on_day = data.day_buckets.set_index("bucket")

    def share(row: pd.Series) -> str:
        low, high = display.count_bounds(row["visits"], row["visits_hidden"], k)
        if all_high == 0:
            return display.DASH
        return display.share_range(low / all_high, min(1.0, high / max(all_low, 1)))

    table = pd.DataFrame(
        {
            "length of stay": buckets["bucket"],
            "visits (range)": [figures.count(r, "visits", k).text for _, r in buckets.iterrows()],
            "share of all visits": [share(r) for _, r in buckets.iterrows()],
            f"visits on {display.day(selection.day)}": [
                figures.count(on_day.loc[b], "visits", k).text if b in on_day.index else display.NO_DATA
                for b in buckets["bucket"]
            ],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    shown_low = int(buckets.loc[buckets["visits_hidden"].eq(0), "visits"].sum())
    st.caption(
        f"Shares are of all {display.count(days['visits'].sum(), int(days['visits_hidden'].sum()), k)} visits of "
        f"the range; the buckets published exactly hold {shown_low:,} of them, the hidden ones the rest (each "
        "share a range then). A stay shorter than the minimum visit (min_dwell_min, 5 min by default) makes a "
        "passer-by, not a visit, so “<5m” holds visits only when that minimum is lowered."
    )

by_day = pd.DataFrame()
if len(days) > 1:
    st.subheader("Median and 90th percentile, day by day")
    trend = days.reset_index()[["date", "dwell_p50_s", "dwell_p90_s"]].melt(
        id_vars="date", var_name="figure", value_name="seconds"
    )
    trend = trend[trend["seconds"].notna()].assign(
        minutes=lambda f: f["seconds"] / 60,
        figure=lambda f: f["figure"].map({"dwell_p50_s": "median", "dwell_p90_s": "90th percentile"}),
        shown=lambda f: [display.duration(s) for s in f["seconds"]],
        note=lambda f: [incomplete.get(day, "") for day in f["date"]],
        date=lambda f: pd.to_datetime(f["date"]),
    )
    st.altair_chart(charts.lines(trend, "date", "minutes", "figure", "day", "minutes"), width="stretch")
    if incomplete:
        st.caption(f"Amber: some selected store has no data that day ({figures.dates_text(sorted(incomplete))}).")
    by_day = pd.DataFrame(
        [
            {
                "date": display.day_in_table(day),
                "median dwell": figures.dwell(row, "dwell_p50_s", k).text,
                "90th percentile dwell": figures.dwell(row, "dwell_p90_s", k).text,
                "note": incomplete.get(day, ""),
            }
            for day, row in days.iterrows()
        ]
    )
view.download(
    pd.concat([table.assign(section="by length of stay"), by_day.assign(section="day by day")], ignore_index=True),
    "dwell",
    selection,
)
view.suppression_note(k)
