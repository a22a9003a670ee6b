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

# A bar's state in the charts and its legend label (k is filled in). A hidden count is
# never drawn as a value: it is a marked cell with its label ("< 5"), at the baseline.
SHOWN = "count"
HIDDEN = "below k"
PARTIAL = "some cells below k"
INCOMPLETE = "some stores without data"
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


def visitors(row: pd.Series | None, k: int) -> Figure:
    """The visitors count, with the plausible range of the estimate where the marts
    carry one for every published day of the total ("312 (290-335)")."""
    figure = count(row, "visitors", k)
    if row is None or not _has_rows(row) or "visitors_low" not in row.index:
        return figure
    low, high = row.get("visitors_low"), row.get("visitors_high")
    if display.is_missing(low) or display.is_missing(high) or as_int(row.get("visitors_unranged")):
        return figure  # marts written before the estimator's range: the count alone
    hidden = as_int(row.get("visitors_hidden"))
    bottom, top = as_int(low), as_int(high) + hidden * max(k - 1, 0)
    known, most = display.count_bounds(row.get("visitors"), hidden, k)
    if (bottom, top) == (known, most):  # no wider than the count itself: nothing to add
        return figure
    return Figure(display.with_range(figure.text, bottom, top), figure.value)


def rate(row: pd.Series | None, k: int, numerator: str = "rate_visitors", other: str = "rate_passersby") -> Figure:
    """visitors / (visitors + passers-by) over the rows where both are published."""
    if row is None or not _has_rows(row):
        return Figure(display.NO_DATA, None)
    top, rest = _get(row, numerator), _get(row, other)
    if display.is_missing(top) or display.is_missing(rest) or float(top) + float(rest) == 0:  # type: ignore[arg-type]
        hidden = as_int(row.get("rate_hidden"))
        return Figure(display.too_few(k) if hidden else "nobody counted", None)
    value = float(top) / (float(top) + float(rest))  # type: ignore[arg-type]
    return Figure(display.percent(value), value)


def dwell(row: pd.Series | None, name: str, k: int) -> Figure:
    if row is None or not _has_rows(row):
        return Figure(display.NO_DATA, None)
    value = row[name]
    if display.is_missing(value):
        return Figure(display.too_few(k), None)
    return Figure(display.duration(value), float(value))


def reference(figures: list[Figure]) -> float | None:
    """The average of the earlier days' figures, over those known exactly."""
    values = [f.value for f in figures if f.value is not None]
    return sum(values) / len(values) if values else None


BAR_COLUMNS = ["height", "high", "state", "shown", "note"]


def bar_frame(
    frame: pd.DataFrame,
    x: str,
    name: str,
    k: int,
    no_data: pd.Series | None = None,
    incomplete: pd.Series | None = None,
) -> pd.DataFrame:
    """A chart's rows for a count column: height (None unless a value is known: a hidden
    count is never drawn as one), high (the top of a total's range), state (for the
    legend), the text shown, and a note (which stores have no data)."""
    rows = []
    for index, row in frame.iterrows():
        hidden = as_int(row.get(f"{name}_hidden"))
        value = row[name]
        low, high = display.count_bounds(value, hidden, k)
        text = display.count(value, hidden, k)
        note = str(incomplete.loc[index]) if incomplete is not None and incomplete.loc[index] else ""
        if no_data is not None and bool(no_data.loc[index]):
            rows.append(
                {x: row[x], "height": None, "high": None, "state": NO_DATA, "shown": display.NO_DATA, "note": ""}
            )
            continue
        if hidden and low == 0:
            state, height, top = HIDDEN, None, None
        elif hidden:
            state, height, top = PARTIAL, low, high
        else:
            state, height, top = SHOWN, low, None
        if note and state != HIDDEN:
            state = INCOMPLETE
        rows.append({x: row[x], "height": height, "high": top, "state": state, "shown": text, "note": note})
    return pd.DataFrame(rows, columns=[x, *BAR_COLUMNS])


def value_frame(x_values: list, figures: list[Figure], no_data: list[bool] | None = None, x: str = "x") -> pd.DataFrame:
    """A chart's rows for figures that are not counts (rates): the value where it is
    known, else a labelled cell ("too few", "no data") with no height."""
    rows = []
    for position, (value, figure) in enumerate(zip(x_values, figures, strict=True)):
        silent = no_data is not None and no_data[position]
        state = NO_DATA if silent else SHOWN if figure.known else HIDDEN
        rows.append({x: value, "height": figure.value, "high": None, "state": state, "shown": figure.text, "note": ""})
    return pd.DataFrame(rows, columns=[x, *BAR_COLUMNS])


def missing_stores(stores_with_data: object, selected: tuple[str, ...]) -> str:
    """'' when every selected store has data, else which ones have none ("north: no data")."""
    have = set() if stores_with_data is None or display.is_missing(stores_with_data) else set(stores_with_data)  # type: ignore[call-overload]
    lacking = [store for store in selected if store not in have]
    if not lacking or len(lacking) == len(selected):
        return ""
    return f"no data from {', '.join(lacking)}"


def wall_clock(ts: pd.Series, zone: str) -> pd.Series:
    """UTC instants as the store's wall clock, tagged UTC so a browser in any time zone
    draws 09:00 where the store opens (the charts use UTC scales)."""
    local = pd.to_datetime(ts, utc=True).dt.tz_convert(zone).dt.tz_localize(None)
    return local.dt.tz_localize("UTC")


def local_time_text(ts: datetime | pd.Timestamp, zone: str) -> str:
    return pd.Timestamp(ts).tz_convert(zone).strftime("%H:%M")


def dates_text(days: list[date]) -> str:
    return ", ".join(display.day(d) for d in days)
