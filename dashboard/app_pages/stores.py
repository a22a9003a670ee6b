"""Stores: the selected stores side by side over the range, with the change against
the period of the same length just before, and how much of the time their sensors heard."""

import pandas as pd
import streamlit as st

from footfall.dashboard import charts, display, figures, view

current, selection = view.require_data()
k = current.k
data = view.guard(lambda: current.marts.stores_compared(selection))

st.title("Stores compared")
st.caption(view.scope(current, selection))

stores = data.stores
if stores.empty:
    st.info("No store has figures in the selected range.")
    st.stop()

previous = data.previous.set_index("store")
range_days = len(selection.dates())
rows = []
for _, row in stores.iterrows():
    visitors = figures.count(row, "visitors", k)
    before = figures.count(previous.loc[row["store"]], "visitors", k) if row["store"] in previous.index else None
    sensor_minutes = row.get("sensor_minutes")
    uptime = (
        display.percent(float(sensor_minutes) / (int(row["sensors"]) * range_days * 1440))
        if not display.is_missing(sensor_minutes)
        else "no heartbeat recorded"
    )
    rows.append(
        {
            "store": row["store"],
            "days with data": f"{int(row['days'])} of {range_days}",
            "visitors": visitors.text,
            "per day": f"{visitors.value / int(row['days']):,.0f}" if visitors.value is not None else display.DASH,
            "visits": figures.count(row, "visits", k).text,
            "passers-by": figures.count(row, "passersby", k).text,
            "capture rate": figures.rate(row, k).text,
            "median dwell": figures.dwell(row, "dwell_p50_s", k).text,
            "vs previous period": (display.change(visitors.value, before.value) if before else None) or display.DASH,
            "sensors heard": uptime,
            "_order": figures.as_int(row["visitors"]),
        }
    )
table = pd.DataFrame(rows).sort_values(["_order", "store"], ascending=[False, True])
st.dataframe(table.drop(columns="_order"), hide_index=True, width="stretch")
st.caption(
    f"Visitors and visits are sums over the days; median dwell is the days' medians weighted by visits. "
    f"“vs previous period”: visitors against the {display.plural(range_days, 'day')} just before "
    f"({selection.previous().start:%-d %b}{display.DASH}{selection.previous().end:%-d %b}). "
    "“sensors heard”: the share of the minutes in which the store's sensors recorded a heartbeat."
)

st.subheader("Visitors per store")
bars = figures.bar_frame(stores, "store", "visitors", k)
order = list(table["store"])
st.altair_chart(charts.count_bars(bars, "store", "store", "visitors", k, sort=order), width="stretch")
view.suppression_note(k)
