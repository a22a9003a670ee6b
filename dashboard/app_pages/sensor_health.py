"""Sensor health: whether every sensor was heard. A sensor records a heartbeat for
each minute it hears any frame; a minute without one is "no data" (down, unplugged,
out of range), never zero visitors."""

from datetime import timedelta

import pandas as pd
import streamlit as st

from footfall.dashboard import charts, display, figures, view

GAP_MINUTES = 5  # shorter silences are common on a quiet channel; they are counted, not listed

current, selection = view.require_data()
k = current.k

st.title("Sensor health")
st.caption(view.scope(current, selection))
detail_store = (
    st.selectbox("Store for the minute-by-minute view", selection.stores, key="sensor_store")
    if len(selection.stores) > 1
    else selection.stores[0]
)
data = view.guard(lambda: current.marts.sensors(selection, detail_store))
range_days = len(selection.dates())

# the sensors each store should have: those the configuration lists and those ever heard in the range
expected = {(store, sensor) for store in selection.stores for sensor in current.settings.store(store).sensors}
expected |= set(zip(data.coverage["store"], data.coverage["sensor"], strict=True))

st.subheader(f"The {display.plural(range_days, 'day')} selected")
coverage = data.coverage.set_index(["store", "sensor"])
silent_days = data.coverage_days.groupby(["store", "sensor"])["date"].apply(set)
rows = []
for store, sensor in sorted(expected):
    if (store, sensor) in coverage.index:
        row = coverage.loc[(store, sensor)]
        heard_days = silent_days.get((store, sensor), set())
        missing = [d for d in selection.dates() if d not in heard_days]
        minutes_heard = int(row["minutes"])
        rows.append(
            {
                "store": store,
                "sensor": sensor,
                "days with data": f"{int(row['days'])} of {range_days}",
                "minutes heard": f"{minutes_heard:,} ({display.percent(minutes_heard / (range_days * 1440))})",
                "days without any data": figures.dates_text(missing[:6]) + (" …" if len(missing) > 6 else "")
                if missing
                else "none",
                "last heard": pd.Timestamp(row["last_heard"]).tz_convert(current.zone(store)).strftime("%-d %b %H:%M"),
            }
        )
    else:
        rows.append(
            {
                "store": store,
                "sensor": sensor,
                "days with data": f"0 of {range_days}",
                "minutes heard": display.NO_DATA,
                "days without any data": "all",
                "last heard": "never in this range",
            }
        )
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

st.subheader(f"{display.day_label(selection.day, current.today())}: periods with no data")
gaps = data.gaps
heard_today = set(zip(gaps["store"], gaps["sensor"], strict=True)) | set(
    (s, n)
    for s, n, d in zip(
        data.coverage_days["store"], data.coverage_days["sensor"], data.coverage_days["date"], strict=True
    )
    if d == selection.day
)
listed = []
for store, sensor in sorted(expected - heard_today):
    listed.append({"store": store, "sensor": sensor, "from": "00:00", "to": "24:00", "no data for": "the whole day"})
if len(gaps):
    gaps = gaps.assign(length=(gaps["gap_end"] - gaps["gap_start"]))
    long_gaps = gaps[gaps["length"] >= timedelta(minutes=GAP_MINUTES)]
    for _, gap in long_gaps.iterrows():
        zone = current.zone(gap["store"])
        listed.append(
            {
                "store": gap["store"],
                "sensor": gap["sensor"],
                "from": figures.local_time_text(gap["gap_start"], zone),
                "to": figures.local_time_text(gap["gap_end"], zone),
                "no data for": display.duration(gap["length"].total_seconds()),
            }
        )
    short = len(gaps) - len(long_gaps)
else:
    short = 0
if listed:
    st.dataframe(pd.DataFrame(listed), hide_index=True, width="stretch")
else:
    st.success(f"Every sensor was heard throughout the day (no silence of {GAP_MINUTES} minutes or more).")
if short:
    st.caption(f"Also {short} shorter silences (under {GAP_MINUTES} minutes), common on a quiet channel.")

st.subheader(f"{detail_store}, minute by minute")
minutes = data.minutes
if minutes.empty:
    st.info(f"No sensor of {detail_store} recorded a heartbeat on {selection.day:%-d %B %Y}: no data.")
else:
    zone = current.zone(detail_store)
    minutes = minutes.assign(
        clock=figures.wall_clock(minutes["minute"], zone),
        time=[figures.local_time_text(m, zone) for m in minutes["minute"]],
        shown=[f"< {k}" if display.is_missing(f) else f"{int(f):,}" for f in minutes["frames"]],
        level=minutes["frames"].fillna(0),
    )
    own = data.gaps[data.gaps["store"] == detail_store]
    own = own.assign(
        clock=figures.wall_clock(own["gap_start"], zone),
        clock_end=figures.wall_clock(own["gap_end"], zone),
        period=[
            f"{figures.local_time_text(a, zone)}{display.DASH}{figures.local_time_text(b, zone)}"
            for a, b in zip(own["gap_start"], own["gap_end"], strict=True)
        ],
    )
    st.altair_chart(charts.sensor_timeline(minutes, own), width="stretch")
    st.caption(
        "Blue ticks: frames heard in the minute (any kind; “< k” when below k). Pale red: no heartbeat, no data."
    )
