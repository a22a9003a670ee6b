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
incomplete = view.incomplete_days(days, selection)

view.header(
    "Capture rate",
    "Of the people who came near the store, how many came in: visitors / (visitors + passers-by). A shop window "
    "or an entrance that works shows as a higher rate.",
    current,
    selection,
)
shown_hours = view.hours_shown(current, selection, "capture_all_hours")

totals = (
    pd.Series(
        {
            "rows": int(days["rows"].sum()),
            **{c: days[c].sum() for c in ("visitors", "passersby", "rate_visitors", "rate_passersby")},
            **{c: int(days[c].sum()) for c in ("visitors_hidden", "passersby_hidden", "rate_hidden")},
            **{
                c: days[c].sum(min_count=1) if c in days else None
                for c in ("visitors_low", "visitors_high", "visitors_unranged")
            },
        }
    )
    if len(days)
    else None
)
a, b, c, d = st.columns(4)
a.metric(f"Capture rate, {display.day(selection.day)}", figures.rate(day_row, k).text)
b.metric(
    f"Capture rate, {display.plural(len(selection.dates()), 'day')}",
    figures.rate(totals, k).text,
    help="From the visitors and passers-by of the days published exactly, added up.",
)
c.metric("Visitors", figures.visitors(totals, k).text)
d.metric("Passers-by", figures.count(totals, "passersby", k).text)
if incomplete:
    st.warning(
        f"Some selected stores have no data on {figures.dates_text(sorted(incomplete))} (no data is not zero): "
        "those days' rates are the other stores'."
    )

st.subheader(f"{display.day_label(selection.day, current.today())}, hour by hour")
hours = data.day_hours
by_hour = pd.DataFrame()
if hours.empty:
    st.info(f"No data for {selection.day:%A %-d %B %Y}.")
else:
    hours = hours[hours["hour"].isin(shown_hours)].reset_index(drop=True)
    silent = ((hours["stores_with_sensors"] > 0) & (hours["stores_heard"] == 0)).tolist()
    shown = [
        figures.Figure(display.NO_DATA, None) if quiet else figures.rate(r, k, "rate_arrivals", "rate_passersby")
        for quiet, (_, r) in zip(silent, hours.iterrows(), strict=True)
    ]
    bars = figures.value_frame(list(hours["hour"]), shown, silent, x="hour")
    st.altair_chart(
        charts.count_bars(bars, "hour", "hour (local)", "capture rate", k, y_format="%", hidden_label="too few"),
        width="stretch",
    )
    by_hour = pd.DataFrame(
        {"hour": [display.hours_range(int(h)) for h in hours["hour"]], "capture rate": [f.text for f in shown]}
    )
    with st.expander("Hour by hour, as figures"):
        st.dataframe(by_hour, hide_index=True, width="stretch")

by_day = pd.DataFrame()
if len(selection.dates()) > 1 and len(days):
    st.subheader("Day by day")
    per_store = data.store_days
    several = 1 < len(selection.stores) <= 8
    source = per_store if several else days.reset_index()
    figures_of = [figures.rate(r, k) for _, r in source.iterrows()]
    notes = ["" if several else incomplete.get(day, "") for day in source["date"]]
    trend = source.assign(rate=[f.value for f in figures_of], shown=[f.text for f in figures_of], note=notes)
    by_day = trend[["date", *(["store"] if several else []), "shown", "note"]].rename(columns={"shown": "capture rate"})
    by_day["date"] = [display.day_in_table(day) for day in by_day["date"]]
    trend = trend[trend["rate"].notna()].assign(date=lambda f: pd.to_datetime(f["date"]))
    st.altair_chart(
        charts.lines(trend, "date", "rate", "store" if several else None, "day", "capture rate", y_format="%"),
        width="stretch",
    )
st.caption(
    "Passers-by are people heard only outside (a weak signal) or for less than the minimum visit. By the hour: "
    "arrivals / (arrivals + passers-by who passed in that hour). “too few”: the counts it needs are hidden for "
    "privacy; it is never drawn as a value."
)
view.download(
    pd.concat([by_hour.assign(section="hour by hour"), by_day.assign(section="day by day")], ignore_index=True),
    "capture_rate",
    selection,
)
view.suppression_note(k)
