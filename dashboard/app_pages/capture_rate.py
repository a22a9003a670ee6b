"""Capture rate: how many of the people who came near the store came in,
visitors / (visitors + passers-by), on the day looked at, hour by hour and over the range."""

import pandas as pd
import streamlit as st

from footfall.dashboard import charts, display, figures, view

current, selection = view.require_data()
k = current.k
data = view.guard(lambda: current.marts.capture_rate(selection))
days = data.days.set_index("date")
day_row = days.loc[selection.day] if selection.day in days.index else None

st.title("Capture rate")
st.caption(view.scope(current, selection))

totals = (
    pd.Series(
        {
            "rows": int(days["rows"].sum()),
            **{c: days[c].sum() for c in ("visitors", "passersby", "rate_visitors", "rate_passersby")},
            **{c: int(days[c].sum()) for c in ("visitors_hidden", "passersby_hidden", "rate_hidden")},
        }
    )
    if len(days)
    else None
)
a, b, c, d = st.columns(4)
a.metric(f"Capture rate, {selection.day:%a %-d %b}", figures.rate(day_row, k).text)
b.metric(
    f"Capture rate, {display.plural(len(selection.dates()), 'day')}",
    figures.rate(totals, k).text,
    help="Over the days published exactly.",
)
c.metric("Visitors (range)", figures.count(totals, "visitors", k).text)
d.metric("Passers-by (range)", figures.count(totals, "passersby", k).text)

st.subheader(f"{display.day_label(selection.day, current.today())}, hour by hour")
hours = data.day_hours
if hours.empty:
    st.info(f"No data for {selection.day:%A %-d %B %Y}.")
else:
    silent = (hours["stores_with_sensors"] > 0) & (hours["stores_heard"] == 0)
    shown = [
        figures.Figure(display.NO_DATA, None) if quiet else figures.rate(r, k, "rate_arrivals", "rate_passersby")
        for quiet, (_, r) in zip(silent, hours.iterrows(), strict=True)
    ]
    rates = pd.DataFrame(
        {
            "hour": hours["hour"],
            "height": [f.value for f in shown],
            "shown": [f.text for f in shown],
            "state": [
                figures.NO_DATA if quiet else figures.SHOWN if f.known else figures.HIDDEN
                for quiet, f in zip(silent, shown, strict=True)
            ],
        }
    )
    top = rates["height"].max() if rates["height"].notna().any() else 1.0
    bars = rates.assign(height=rates["height"].where(rates["state"] == figures.SHOWN, top))
    st.altair_chart(
        charts.count_bars(bars, "hour", "hour (local)", "capture rate", k, y_format="%", hidden_label="too few"),
        width="stretch",
    )
    with st.expander("Hour by hour, as figures"):
        st.dataframe(
            pd.DataFrame(
                {"hour": [display.hours_range(int(h)) for h in rates["hour"]], "capture rate": rates["shown"]}
            ),
            hide_index=True,
            width="stretch",
        )

if len(selection.dates()) > 1 and len(days):
    st.subheader("Day by day")
    per_store = data.store_days
    several = 1 < len(selection.stores) <= 8
    source = per_store if several else days.reset_index()
    figures_of = [figures.rate(r, k) for _, r in source.iterrows()]
    trend = source.assign(rate=[f.value for f in figures_of], shown=[f.text for f in figures_of])
    trend = trend[trend["rate"].notna()].assign(date=lambda f: pd.to_datetime(f["date"]))
    st.altair_chart(
        charts.lines(trend, "date", "rate", "store" if several else None, "day", "capture rate", y_format="%"),
        width="stretch",
    )
st.caption(
    "Capture rate = visitors / (visitors + passers-by): passers-by are people heard only outside "
    "(signal below the store's threshold) or for less than the minimum visit. By the hour: arrivals / (arrivals + "
    "passers-by who passed in that hour)."
)
view.suppression_note(k)
