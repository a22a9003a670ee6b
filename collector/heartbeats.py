"""A sensor's heartbeat: what it heard each UTC minute.

Per minute: frames of any kind, probe requests, malformed frames and, where the
operating system reports them, frames the capture dropped. The file mode writes the
minutes a capture has frames in. A running collector (a stream or a live
interface) also writes the minutes in which it heard nothing, with zeros, so that
"nobody came" (a row of zeros) can be told from "the sensor was down" (no row).

A minute may get several rows (one per rolling part, or a late frame after an idle
minute was written): readers sum them, as the pipeline's sensor-health mart does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# Between two frames of a stream, minutes without any frame are filled with zeros
# up to this gap; a longer jump is a clock change or a corrupt timestamp, not a
# quiet day, and must not write months of rows.
MAX_FILL_MINUTES = 24 * 60


@dataclass(frozen=True)
class MinuteRows:
    """One row per minute, sorted; drops is None when the source does not report them."""

    minute: np.ndarray  # int64, UTC minutes since the epoch
    frames: np.ndarray
    probes: np.ndarray
    malformed: np.ndarray
    drops: np.ndarray | None

    def __len__(self) -> int:
        return len(self.minute)

    def take(self, rows: np.ndarray) -> MinuteRows:
        drops = None if self.drops is None else self.drops[rows]
        return MinuteRows(self.minute[rows], self.frames[rows], self.probes[rows], self.malformed[rows], drops)

    def merged(self, other: MinuteRows) -> MinuteRows:
        """Both, one row per minute (the counts of a minute in both added up)."""
        every = np.concatenate([self.minute, other.minute])
        distinct, inverse = np.unique(every, return_inverse=True)
        inverse = inverse.reshape(-1)

        def summed(mine: np.ndarray, theirs: np.ndarray) -> np.ndarray:
            values = np.concatenate([mine, theirs]).astype(np.int64)
            return np.bincount(inverse, weights=values, minlength=len(distinct)).astype(np.int64)

        drops = None
        if self.drops is not None or other.drops is not None:
            zeros = np.zeros(len(self), np.int64), np.zeros(len(other), np.int64)
            mine = self.drops if self.drops is not None else zeros[0]
            theirs = other.drops if other.drops is not None else zeros[1]
            drops = summed(mine, theirs)
        return MinuteRows(
            distinct,
            summed(self.frames, other.frames),
            summed(self.probes, other.probes),
            summed(self.malformed, other.malformed),
            drops,
        )


class MinuteCounts:
    """Counts accumulated between two writes; take() empties it (memory stays bounded)."""

    def __init__(self, *, fill_gaps: bool = False, reports_drops: bool = False) -> None:
        self.fill_gaps = fill_gaps
        self.reports_drops = reports_drops
        self._runs: list[np.ndarray] = []  # parser runs (minute, frames, probes, malformed)
        self._zeros: list[np.ndarray] = []  # minutes heard empty
        self._drops: dict[int, int] = {}
        self._last: int | None = None  # the last minute accounted for, in stream order

    def add_runs(self, runs: np.ndarray) -> None:
        """Runs from ProbeParser.take_minutes(), in stream order."""
        if len(runs) == 0:
            return
        self._runs.append(runs.copy())
        minutes = runs["minute"].astype(np.int64)
        if self.fill_gaps and self._last is not None:
            self._fill(np.concatenate(([self._last], minutes)))
        elif self.fill_gaps:
            self._fill(minutes)
        self._last = int(minutes[-1])

    def cover_until(self, minute: int) -> None:
        """The collector was listening up to this minute: quiet minutes since the last
        one accounted for get zero rows."""
        if self._last is None:
            self._zeros.append(np.array([minute], np.int64))
        elif minute > self._last:
            self._fill(np.array([self._last, minute], np.int64), inclusive=True)
        else:
            return
        self._last = minute

    def discard_frames(self, covered: Callable[[np.ndarray], np.ndarray]) -> int:
        """Forgets the parser's counts of the minutes `covered` selects (bytes another
        capture already counted); the minutes heard empty and the drops stay, since they
        are this collector's own listening. Returns the frames forgotten."""
        forgotten = 0
        kept = []
        for run in self._runs:
            drop = covered(run["minute"].astype(np.int64))
            forgotten += int(run["frames"][drop].sum())
            if not drop.all():
                kept.append(run[~drop])
        self._runs = kept
        return forgotten

    def add_drops(self, minute: int, count: int) -> None:
        self._drops[minute] = self._drops.get(minute, 0) + count

    def take(self) -> MinuteRows:
        minutes = [run["minute"].astype(np.int64) for run in self._runs] + self._zeros
        minutes.append(np.fromiter(self._drops, np.int64, len(self._drops)))
        every = np.concatenate(minutes)
        distinct, inverse = np.unique(every, return_inverse=True)
        inverse = inverse.reshape(-1)

        def column(name: str) -> np.ndarray:
            values = np.zeros(len(every), np.int64)
            if self._runs:
                counted = np.concatenate([run[name] for run in self._runs]).astype(np.int64)
                values[: len(counted)] = counted
            return np.bincount(inverse, weights=values, minlength=len(distinct)).astype(np.int64)

        drops = None
        if self.reports_drops:
            drops = np.zeros(len(distinct), np.int64)
            for minute, count in self._drops.items():
                drops[np.searchsorted(distinct, minute)] += count
        rows = MinuteRows(distinct, column("frames"), column("probes"), column("malformed"), drops)
        self._runs, self._zeros, self._drops = [], [], {}
        return rows

    def _fill(self, minutes: np.ndarray, inclusive: bool = False) -> None:
        """Zero rows for the minutes strictly between consecutive values (and the last
        value itself with inclusive), where the gap is short enough to be quiet time."""
        start, end = minutes[:-1], minutes[1:]
        gap = end - start - (0 if inclusive else 1)
        gap = np.where((gap > 0) & (end - start <= MAX_FILL_MINUTES), gap, 0)
        total = int(gap.sum())
        if total == 0:
            return
        first = np.repeat(start + 1, gap)
        offsets = np.arange(total) - np.repeat(np.cumsum(gap) - gap, gap)
        self._zeros.append(first + offsets)
