"""From the totals the queries return to the figures a page shows: each one as the
text a person reads and, when it is known exactly, its value (for deltas and charts).

Kept apart from the pages so that the rules (a suppressed count is "< k", a total
with suppressed parts is a range, a day without a row is "no data", a rate or a
dwell is computed only from what is published) live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from footfall.dashboard import display

# A bar's state in the charts and its legend label (k is filled in).
SHOWN = "count"
HIDDEN = "below k"
PARTIAL = "some cells below k"
NO_DATA = display.NO_DATA


@dataclass(frozen=True)
class Figure:
    text: str
    value: float | None  # None unless known exactly

    @property
    def known(self) -> bool:
        return self.value is not None


def _get(row: pd.Series | None, name: str) -> object:
    return None if row is None else row.get(name)


def as_int(value: object) -> int:
    """A count that may be missing (NaN, NA, None) as an int, missing as 0."""
    return 0 if display.is_missing(value) else int(value)  # type: ignore[call-overload]


def _has_rows(row: pd.Series | None) -> bool:
    return row is not None and as_int(row.get("rows")) > 0


def count(row: pd.Series | None, name: str, k: int) -> Figure:
    """A count column (with its `<name>_hidden` companion) of a totals row."""
    if row is None or not _has_rows(row):
        return Figure(display.NO_DATA, None)
    value, hidden = row[name], as_int(row[f"{name}_hidden"])
    text = display.count(value, hidden, k)
    exact = None if hidden or display.is_missing(value) else float(value)
    return Figure(text, exact)


def rate(row: pd.Series | None, k: int, numerator: str = "rate_visitors", other: str = "rate_passersby") -> Figure:
    """visitors / (visitors + passers-by) over the rows where both are published."""
    if row is None or not _has_rows(row):
        return Figure(display.NO_DATA, None)
    top, rest = _get(row, numerator), _get(row, other)
    if display.is_missing(top) or display.is_missing(rest) or float(top) + float(rest) == 0:  # type: ignore[arg-type]
        hidden = as_int(row.get("rate_hidden"))
        return Figure(f"too few (< {k})" if hidden else "nobody counted", None)
    value = float(top) / (float(top) + float(rest))  # type: ignore[arg-type]
    return Figure(display.percent(value), value)


def dwell(row: pd.Series | None, name: str, k: int) -> Figure:
    if row is None or not _has_rows(row):
        return Figure(display.NO_DATA, None)
    value = row[name]
    if display.is_missing(value):
        return Figure(f"too few (< {k})", None)
    return Figure(display.duration(value), float(value))


def reference(figures: list[Figure]) -> float | None:
    """The average of the earlier days' figures, over those known exactly."""
    values = [f.value for f in figures if f.value is not None]
    return sum(values) / len(values) if values else None


def bar_frame(frame: pd.DataFrame, x: str, name: str, k: int, no_data: pd.Series | None = None) -> pd.DataFrame:
    """A chart's rows for a count column: height, state (for the legend) and the text shown.
    A fully suppressed bar is drawn at k-1, the most it can be, in grey."""
    rows = []
    for index, row in frame.iterrows():
        hidden = as_int(row.get(f"{name}_hidden"))
        value = row[name]
        low, high = display.count_bounds(value, hidden, k)
        if no_data is not None and bool(no_data.loc[index]):
            state, height, text = NO_DATA, 0, display.NO_DATA
        elif hidden and low == 0:
            state, height, text = HIDDEN, high, display.count(value, hidden, k)
        elif hidden:
            state, height, text = PARTIAL, low, display.count(value, hidden, k)
        else:
            state, height, text = SHOWN, low, display.count(value, 0, k)
        rows.append({x: row[x], "height": height, "state": state, "shown": text})
    return pd.DataFrame(rows, columns=[x, "height", "state", "shown"])


def wall_clock(ts: pd.Series, zone: str) -> pd.Series:
    """UTC instants as the store's wall clock, tagged UTC so a browser in any time zone
    draws 09:00 where the store opens (the charts use UTC scales)."""
    local = pd.to_datetime(ts, utc=True).dt.tz_convert(zone).dt.tz_localize(None)
    return local.dt.tz_localize("UTC")


def local_time_text(ts: datetime | pd.Timestamp, zone: str) -> str:
    return pd.Timestamp(ts).tz_convert(zone).strftime("%H:%M")


def dates_text(days: list[date]) -> str:
    return ", ".join(f"{d:%-d %b}" for d in days)
