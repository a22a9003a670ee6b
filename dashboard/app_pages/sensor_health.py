"""Sensor health: whether every sensor was heard. A sensor records a heartbeat for each
minute it hears any frame. Outages are judged against each sensor's own span: a sensor
collected from capture files covers the time from its first to its last heard minute
(a quiet minute inside a capture is not an outage; before and after, nothing was
captured: no data); a continuous sensor (a stream or a live capture) reports every
minute it runs, so a minute without a heartbeat is an outage."""

from datetime import timedelta

import pandas as pd
import streamlit as st

from footfall.dashboard import charts, display, figures, view

GAP_MINUTES = 5  # shorter silences are common on a quiet channel; they are counted, not listed

current, selection = view.require_data()
k = current.k

view.header(
    "Sensor health",
    "Whether every sensor was listening: when it covered the store, and when there is no data because it was "
    "down or nothing was captured, which is not the same as nobody coming.",
    current,
    selection,
)
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


def span_text(minutes: int) -> str:
    return display.duration(minutes * 60) if minutes else "0 min"


st.subheader(f"The {display.plural(range_days, 'day')} selected")
coverage = data.coverage.set_index(["store", "sensor"])
heard_days = data.coverage_days.groupby(["store", "sensor"])["date"].apply(set)
rows = []
for store, sensor in sorted(expected):
    if (store, sensor) in coverage.index:
        row = coverage.loc[(store, sensor)]
        missing = [d for d in selection.dates() if d not in heard_days.get((store, sensor), set())]
        covered = int(row["covered"])
        rows.append(
            {
                "store": store,
                "sensor": sensor,
                "kind": "continuous" if row["continuous"] else "capture files",
                "days with data": f"{int(row['days'])} of {range_days}",
                "covered": f"{span_text(covered)} ({display.percent(covered / (range_days * 1440))} of the time)",
                "minutes heard": f"{int(row['minutes']):,}",
                "days without any data": figures.dates_text(missing[:6]) + (" …" if len(missing) > 6 else "")
                if missing
                else "none",
                "last heard": pd.Timestamp(row["last_heard"])
                .tz_convert(current.zone(store))
                .strftime("%a %-d %b %H:%M"),
            }
        )
    else:
        rows.append(
            {
                "store": store,
                "sensor": sensor,
                "kind": "",
                "days with data": f"0 of {range_days}",
                "covered": display.NO_DATA,
                "minutes heard": "0",
                "days without any data": "all",
                "last heard": "never in this range",
            }
        )
summary = pd.DataFrame(rows)
st.dataframe(summary, hide_index=True, width="stretch")
st.caption(
    "Covered: for capture files, from the first to the last minute heard each day (the capture's span); for a "
    "continuous sensor, the minutes it reported. Minutes heard: the minutes with at least one frame."
)

st.subheader(f"{display.day_label(selection.day, current.today())}: periods with no data")
gaps = data.gaps
on_day = data.coverage_days[data.coverage_days["date"] == selection.day]
heard_today = set(zip(on_day["store"], on_day["sensor"], strict=True))
listed = []
for store, sensor in sorted(expected - heard_today):
    listed.append(
        {"store": store, "sensor": sensor, "from": "00:00", "to": "24:00", "no data for": "the whole day", "why": ""}
    )
quiet = pd.DataFrame(columns=["store", "sensor", "length"])
if len(gaps):
    gaps = gaps.assign(length=(gaps["gap_end"] - gaps["gap_start"]))
    outages = gaps[gaps["continuous"] | gaps["outside"]]
    quiet = gaps[~(gaps["continuous"] | gaps["outside"])]
    long_gaps = outages[outages["length"] >= timedelta(minutes=GAP_MINUTES)]
    for _, gap in long_gaps.iterrows():
        zone = current.zone(gap["store"])
        listed.append(
            {
                "store": gap["store"],
                "sensor": gap["sensor"],
                "from": figures.local_time_text(gap["gap_start"], zone),
                "to": figures.local_time_text(gap["gap_end"], zone),
                "no data for": display.duration(gap["length"].total_seconds()),
                "why": "no heartbeat (down)" if gap["continuous"] else "outside the capture",
            }
        )
    short = len(outages) - len(long_gaps)
else:
    short = 0
periods = pd.DataFrame(listed, columns=["store", "sensor", "from", "to", "no data for", "why"])
if listed:
    st.dataframe(periods, hide_index=True, width="stretch")
else:
    st.success(f"Every sensor was heard throughout the day (no silence of {GAP_MINUTES} minutes or more).")
if short:
    st.caption(f"Also {short} shorter silences (under {GAP_MINUTES} minutes), common on a quiet channel.")
if len(quiet):
    minutes = int(quiet["length"].sum().total_seconds() // 60)
    st.caption(
        f"Inside the captures' spans, {minutes:,} quiet minutes in which no frame was heard: the sensor was "
        "listening (a capture file holds only minutes with frames), so these are not outages."
    )

st.subheader(f"{detail_store}, minute by minute")
minutes_frame = data.minutes
if minutes_frame.empty:
    st.info(f"No sensor of {detail_store} recorded a heartbeat on {selection.day:%-d %B %Y}: no data.")
else:
    zone = current.zone(detail_store)
    minutes_frame = minutes_frame.assign(
        clock=figures.wall_clock(minutes_frame["minute"], zone),
        time=[figures.local_time_text(m, zone) for m in minutes_frame["minute"]],
        shown=[display.count(f, 1 if display.is_missing(f) else 0, k) for f in minutes_frame["frames"]],
        level=minutes_frame["frames"].fillna(0),
    )
    own = data.gaps[data.gaps["store"] == detail_store]
    own = own[own["continuous"] | own["outside"]]
    own = own.assign(
        clock=figures.wall_clock(own["gap_start"], zone),
        clock_end=figures.wall_clock(own["gap_end"], zone),
        period=[
            f"{figures.local_time_text(a, zone)}{display.DASH}{figures.local_time_text(b, zone)}"
            for a, b in zip(own["gap_start"], own["gap_end"], strict=True)
        ],
    )
    st.altair_chart(charts.sensor_timeline(minutes_frame, own), width="stretch")
    st.caption(
        f"Blue ticks: frames heard in the minute (any kind; “{display.below_k(k)}” when below k). Pale red: no "
        "data (outside the capture, or no heartbeat from a continuous sensor)."
    )

view.download(
    pd.concat(
        [summary.assign(section="the days selected"), periods.assign(section="periods with no data")],
        ignore_index=True,
    ),
    "sensor_health",
    selection,
)
