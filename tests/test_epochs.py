"""Local days and salt epochs, against a per-timestamp zoneinfo conversion."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.epochs import StoreCalendar

ZONES = ["Europe/Prague", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "UTC"]


def _expected(ts_us: int, calendar: StoreCalendar) -> tuple[str, str]:
    local = datetime.fromtimestamp(ts_us / 1e6, UTC).astimezone(calendar.zone)
    if calendar.kind == "day":
        epoch = local.date().isoformat()
    elif calendar.kind == "hour":
        epoch = local.strftime("%Y-%m-%dT%H")
    else:
        year, week, _ = local.isocalendar()
        epoch = f"{year}-W{week:02d}"
    return local.date().isoformat(), epoch


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    kind=st.sampled_from(["hour", "day", "week"]),
    stamps=st.lists(
        st.integers(min_value=946_684_800_000_000, max_value=2_524_608_000_000_000), min_size=1, max_size=60
    ),
    near=st.integers(min_value=0, max_value=2 * 86_400_000_000),
)
def test_labels_match_zoneinfo(zone: str, kind: str, stamps: list[int], near: int) -> None:
    """Random instants, plus a cluster near the first one (a batch spans minutes)."""
    calendar = StoreCalendar(zone, kind)
    stamps = stamps + [stamps[0] + near - k * 997_000_000 for k in range(20)]
    ts = np.array(stamps, np.int64)
    dates, epochs = calendar.label(ts)
    for i, stamp in enumerate(stamps):
        assert (dates.labels[dates.codes[i]], epochs.labels[epochs.codes[i]]) == _expected(stamp, calendar)


def test_dst_days_and_epoch_bounds() -> None:
    prague = StoreCalendar("Europe/Prague", "day")
    spring = prague.epoch_of("2024-03-31")  # 23 hours long
    assert spring.start == datetime(2024, 3, 30, 23, tzinfo=UTC)
    assert spring.end == datetime(2024, 3, 31, 22, tzinfo=UTC)
    hour = StoreCalendar("Europe/Prague", "hour").epoch_of("2024-10-27T02")  # the repeated hour
    assert hour.start == datetime(2024, 10, 27, 0, tzinfo=UTC)
    assert hour.end == datetime(2024, 10, 27, 2, tzinfo=UTC)
    week = StoreCalendar("Europe/Prague", "week").epoch_of("2024-W11")
    assert week.start == datetime(2024, 3, 10, 23, tzinfo=UTC) and week.end == datetime(2024, 3, 17, 23, tzinfo=UTC)


def test_a_stray_timestamp_far_away_is_cheap() -> None:
    calendar = StoreCalendar("Europe/Prague", "hour")
    ts = np.array([0, 1_710_500_000_000_000, 1_710_500_000_000_001], np.int64)
    dates, _ = calendar.label(ts)
    assert dates.labels == ["1970-01-01", "2024-03-15"]
