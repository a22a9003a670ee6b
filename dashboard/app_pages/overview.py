"""Overview: the day looked at (the range's last day) and the day before, each against
the same weekday of the previous weeks, then the visitors of every day of the range.

A total over stores on a day some of them have no data is the total of the others:
such a day is flagged wherever it shows, and compared with the same stores only."""

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from footfall.dashboard import charts, display, figures, view
from footfall.dashboard.queries import COMPARISON_WEEKS, Selection

current, selection = view.require_data()
k = current.k
days = view.guard(lambda: current.marts.overview(selection)).days.set_index("date")
incomplete = view.incomplete_days(days, selection)

METRICS = {
    "Visitors": lambda r: figures.visitors(r, k),
    "Visits": lambda r: figures.count(r, "visits", k),
    "Passers-by": lambda r: figures.count(r, "passersby", k),
    "Capture rate": lambda r: figures.rate(r, k),
    "Median dwell": lambda r: figures.dwell(r, "dwell_p50_s", k),
    "90th percentile dwell": lambda r: figures.dwell(r, "dwell_p90_s", k),
}


def row_of(frame: pd.DataFrame, day: date) -> pd.Series | None:
    return frame.loc[day] if day in frame.index else None


def covers(frame: pd.DataFrame, day: date, stores: tuple[str, ...]) -> bool:
    """The day has figures from every one of these stores."""
    found = row_of(frame, day)
    return found is not None and set(stores) <= set(found["stores_with_data"])


def compared_with(n: int, weekday: str) -> str:
    return f"vs the average of {n} previous {weekday}{'s' if n != 1 else ''}"


view.header(
    "Overview",
    "How many people came in, how long they stayed, and how many of those passing by came in: the day you look at "
    "and the day before, each against the same weekday of earlier weeks.",
    current,
    selection,
)

for day in (selection.day, selection.day - timedelta(days=1)):
    st.subheader(display.day_label(day, current.today()))
    this = row_of(days, day)
    if this is None:
        st.info(f"No data for {day:%A %-d %B %Y}: the pipeline has published nothing for this day.")
        continue
    stores = selection.stores
    reference_days = days
    if day in incomplete:
        stores = tuple(this["stores_with_data"])
        reference_days = view.guard(
            lambda stores=stores: current.marts.overview(Selection(stores, selection.start, selection.end))
        ).days.set_index("date")
        st.warning(
            f"{display.day(day)}: {incomplete[day]} (no data is not zero). The figures are those of "
            f"{', '.join(stores)}, compared with the same store(s) on earlier {day:%A}s."
        )
    earlier = [day - timedelta(weeks=week) for week in range(1, COMPARISON_WEEKS + 1)]
    compared = [d for d in earlier if covers(reference_days, d, stores)]
    left_out = [d for d in earlier if row_of(reference_days, d) is not None and d not in compared]
    help_text = (
        f"Compared with the average of the previous {day:%A}s with figures from the same stores "
        f"({figures.dates_text(compared)})."
        if compared
        else f"No earlier {day:%A} with figures from the same stores to compare with."
    )
    if left_out:
        help_text += f" Left out, a store had no data: {figures.dates_text(left_out)}."
    columns = [*st.columns(3), *st.columns(3)]
    for column, (label, figure_of) in zip(columns, METRICS.items(), strict=True):
        shown = figure_of(this)
        reference = figures.reference([figure_of(row_of(reference_days, d)) for d in compared])
        change = (
            display.points(shown.value, reference)
            if label == "Capture rate"
            else display.change(shown.value, reference)
        )
        delta = f"{change} {compared_with(len(compared), day.strftime('%A'))}" if change else None
        column.metric(
            label, shown.text, delta=delta, delta_color="off" if label == "Passers-by" else "normal", help=help_text
        )
    table = pd.DataFrame(
        [
            {
                "date": display.day_in_table(d),
                **{label: figure_of(row_of(reference_days, d)).text for label, figure_of in METRICS.items()},
                "note": "" if d in compared or d == day else "left out: a store had no data" if d in left_out else "",
            }
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
in_range["day"] = [display.day(d) for d in dates]
notes = pd.Series([incomplete.get(d, "") for d in dates])
bars = figures.bar_frame(in_range, "day", "visitors", k, no_data=in_range["rows"] == 0, incomplete=notes)
st.altair_chart(charts.count_bars(bars, "day", "day", "visitors", k, sort=list(in_range["day"])), width="stretch")
if incomplete:
    st.caption(
        f"Amber: a day on which some selected store has no data ({figures.dates_text(sorted(incomplete))}); its "
        "total is that of the others, not a drop in visitors."
    )

shown_days = sorted(set(dates) | {d for d in days.index})
page = pd.DataFrame(
    [
        {
            "date": display.day_in_table(d),
            **{label: figure_of(row_of(days, d)).text for label, figure_of in METRICS.items()},
            "note": incomplete.get(d, ""),
        }
        for d in shown_days
    ]
)
view.download(page, "overview", selection)
view.estimated_note(bool(days["estimated"].any()) if len(days) else False)
view.suppression_note(k)
