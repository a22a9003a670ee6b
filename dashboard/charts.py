"""The dashboard's charts (Altair, which ships with Streamlit).

Every chart keeps the marts' states apart: a published count (blue), a total with
some cells below k (light blue, drawn at what is known, with a whisker up to the most
it can be), a count below k (never drawn as a value: a grey mark on the baseline with
its label, "< 5"), a total missing some stores (amber), and no data (a pale red band
labelled "no data": nothing was recorded, which is not zero).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from footfall.dashboard import display, figures

BLUE = "#4c78a8"
LIGHT_BLUE = "#9ecae9"
GREY = "#9e9e9e"
DARK_GREY = "#616161"
AMBER = "#f2b447"
PALE_RED = "#f4c7c3"
AnyChart = alt.Chart | alt.LayerChart | alt.FacetChart
HEIGHT = 320  # the whole chart, axes and legend included (Streamlit fits it)
DAY_AXIS = alt.Axis(format=display.DAY, labelAngle=-45)  # one date format on every day axis


def _clock_axis() -> alt.X:
    """Wall-clock times (figures.wall_clock) on a UTC scale, labelled HH:MM in any browser."""
    axis = alt.Axis(labelExpr="utcFormat(datum.value, '%H:%M')")
    return alt.X("clock:T", title="time", axis=axis, scale=alt.Scale(type="utc"))


def _state_scale() -> alt.Scale:
    return alt.Scale(
        domain=[figures.SHOWN, figures.PARTIAL, figures.INCOMPLETE, figures.HIDDEN, figures.NO_DATA],
        range=[BLUE, LIGHT_BLUE, AMBER, GREY, PALE_RED],
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
    """Bars from figures.bar_frame or value_frame: a value where one is known (with a
    whisker to the top of a total's range), a labelled mark on the baseline where it is
    hidden below k, a pale labelled band where there is no data."""
    values = pd.concat([bars["height"], bars["high"]]).dropna()
    top = float(values.max()) if len(values) else 0.0
    top = top if y_format else max(top, float(k))
    top = top or 1.0
    frame = bars.assign(band=top, middle=top / 2, zero=0.0)
    label = hidden_label or display.below_k(k)
    legend = alt.Legend(
        title=None, orient="top", labelExpr=f"datum.label == '{figures.HIDDEN}' ? '{label}' : datum.label"
    )
    x_encoding = alt.X(f"{x}:{x_type}", title=x_title, sort=sort or "ascending")
    if x_type == "O" and x in ("day", "date"):
        x_encoding = alt.X(f"{x}:{x_type}", title=x_title, sort=sort or "ascending", axis=alt.Axis(labelAngle=-45))
    axis = alt.Axis(format=y_format) if y_format else alt.Undefined
    scale = alt.Scale(domain=[0, top], nice=True)  # from 0, and up to k even when every cell is hidden

    def y(field: str) -> alt.Y:
        """Every layer on the one axis: its title, format and scale (not "height, zero, band")."""
        return alt.Y(f"{field}:Q", title=y_title, axis=axis, scale=scale)

    color = alt.Color("state:N", scale=_state_scale(), legend=legend)
    tooltip = [
        alt.Tooltip(f"{x}:{x_type}", title=x_title),
        alt.Tooltip("shown:N", title=y_title),
        alt.Tooltip("note:N", title="note"),
    ]
    base = alt.Chart(frame)
    valued = (
        base.transform_filter("isValid(datum.height)")
        .mark_bar()
        .encode(x=x_encoding, y=y("height"), color=color, tooltip=tooltip)
    )
    whiskers = (
        base.transform_filter("isValid(datum.high)")
        .mark_rule(color=DARK_GREY, strokeWidth=2)
        .encode(x=x_encoding, y=y("height"), y2="high:Q", tooltip=tooltip)
    )
    no_data = (
        base.transform_filter(alt.datum.state == figures.NO_DATA)
        .mark_bar(opacity=0.5)
        .encode(x=x_encoding, y=y("zero"), y2="band:Q", color=color, tooltip=tooltip)
    )
    hidden_marks = (
        base.transform_filter(alt.datum.state == figures.HIDDEN)
        .mark_tick(thickness=4, color=GREY)
        .encode(x=x_encoding, y=y("zero"), color=color, tooltip=tooltip)
    )
    hidden_labels = (
        base.transform_filter(alt.datum.state == figures.HIDDEN)
        .mark_text(baseline="bottom", dy=-5, color=DARK_GREY, fontSize=10)
        .encode(x=x_encoding, y=y("zero"), text="shown:N", tooltip=tooltip)
    )
    no_data_labels = (
        base.transform_filter(alt.datum.state == figures.NO_DATA)
        .mark_text(angle=270, color=DARK_GREY, fontSize=10)
        .encode(x=x_encoding, y=y("middle"), text=alt.value(display.NO_DATA), tooltip=tooltip)
    )
    return alt.layer(no_data, valued, whiskers, hidden_marks, hidden_labels, no_data_labels).properties(height=HEIGHT)


def heat_map(cells: pd.DataFrame, k: int) -> AnyChart:
    """Weekday x hour: the mean arrivals per day, on a colour scale from 0; a cell below k
    on every day is grey and labelled, a cell without any data pale red."""
    weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    x = alt.X("hour:O", title="hour (local)")
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
        .encode(
            x=x,
            y=y,
            color=alt.Color("mean_arrivals:Q", title="arrivals per day", scale=alt.Scale(domainMin=0, zero=True)),
            tooltip=tooltip,
        )
    )
    hidden = (
        base.transform_filter(alt.datum.state == figures.HIDDEN)
        .mark_rect(color=GREY, opacity=0.35)
        .encode(x=x, y=y, tooltip=tooltip)
    )
    hidden_labels = (
        base.transform_filter(alt.datum.state == figures.HIDDEN)
        .mark_text(color=DARK_GREY, fontSize=9)
        .encode(x=x, y=y, text="shown:N", tooltip=tooltip)
    )
    no_data = (
        base.transform_filter(alt.datum.state == figures.NO_DATA)
        .mark_rect(color=PALE_RED, opacity=0.6)
        .encode(x=x, y=y, tooltip=tooltip)
    )
    return alt.layer(no_data, hidden, hidden_labels, known).properties(height=300)


def lines(
    frame: pd.DataFrame, x: str, y: str, series: str | None, x_title: str, y_title: str, y_format: str = ""
) -> AnyChart:
    """A figure day by day (x: dates); a day flagged in `note` (stores without data) is an amber point."""
    encoding: dict = {
        "x": alt.X(f"{x}:T", title=x_title, axis=DAY_AXIS, scale=alt.Scale(type="utc")),
        "y": alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format=y_format) if y_format else alt.Undefined),
        "tooltip": [alt.Tooltip(f"{x}:T", title=x_title), alt.Tooltip("shown:N", title=y_title)],
    }
    if series:
        encoding["color"] = alt.Color(f"{series}:N", title=None, legend=alt.Legend(orient="top"))
        encoding["tooltip"].insert(0, alt.Tooltip(f"{series}:N"))
    line = alt.Chart(frame).mark_line(point=True).encode(**encoding)
    if "note" not in frame.columns:
        return line.properties(height=HEIGHT)
    encoding["tooltip"].append(alt.Tooltip("note:N", title="note"))
    flagged = (
        alt.Chart(frame)
        .transform_filter("datum.note != ''")
        .mark_point(shape="diamond", size=140, filled=True, color=AMBER)
        .encode(x=encoding["x"], y=encoding["y"], tooltip=encoding["tooltip"])
    )
    return alt.layer(line, flagged).properties(height=HEIGHT)


def occupancy(frame: pd.DataFrame, series: str | None, k: int) -> AnyChart:
    """People present per 5 minutes by the store's clock: bins below k as a grey mark on
    the baseline (never a value), bins no sensor covered as a pale red band, the line
    broken at both."""
    x = _clock_axis()
    y = alt.Y("present:Q", title="people present")
    tooltip = [alt.Tooltip("time:N", title="time"), alt.Tooltip("shown:N", title="present")]
    if series:
        tooltip.insert(0, alt.Tooltip(f"{series}:N", title="store"))
    top = max(float(frame["present"].max()) if frame["present"].notna().any() else 0.0, float(k))
    base = alt.Chart(frame.assign(top=top, zero=0.0))
    silent = (
        base.transform_filter(alt.datum.state == figures.NO_DATA)
        .mark_bar(color=PALE_RED, opacity=0.6, width=2)
        .encode(x=x, y=alt.Y("top:Q", title="people present"), tooltip=tooltip)
    )
    hidden = (  # never drawn as a value: a grey mark on the baseline
        base.transform_filter(alt.datum.state == figures.HIDDEN)
        .mark_tick(color=GREY, thickness=4, orient="horizontal")
        .encode(x=x, y=alt.Y("zero:Q", title="people present"), tooltip=tooltip)
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
