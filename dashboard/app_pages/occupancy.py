"""Occupancy: how many visitors were in the store, 5 minutes by 5 minutes, through
the day looked at (and now, when that day is today), by each store's clock. A bin in
an hour no sensor of the store covered is "no data", not an empty store."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from footfall.dashboard import charts, display, figures, view

current, selection = view.require_data()
k = current.k
data = view.guard(lambda: current.marts.occupancy(selection))
bins = data.bins

view.header(
    "Occupancy",
    "How many visitors were in the store at each moment of the day, 5 minutes by 5 minutes, by the store's clock, "
    "and when it was fullest.",
    current,
    selection,
)
st.subheader(display.day_label(selection.day, current.today()))

if bins.empty:
    st.info(f"No occupancy figures for {selection.day:%A %-d %B %Y}.")
    st.stop()
missing = figures.missing_stores(sorted(set(bins["store"])), selection.stores)
if missing:
    st.warning(f"{display.day(selection.day)}: {missing} (no data is not zero): the figures add up the other stores.")

# each store by its own clock; a bin is silent when the store's sensors ran that day but not in its hour
heard = set(zip(data.heard["store"], data.heard["hour"], strict=True))
running = set(data.heard["store"])
bins = pd.concat(
    [group.assign(clock=figures.wall_clock(group["ts"], current.zone(store))) for store, group in bins.groupby("store")]
)
bins["silent"] = [
    store in running and (store, clock.hour) not in heard
    for store, clock in zip(bins["store"], bins["clock"], strict=True)
]
bins["present"] = bins["present"].where(~bins["silent"])
bins["hidden"] = (bins["present"].isna() & ~bins["silent"]).astype(int)


def state(present_hidden: int, silent: bool, present: float) -> str:
    if silent:
        return figures.NO_DATA
    return figures.HIDDEN if present_hidden and not present else figures.SHOWN


def shown(present: float, hidden: int, silent: bool) -> str:
    return display.NO_DATA if silent else display.count(present, hidden, k)


# the stores together, per 5 minutes of their clocks
together = (
    bins.groupby("clock")
    .agg(
        present=("present", "sum"),
        present_hidden=("hidden", "sum"),
        silent=("silent", "all"),
    )
    .reset_index()
)
together["low"] = [
    display.count_bounds(p, h, k)[0] for p, h in zip(together["present"], together["present_hidden"], strict=True)
]
together["shown"] = [
    shown(*values) for values in zip(together["present"], together["present_hidden"], together["silent"], strict=True)
]
together["time"] = together["clock"].dt.strftime("%H:%M")

columns = iter(st.columns(3))
if selection.day == current.today():
    now = datetime.now(ZoneInfo(current.zone(selection.stores[0]))).replace(tzinfo=None)
    passed = together[together["clock"].dt.tz_localize(None) <= now]
    if len(passed):
        latest = passed.iloc[-1]
        next(columns).metric(f"Now ({latest['time']})", latest["shown"])
counted = together[~together["silent"]]
if len(counted) and counted["low"].max() > 0:
    peak = counted.loc[counted["low"].idxmax()]
    next(columns).metric("Peak", peak["shown"], help="The most people present in one 5-minute bin.")
    next(columns).metric("Time of peak", peak["time"])
else:
    next(columns).metric("Peak", display.below_k(k) if k > 1 else "0")

several = 1 < len(selection.stores) <= 8
if several:
    frame = bins.assign(
        time=bins["clock"].dt.strftime("%H:%M"),
        shown=[shown(*values) for values in zip(bins["present"], bins["hidden"], bins["silent"], strict=True)],
        state=[
            state(h, s, p) for h, s, p in zip(bins["hidden"], bins["silent"], bins["present"].fillna(0), strict=True)
        ],
    )
else:
    frame = together.assign(
        present=together["present"].where((together["present_hidden"] == 0) & ~together["silent"]),
        state=[
            state(h, s, p)
            for h, s, p in zip(together["present_hidden"], together["silent"], together["present"], strict=True)
        ],
    )
st.altair_chart(charts.occupancy(frame, "store" if several else None, k), width="stretch")
st.caption(
    f"People present: estimated visitors in the store in the middle of each 5 minutes. Grey marks on the baseline: "
    f"below {k}, not published (never drawn as a value). Pale red: no sensor covered that hour (no data). A visit "
    "counts on the day it began, so the first bins after midnight miss anyone who came the evening before."
)
view.download(
    frame[[c for c in ("store", "time", "shown") if c in frame.columns]].rename(columns={"shown": "people present"}),
    "occupancy",
    selection,
)
view.suppression_note(k)
