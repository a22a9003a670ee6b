"""Hourly: the day looked at, hour by hour, and the busy hours of the range as a
weekday x hour heat map. An hour in which no sensor of a store heard anything is
"no data", not zero visitors."""

import pandas as pd
import streamlit as st

from footfall.dashboard import charts, display, figures, view

current, selection = view.require_data()
k = current.k
data = view.guard(lambda: current.marts.hourly(selection))

st.title("Hourly footfall")
st.caption(view.scope(current, selection))
st.subheader(f"{display.day_label(selection.day, current.today())}, hour by hour")

hours = data.day_hours
if hours.empty:
    st.info(f"No data for {selection.day:%A %-d %B %Y}: the pipeline has published nothing for this day.")
else:
    # an hour no selected store's sensors heard anything in, on a day they were running
    silent = (hours["stores_with_sensors"] > 0) & (hours["stores_heard"] == 0)
    partly = (hours["stores_heard"] > 0) & (hours["stores_heard"] < hours["stores_with_sensors"])
    bars = figures.bar_frame(hours, "hour", "arrivals", k, no_data=silent)
    st.altair_chart(charts.count_bars(bars, "hour", "hour (local)", "arrivals", k), width="stretch")

    def cell(row: pd.Series, name: str) -> str:
        return display.NO_DATA if row["silent"] else figures.count(row, name, k).text

    hours = hours.assign(silent=silent, partly=partly)
    table = pd.DataFrame(
        {
            "hour": [display.hours_range(int(h)) for h in hours["hour"]],
            "arrivals": [cell(r, "arrivals") for _, r in hours.iterrows()],
            "visitors present": [cell(r, "visitors") for _, r in hours.iterrows()],
            "passers-by": [cell(r, "passersby") for _, r in hours.iterrows()],
            "capture rate": [
                display.NO_DATA if r["silent"] else figures.rate(r, k, "rate_arrivals", "rate_passersby").text
                for _, r in hours.iterrows()
            ],
            "sensors": [
                display.NO_DATA
                if r["silent"]
                else f"{r['stores_heard']} of {r['stores_with_sensors']} stores heard"
                if r["partly"]
                else "ok"
                if r["stores_with_sensors"]
                else "no heartbeat recorded"
                for _, r in hours.iterrows()
            ],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(
        "Arrivals: visits that began in the hour. Visitors present: people with a visit overlapping the hour. "
        "Capture rate: arrivals / (arrivals + passers-by). “no data”: no sensor heard anything in that hour "
        "(down or out of range), which is not the same as nobody coming."
    )

st.subheader(f"Busy hours: weekday {display.TIMES} hour")
heat = data.heat
if heat.empty:
    st.info("No hourly figures in the selected range.")
else:
    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    heat = heat.assign(
        weekday_name=[names[int(d) - 1] for d in heat["weekday"]],
        hours=[display.hours_range(int(h)) for h in heat["hour"]],
        shown=[
            f"< {k}" if display.is_missing(mean) else f"{mean:,.1f}" for mean in heat["mean_arrivals"].astype("Float64")
        ],
    )
    st.altair_chart(charts.heat_map(heat, k), width="stretch")
    st.caption(
        f"Average arrivals per day in each hour over the {display.plural(len(selection.dates()), 'day')} selected "
        f"(all selected stores together). An hour that was below k = {k} on some days is averaged over the other days; "
        "grey: below k on every day."
    )
view.suppression_note(k)
