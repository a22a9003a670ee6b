"""How figures read on the dashboard: counts with thousands separators, suppressed
cells as "< k" (never 0, never blank), durations in minutes and hours, rates in
percent, and "no data" where nothing was recorded.

A total over several store-days may include suppressed cells: each is a count from
0 to k-1 that the marts do not publish, so the total is only known to lie in a
range, and it is shown as that range ("120 to 124" with an en dash), or as "< n" when every part is
hidden. Nothing here reads data; the pages pass it the marts' figures.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd

NO_DATA = "no data"
DASH = "\u2013"  # en dash, for ranges: 120-124 printed properly
TIMES = "\u00d7"
DAY = "%a %-d %b"  # every day axis and day label: "Fri 15 Mar" (strftime and Vega-Lite read it alike)
DAY_YEAR = "%a %-d %b %Y"  # in tables, where a range may span years


def below_k(k: int) -> str:
    """What a count hidden below k reads: "< k"; with k = 1 (the marts were published
    with a larger k than the one configured now) no bound is known."""
    return f"< {k}" if k > 1 else "suppressed"


def is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def count(value: object, hidden: int = 0, k: int = 5, rows: int | None = None) -> str:
    """A count, or a total of counts `hidden` of which are suppressed (below k each).
    rows = 0 (no store-day at all) is "no data": nothing was recorded, which is not zero."""
    if rows == 0:
        return NO_DATA
    known = 0 if is_missing(value) else int(value)  # type: ignore[call-overload]
    hidden = int(hidden or 0)
    if hidden == 0:
        return f"{known:,}"
    if k <= 1:  # published with a larger k than the one configured now: no bound is known
        return below_k(k) if known == 0 else f"at least {known:,}"
    most = known + hidden * (k - 1)
    if known == 0:
        return f"< {most + 1:,}"
    return f"{known:,}{DASH}{most:,}"


def count_bounds(value: object, hidden: int, k: int) -> tuple[int, int]:
    """The lowest and highest the true total can be."""
    known = 0 if is_missing(value) else int(value)  # type: ignore[call-overload]
    return known, known + int(hidden or 0) * max(k - 1, 0)


def with_range(text: str, low: int, high: int) -> str:
    """A count with the plausible range of its estimate: "312 (290-335)"."""
    return f"{text} ({low:,}{DASH}{high:,})"


def share_range(low: float, high: float) -> str:
    """A share known to lie between two values: "12%", or "0-3%"."""
    if round(low * 100) == round(high * 100):
        return percent(low)
    return f"{low * 100:.0f}{DASH}{high * 100:.0f}%"


def too_few(k: int) -> str:
    """A rate or a dwell that needs a hidden count."""
    return f"too few ({below_k(k)})" if k > 1 else "too few (suppressed)"


def percent(rate: object, k: int | None = None) -> str:
    if is_missing(rate):
        return too_few(k) if k else NO_DATA
    return f"{float(rate) * 100:.0f}%"  # type: ignore[arg-type]


def duration(seconds: object, k: int | None = None) -> str:
    """41 min, 1 h 05 min; a dwell of suppressed visits reads "too few (< k)"."""
    if is_missing(seconds):
        return too_few(k) if k else NO_DATA
    total_minutes = round(float(seconds) / 60)  # type: ignore[arg-type]
    if total_minutes < 1:
        return f"{round(float(seconds))} s"  # type: ignore[arg-type]
    if total_minutes < 60:
        return f"{total_minutes} min"
    hours, minutes = divmod(total_minutes, 60)
    return f"{hours} h {minutes:02d} min"


def change(current: float | None, reference: float | None) -> str | None:
    """+12% / -8% against a reference; None when there is nothing to compare."""
    if current is None or reference is None or reference == 0:
        return None
    return f"{(current - reference) / reference:+.0%}"  # an ASCII sign: st.metric reads it for the arrow


def day_label(day: date, today: date | None = None) -> str:
    """'Today', 'Yesterday', or 'Friday 15 March 2024' (a heading)."""
    if today is not None:
        if day == today:
            return f"Today ({day:%A %-d %B})"
        if (today - day).days == 1:
            return f"Yesterday ({day:%A %-d %B})"
    return f"{day:%A %-d %B %Y}"


def day(value: date) -> str:
    """A day on an axis or in a list: 'Fri 15 Mar'."""
    return f"{value:{DAY}}"


def day_in_table(value: date) -> str:
    return f"{value:{DAY_YEAR}}"


def hours_range(hour: int) -> str:
    return f"{hour:02d}:00{DASH}{(hour + 1) % 24:02d}:00"


def points(current: float | None, reference: float | None) -> str | None:
    """The change of a rate in percentage points: +3 pts."""
    if current is None or reference is None:
        return None
    return f"{(current - reference) * 100:+.1f} pts"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"
