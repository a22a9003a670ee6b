"""Overview: the day looked at (the range's last day) and the day before, each against
the same weekday of the previous weeks, then the visitors of every day of the range."""

from datetime import timedelta

import pandas as pd
import streamlit as st

from footfall.dashboard import charts, display, figures, view
from footfall.dashboard.queries import COMPARISON_WEEKS

current, selection = view.require_data()
k = current.k
days = view.guard(lambda: current.marts.overview(selection)).days.set_index("date")


def row(day):
    return days.loc[day] if day in days.index else None


METRICS = {
    "Visitors": lambda r: figures.count(r, "visitors", k),
    "Visits": lambda r: figures.count(r, "visits", k),
    "Passers-by": lambda r: figures.count(r, "passersby", k),
    "Capture rate": lambda r: figures.rate(r, k),
    "Median dwell": lambda r: figures.dwell(r, "dwell_p50_s", k),
    "90th percentile dwell": lambda r: figures.dwell(r, "dwell_p90_s", k),
}

st.title("Overview")
st.caption(view.scope(current, selection))

for day in (selection.day, selection.day - timedelta(days=1)):
    st.subheader(display.day_label(day, current.today()))
    this = row(day)
    if this is None:
        st.info(f"No data for {day:%A %-d %B %Y}: the pipeline has published nothing for this day.")
        continue
    if int(this["rows"]) < len(selection.stores):
        st.warning(
            f"Only {int(this['rows'])} of the {len(selection.stores)} stores selected have figures for this day: "
            "the totals leave the others out (no data, which is not zero). The Stores page shows them one by one."
        )
    earlier = [day - timedelta(weeks=week) for week in range(1, COMPARISON_WEEKS + 1)]
    compared = [d for d in earlier if row(d) is not None]
    help_text = (
        f"Compared with the average of the previous {day:%A}s with published figures ({figures.dates_text(compared)})."
        if compared
        else f"No earlier {day:%A} in the data to compare with."
    )
    columns = [*st.columns(3), *st.columns(3)]
    for column, (label, figure_of) in zip(columns, METRICS.items(), strict=True):
        shown = figure_of(this)
        reference = figures.reference([figure_of(row(d)) for d in compared])
        if label == "Capture rate":
            delta = display.points(shown.value, reference)
        else:
            delta = display.change(shown.value, reference)
        column.metric(
            label, shown.text, delta=delta, delta_color="off" if label == "Passers-by" else "normal", help=help_text
        )
    table = pd.DataFrame(
        [
            {"date": f"{d:%a %-d %b %Y}", **{label: figure_of(row(d)).text for label, figure_of in METRICS.items()}}
            for d in [day, *earlier]
        ]
    )
    with st.expander(f"{day:%A} against the previous {COMPARISON_WEEKS} {day:%A}s"):
        st.dataframe(table, hide_index=True, width="stretch")

st.subheader("Visitors per day")
dates = selection.dates()
in_range = days.reindex(dates)
in_range["rows"] = in_range["rows"].fillna(0)
in_range = in_range.reset_index().rename(columns={"index": "date"})
in_range["day"] = [f"{d:%a %-d %b}" for d in dates]
bars = figures.bar_frame(in_range, "day", "visitors", k, no_data=in_range["rows"] == 0)
st.altair_chart(charts.count_bars(bars, "day", "day", "visitors", k, sort=list(in_range["day"])), width="stretch")
view.estimated_note(bool(days["estimated"].any()) if len(days) else False)
view.suppression_note(k)
