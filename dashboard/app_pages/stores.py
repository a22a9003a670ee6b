"""Stores: the selected stores side by side over the range, compared with the period of
the same length just before on per-day averages of the days with data (a day without
data is not a quiet day), with how much of the time their sensors covered."""

import pandas as pd
import streamlit as st

from footfall.dashboard import charts, display, figures, view

current, selection = view.require_data()
k = current.k
data = view.guard(lambda: current.marts.stores_compared(selection))

view.header(
    "Stores compared",
    "The stores side by side: visitors, how long they stay and how many passers-by come in, and the change on the "
    "period just before, per day with data.",
    current,
    selection,
)

stores = data.stores
if stores.empty:
    st.info("No store has figures in the selected range.")
    st.stop()

previous = data.previous.set_index("store")
before_period = selection.previous()
range_days = len(selection.dates())


def per_day(figure: figures.Figure, days: int) -> float | None:
    return figure.value / days if figure.value is not None and days else None


rows = []
for _, row in stores.iterrows():
    visitors = figures.visitors(row, k)
    days = int(row["days"])
    before = previous.loc[row["store"]] if row["store"] in previous.index else None
    before_days = int(before["days"]) if before is not None else 0
    now_rate = per_day(figures.count(row, "visitors", k), days)
    before_rate = per_day(figures.count(before, "visitors", k), before_days) if before is not None else None
    change = display.change(now_rate, before_rate)
    sensor_minutes = row.get("sensor_minutes")
    sensors = max(figures.as_int(row.get("sensors")), len(current.settings.store(row["store"]).sensors))
    coverage = (
        display.percent(float(sensor_minutes) / (sensors * range_days * 1440))
        if not display.is_missing(sensor_minutes)
        else "no heartbeat recorded"
    )
    rows.append(
        {
            "store": row["store"],
            "days with data": f"{days} of {range_days}",
            "visitors": visitors.text,
            "per day with data": f"{now_rate:,.0f}" if now_rate is not None else display.DASH,
            "visits": figures.count(row, "visits", k).text,
            "passers-by": figures.count(row, "passersby", k).text,
            "capture rate": figures.rate(row, k).text,
            "median dwell": figures.dwell(row, "dwell_p50_s", k).text,
            "vs previous period, per day": (
                f"{change} ({days} vs {before_days} days with data)" if change else display.DASH
            ),
            "sensor coverage": coverage,
            "_order": figures.as_int(row["visitors"]),
        }
    )
table = pd.DataFrame(rows).sort_values(["_order", "store"], ascending=[False, True]).drop(columns="_order")
st.dataframe(table, hide_index=True, width="stretch")
short = table[table["days with data"] != f"{range_days} of {range_days}"]["store"].tolist()
if short:
    st.warning(
        f"{', '.join(short)}: data on fewer than the {range_days} days selected (no data is not zero). Totals "
        "cover the days with data; the change compares visitors per day with data."
    )
st.caption(
    f"Visitors and visits are sums over the days with data; median dwell is the days' medians weighted by visits. "
    f"“vs previous period, per day”: visitors per day with data against those of the "
    f"{display.plural(range_days, 'day')} just before ({display.day(before_period.start)}{display.DASH}"
    f"{display.day(before_period.end)}). “sensor coverage”: the share of the time the store's sensors covered "
    "(capture files: from their first to their last minute heard each day), a configured sensor never heard "
    "included."
)

st.subheader("Visitors per store")
bars = figures.bar_frame(stores, "store", "visitors", k)
order = list(table["store"])
st.altair_chart(charts.count_bars(bars, "store", "store", "visitors", k, sort=order), width="stretch")
view.download(table, "stores", selection)
view.suppression_note(k)
