"""Dwell time: how long visitors stay, in the buckets of the dwell mart, with the
median and the 90th percentile of the day looked at and of the range."""

import pandas as pd
import streamlit as st

from footfall.dashboard import charts, display, figures, view
from footfall.dashboard.queries import BUCKETS

current, selection = view.require_data()
k = current.k
data = view.guard(lambda: current.marts.dwell(selection))
days = data.days.set_index("date")
today_row = days.loc[selection.day] if selection.day in days.index else None

st.title("Dwell time")
st.caption(view.scope(current, selection))


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
if buckets.empty:
    st.info("No dwell figures in the selected range.")
else:
    st.subheader("Visits by length of stay")
    bars = figures.bar_frame(buckets, "bucket", "visits", k)
    st.altair_chart(
        charts.count_bars(bars, "bucket", "length of stay", "visits", k, sort=list(BUCKETS)), width="stretch"
    )
    exact = buckets["visits_hidden"].eq(0)
    total = float(buckets.loc[exact, "visits"].sum())
    on_day = data.day_buckets.set_index("bucket")
    table = pd.DataFrame(
        {
            "length of stay": buckets["bucket"],
            "visits (range)": [figures.count(r, "visits", k).text for _, r in buckets.iterrows()],
            "share of visits": [
                display.percent(r["visits"] / total) if r["visits_hidden"] == 0 and total else display.DASH
                for _, r in buckets.iterrows()
            ],
            f"visits on {selection.day:%-d %b}": [
                figures.count(on_day.loc[b], "visits", k).text if b in on_day.index else display.NO_DATA
                for b in buckets["bucket"]
            ],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(
        "A stay shorter than the minimum visit (min_dwell_min, 5 min by default) makes a passer-by, not a visit, "
        "so “<5m” holds visits only when that minimum is lowered. Shares are of the buckets published exactly."
    )

if len(days) > 1:
    st.subheader("Median and 90th percentile, day by day")
    trend = days.reset_index()[["date", "dwell_p50_s", "dwell_p90_s"]].melt(
        id_vars="date", var_name="figure", value_name="seconds"
    )
    trend = trend[trend["seconds"].notna()].assign(
        minutes=lambda f: f["seconds"] / 60,
        figure=lambda f: f["figure"].map({"dwell_p50_s": "median", "dwell_p90_s": "90th percentile"}),
        shown=lambda f: [display.duration(s) for s in f["seconds"]],
        date=lambda f: pd.to_datetime(f["date"]),
    )
    st.altair_chart(charts.lines(trend, "date", "minutes", "figure", "day", "minutes"), width="stretch")
view.suppression_note(k)
