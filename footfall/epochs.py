"""Local days and salt epochs of a store, from UTC timestamps.

Partitions are the store's local days and salts live for one local epoch (hour, day
or ISO week), so both depend on the store's timezone, DST included. Every boundary of
a real timezone falls on a UTC quarter hour, so a timestamp's local day and epoch are
those of its quarter hour: each distinct quarter is converted once, whatever the
number of frames, and a stray timestamp decades away costs one conversion, not a
walk over every day in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

EpochKind = Literal["hour", "day", "week"]

QUARTER_US = 15 * 60 * 1_000_000
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_us(moment: datetime) -> int:
    """An aware datetime as UTC microseconds, exactly (no float on the way)."""
    delta = moment - _UNIX_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def utc_datetime(ts_us: int | None) -> datetime | None:
    """UTC microseconds (as the parser gives them) as a datetime; None stays None."""
    return None if ts_us is None else datetime.fromtimestamp(ts_us / 1e6, UTC)


@dataclass(frozen=True)
class Epoch:
    """One salt epoch: its label (the salt's name) and where it ends, in UTC."""

    label: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Labelled:
    """Per-row codes into a list of labels (for dictionary-encoded columns)."""

    codes: np.ndarray
    labels: list[str]


class StoreCalendar:
    """Maps UTC microsecond timestamps to the store's local dates and epochs."""

    def __init__(self, timezone: str, epoch: EpochKind) -> None:
        self.zone = ZoneInfo(timezone)
        self.kind = epoch
        self._quarter = lru_cache(maxsize=65536)(self._quarter_uncached)

    def local_dates(self, ts_us: np.ndarray) -> Labelled:
        return self.label(ts_us)[0]

    def epoch_of(self, label: str) -> Epoch:
        """The epoch with this label (labels come from label())."""
        return self._epoch_by_label(label)

    def label(self, ts_us: np.ndarray) -> tuple[Labelled, Labelled]:
        """Each timestamp's local date and epoch."""
        if len(ts_us) == 0:
            empty = Labelled(np.zeros(0, dtype=np.int32), [])
            return empty, empty
        quarters = ts_us // QUARTER_US
        present, per_row = _distinct(quarters)
        labelled = []
        for which in (0, 1):
            per_quarter = [self._quarter(int(q))[which] for q in present.tolist()]
            labels = sorted(set(per_quarter))
            index = {label: i for i, label in enumerate(labels)}
            codes = np.fromiter((index[lab] for lab in per_quarter), dtype=np.int32, count=len(per_quarter))
            labelled.append(Labelled(codes[per_row], labels))
        return labelled[0], labelled[1]

    def _quarter_uncached(self, quarter: int) -> tuple[str, str]:
        local = datetime.fromtimestamp(quarter * (QUARTER_US // 1_000_000), UTC).astimezone(self.zone)
        return local.date().isoformat(), self._epoch_label(local)

    def _epoch_label(self, local: datetime) -> str:
        if self.kind == "day":
            return local.date().isoformat()
        if self.kind == "hour":
            return local.strftime("%Y-%m-%dT%H")
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"

    def _epoch_by_label(self, label: str) -> Epoch:
        if self.kind == "day":
            first = date.fromisoformat(label)
            start, end = self._midnight(first), self._midnight(first + timedelta(days=1))
        elif self.kind == "week":
            year, week = label.split("-W")
            first = date.fromisocalendar(int(year), int(week), 1)
            start, end = self._midnight(first), self._midnight(first + timedelta(days=7))
        else:
            local = datetime.strptime(label, "%Y-%m-%dT%H").replace(tzinfo=self.zone)
            start = local.astimezone(UTC)
            end = (local + timedelta(hours=1)).astimezone(UTC)
            if end <= start:  # the repeated hour when clocks go back
                end = start + timedelta(hours=1)
        return Epoch(label, start, end)

    def _midnight(self, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.zone).astimezone(UTC)


def label_first_day(label: str) -> date | None:
    """The local day an epoch label starts on (`2024-03-15`, `2024-03-15T13` or
    `2024-W11`), whatever the configured epoch; None for a label no calendar makes."""
    try:
        if len(label) == 10:
            return date.fromisoformat(label)
        if len(label) == 13 and label[10] == "T" and label[11:].isdigit() and int(label[11:]) < 24:
            return date.fromisoformat(label[:10])
        if len(label) == 8 and label[4:6] == "-W" and label[:4].isdigit() and label[6:].isdigit():
            return date.fromisocalendar(int(label[:4]), int(label[6:]), 1)
    except ValueError:
        return None
    return None


def _distinct(values: np.ndarray, dense_limit: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values, return_inverse=True), in linear time when the values span a
    small range (a batch of frames covers minutes, so its quarter hours are few)."""
    low = int(values.min())
    span = int(values.max()) - low + 1
    if span > dense_limit:
        distinct, inverse = np.unique(values, return_inverse=True)
        return distinct, inverse.reshape(-1)
    offsets = values - low
    seen = np.zeros(span, dtype=bool)
    seen[offsets] = True
    positions = np.flatnonzero(seen)
    lookup = np.empty(span, dtype=np.int64)
    lookup[positions] = np.arange(len(positions))
    return positions + low, lookup[offsets]
