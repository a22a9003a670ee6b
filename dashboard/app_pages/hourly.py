"""Hourly: the day looked at, hour by hour (the opening hours by default), and the busy
hours of the range as a weekday x hour heat map. An hour that no sensor of a store
covered is "no data", not zero visitors."""

import pandas as pd
import streamlit as st

from footfall.dashboard import charts, display, figures, view

current, selection = view.require_data()
k = current.k
data = view.guard(lambda: current.marts.hourly(selection))

view.header(
    "Hourly footfall",
    "When people came in and how many were in the store, hour by hour by the store's clock, and which hours of the "
    "week are usually busy.",
    current,
    selection,
)
shown_hours = view.hours_shown(current, selection, "hourly_all_hours")
st.subheader(f"{display.day_label(selection.day, current.today())}, hour by hour")

missing = figures.missing_stores(data.day_stores, selection.stores)
if missing:
    st.warning(f"{display.day(selection.day)}: {missing} (no data is not zero): the hours add up the other stores.")

hours = data.day_hours
table = pd.DataFrame()
if hours.empty:
    st.info(f"No data for {selection.day:%A %-d %B %Y}: the pipeline has published nothing for this day.")
else:
    # an hour no selected store's sensors covered, on a day they were running
    silent = (hours["stores_with_sensors"] > 0) & (hours["stores_heard"] == 0)
    partly = (hours["stores_heard"] > 0) & (hours["stores_heard"] < hours["stores_with_sensors"])
    hours = hours.assign(silent=silent, partly=partly)
    hours = hours[hours["hour"].isin(shown_hours)].reset_index(drop=True)
    bars = figures.bar_frame(hours, "hour", "arrivals", k, no_data=hours["silent"])
    st.altair_chart(charts.count_bars(bars, "hour", "hour (local)", "arrivals", k), width="stretch")

    def cell(row: pd.Series, name: str) -> str:
        return display.NO_DATA if row["silent"] else figures.count(row, name, k).text

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
                else f"{r['stores_heard']} of {r['stores_with_sensors']} stores covered"
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
        "Arrivals: visits that began in the hour. Visitors present: people whose visit overlaps the hour (the same "
        "person counts in every hour they stay). Capture rate: arrivals / (arrivals + passers-by). “no data”: no "
        "sensor covered that hour (down, or outside the capture), which is not the same as nobody coming."
    )

st.subheader(f"Busy hours: weekday {display.TIMES} hour")
heat = data.heat
names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
weekdays = sorted({d.isoweekday() for d in selection.dates()})
grid = pd.DataFrame([(w, h) for w in weekdays for h in shown_hours], columns=["weekday", "hour"])
cells = (
    grid.merge(heat, on=["weekday", "hour"], how="left")
    if len(heat)
    else grid.assign(days=0, mean_arrivals=None, days_hidden=0)
)
cells["days"] = cells["days"].fillna(0).astype(int)
cells["days_hidden"] = cells["days_hidden"].fillna(0).astype(int)
means = cells["mean_arrivals"].astype("Float64")
cells = cells.assign(
    weekday_name=[names[int(d) - 1] for d in cells["weekday"]],
    hours=[display.hours_range(int(h)) for h in cells["hour"]],
    state=[
        figures.NO_DATA if days == 0 else figures.SHOWN if not display.is_missing(mean) else figures.HIDDEN
        for days, mean in zip(cells["days"], means, strict=True)
    ],
    shown=[
        display.NO_DATA if days == 0 else display.below_k(k) if display.is_missing(mean) else f"{mean:,.1f}"
        for days, mean in zip(cells["days"], means, strict=True)
    ],
    mean_arrivals=means.astype("float64"),
)
if (cells["state"] == figures.NO_DATA).all():
    st.info("No hourly figures for the selected stores on the days of the range.")
else:
    st.altair_chart(charts.heat_map(cells, k), width="stretch")
    left_out = [d for d in pd.to_datetime(data.incomplete["date"]).dt.date] if len(data.incomplete) else []
    st.caption(
        f"Average arrivals per day in each hour over the {display.plural(len(selection.dates()), 'day')} selected "
        f"(all selected stores together; the colour scale starts at 0). An hour below {display.below_k(k)} on some "
        "days is averaged over the other days; grey with its label: below k on every day; pale red: no data."
        + (f" Left out, a store had no data: {figures.dates_text(left_out)}." if left_out else "")
    )

page = pd.concat(
    [
        table.assign(section=f"{display.day_in_table(selection.day)}, hour by hour"),
        cells[["weekday_name", "hours", "shown", "days", "days_hidden"]]
        .rename(columns={"weekday_name": "weekday", "hours": "hour", "shown": "arrivals per day"})
        .assign(section="busy hours"),
    ],
    ignore_index=True,
)
view.download(page, "hourly", selection)
view.suppression_note(k)
