"""The dashboard's charts (Altair, which ships with Streamlit).

Every chart keeps the marts' three states apart: a published count (blue), a count
below k (grey, drawn at k-1, the most it can be, and labelled "< k"), and no data
(a pale red band: nothing was recorded, which is not zero).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from footfall.dashboard import figures

BLUE = "#4c78a8"
LIGHT_BLUE = "#9ecae9"
GREY = "#bdbdbd"
PALE_RED = "#f4c7c3"
AnyChart = alt.Chart | alt.LayerChart | alt.FacetChart
HEIGHT = 320  # the whole chart, axes and legend included (Streamlit fits it)


def _clock_axis() -> alt.X:
    """Wall-clock times (figures.wall_clock) on a UTC scale, labelled HH:MM in any browser."""
    axis = alt.Axis(labelExpr="utcFormat(datum.value, '%H:%M')")
    return alt.X("clock:T", title="time", axis=axis, scale=alt.Scale(type="utc"))


def _state_scale(k: int) -> alt.Scale:
    return alt.Scale(
        domain=[figures.SHOWN, figures.PARTIAL, figures.HIDDEN, figures.NO_DATA],
        range=[BLUE, LIGHT_BLUE, GREY, PALE_RED],
    )


def count_bars(
    bars: pd.DataFrame,
    x: str,
    x_title: str,
    y_title: str,
    k: int,
    x_type: str = "O",
    sort: list | None = None,
    y_format: str = "",
    hidden_label: str | None = None,
) -> AnyChart:
    """Bars from figures.bar_frame (or alike): the state in the colour, the shown text in
    the tooltip; a bar with no data is a pale band the height of the chart."""
    top = float(bars["height"].max()) if len(bars) and bars["height"].notna().any() else 0.0
    top = top if y_format else max(top, float(k))
    bars = bars.assign(height=bars["height"].where(bars["state"] != figures.NO_DATA, top))
    label = hidden_label or f"< {k}"
    legend = alt.Legend(
        title=None, orient="top", labelExpr=f"datum.label == '{figures.HIDDEN}' ? '{label}' : datum.label"
    )
    axis = alt.Axis(format=y_format) if y_format else alt.Undefined
    return (
        alt.Chart(bars)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:{x_type}", title=x_title, sort=sort or "ascending"),
            y=alt.Y("height:Q", title=y_title, axis=axis),
            color=alt.Color("state:N", scale=_state_scale(k), legend=legend),
            opacity=alt.condition(alt.datum.state == figures.NO_DATA, alt.value(0.6), alt.value(1.0)),
            tooltip=[alt.Tooltip(f"{x}:{x_type}", title=x_title), alt.Tooltip("shown:N", title=y_title)],
        )
        .properties(height=HEIGHT)
    )


def heat_map(cells: pd.DataFrame, k: int) -> AnyChart:
    """Weekday x hour: the mean arrivals per day; cells with every day below k are grey."""
    weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    x = alt.X("hour:O", title="hour")
    y = alt.Y("weekday_name:N", title=None, sort=weekdays)
    tooltip = [
        alt.Tooltip("weekday_name:N", title="day"),
        alt.Tooltip("hours:N", title="hour"),
        alt.Tooltip("shown:N", title="arrivals per day"),
        alt.Tooltip("days:Q", title="days"),
        alt.Tooltip("days_hidden:Q", title=f"days below k={k}"),
    ]
    base = alt.Chart(cells)
    known = (
        base.transform_filter("isValid(datum.mean_arrivals)")
        .mark_rect()
        .encode(x=x, y=y, color=alt.Color("mean_arrivals:Q", title="arrivals per day"), tooltip=tooltip)
    )
    hidden = (
        base.transform_filter("!isValid(datum.mean_arrivals)")
        .mark_rect(color=GREY, opacity=0.5)
        .encode(x=x, y=y, tooltip=tooltip)
    )
    return alt.layer(hidden, known).properties(height=300)


def lines(
    frame: pd.DataFrame, x: str, y: str, series: str | None, x_title: str, y_title: str, y_format: str = ""
) -> AnyChart:
    encoding: dict = {
        "x": alt.X(f"{x}:T", title=x_title),
        "y": alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format=y_format) if y_format else alt.Undefined),
        "tooltip": [alt.Tooltip(f"{x}:T", title=x_title), alt.Tooltip("shown:N", title=y_title)],
    }
    if series:
        encoding["color"] = alt.Color(f"{series}:N", title=None, legend=alt.Legend(orient="top"))
        encoding["tooltip"].insert(0, alt.Tooltip(f"{series}:N"))
    return alt.Chart(frame).mark_line(point=True).encode(**encoding).properties(height=HEIGHT)


def occupancy(frame: pd.DataFrame, series: str | None, k: int) -> AnyChart:
    """People present per 5 minutes by the store's clock: bins below k as a grey band up
    to k-1, bins no sensor heard as a pale red band, the line broken at both."""
    x = _clock_axis()
    y = alt.Y("present:Q", title="people present")
    tooltip = [alt.Tooltip("time:N", title="time"), alt.Tooltip("shown:N", title="present")]
    if series:
        tooltip.insert(0, alt.Tooltip(f"{series}:N", title="store"))
    top = max(float(frame["present"].max()) if frame["present"].notna().any() else 0.0, float(k))
    base = alt.Chart(frame.assign(top=top))
    silent = (
        base.transform_filter(alt.datum.state == figures.NO_DATA)
        .mark_bar(color=PALE_RED, opacity=0.6, width=2)
        .encode(x=x, y=alt.Y("top:Q", title="people present"), tooltip=tooltip)
    )
    hidden = (
        base.transform_filter(alt.datum.state == figures.HIDDEN)
        .mark_bar(color=GREY, opacity=0.5, width=2)
        .encode(x=x, y=alt.Y("band:Q", title="people present"), tooltip=tooltip)
    )
    line_encoding: dict = {"x": x, "y": y, "tooltip": tooltip}
    if series:
        line_encoding["color"] = alt.Color(f"{series}:N", title=None, legend=alt.Legend(orient="top"))
    known = base.mark_line(point=True).encode(**line_encoding)  # nulls break the line
    return alt.layer(silent, hidden, known).properties(height=HEIGHT)


def sensor_timeline(minutes: pd.DataFrame, gaps: pd.DataFrame) -> AnyChart:
    """Frames heard per minute, one row per sensor, with the minutes of no data in pale red."""
    x = _clock_axis()
    y_sensor = alt.Y("sensor:N", title=None)
    gap_layer = (
        alt.Chart(gaps)
        .mark_bar(color=PALE_RED, opacity=0.8)
        .encode(
            x=x,
            x2="clock_end:T",
            y=y_sensor,
            tooltip=[alt.Tooltip("sensor:N"), alt.Tooltip("period:N", title="no data")],
        )
    )
    heard = (
        alt.Chart(minutes)
        .mark_tick(thickness=1)
        .encode(
            x=x,
            y=y_sensor,
            color=alt.Color(
                "level:Q", title="frames per minute", scale=alt.Scale(scheme="blues"), legend=alt.Legend(orient="top")
            ),
            tooltip=[alt.Tooltip("sensor:N"), alt.Tooltip("time:N"), alt.Tooltip("shown:N", title="frames")],
        )
    )
    return alt.layer(gap_layer, heard).properties(height=110 + 45 * minutes["sensor"].nunique())


def bars(frame: pd.DataFrame, x: str, y: str, x_title: str, y_title: str, y_format: str = "") -> AnyChart:
    return (
        alt.Chart(frame)
        .mark_bar(color=BLUE)
        .encode(
            x=alt.X(f"{x}:O", title=x_title),
            y=alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format=y_format) if y_format else alt.Undefined),
            tooltip=[alt.Tooltip(f"{x}:O", title=x_title), alt.Tooltip("shown:N", title=y_title)],
        )
        .properties(height=HEIGHT)
    )
