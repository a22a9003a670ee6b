"""Phones present for hours whose track breaks are joined again.

The assignment cannot bridge a silence longer than the visit gap, and a phone that
stays all day (staff, a till) crosses many crowds of its own family: its track
breaks into pieces of an hour or more. Two long pieces of one family, the second
starting when (or shortly before) the first ends, at a similar level, are one phone
back from a break: joined, the day's limit on presence can see it as staff.
"""

from __future__ import annotations

import numpy as np

from footfall.pipeline.tracking.scans import S_US, Scans

LONG_S = 45 * 60  # a piece this long is not a customer's whole visit but someone staying
BREAK_MAX_S = 90 * 60
OVERLAP_MAX_S = 10 * 60  # pieces may overlap a little where the tracker swapped two phones
LEVEL_TOLERANCE_DB = 12.0
LEVEL_PER_BREAK_DB = 1.0 / 600  # a longer break may end elsewhere in the store: 1 dB per 10 minutes


def stitch(scans: Scans, track: np.ndarray) -> np.ndarray:
    tracks = track.max() + 1
    start = np.full(tracks, np.iinfo(np.int64).max)
    np.minimum.at(start, track, scans.first_us)
    end = np.zeros(tracks, np.int64)
    np.maximum.at(end, track, scans.last_us)
    family = np.zeros(tracks, np.int64)
    family[track] = scans.family
    long = np.flatnonzero((end - start) / S_US >= LONG_S)
    if len(long) < 2:
        return track
    peak = scans.peak
    level = {t: float(np.median(peak[track == t])) for t in long}
    joins = []
    for a in long:
        for b in long:
            pause = (start[b] - end[a]) / S_US
            if a != b and family[a] == family[b] and start[b] > start[a] and -OVERLAP_MAX_S <= pause <= BREAK_MAX_S:
                cost = abs(level[a] - level[b]) + max(pause, 0.0) * LEVEL_PER_BREAK_DB
                if cost <= LEVEL_TOLERANCE_DB:
                    joins.append((cost, int(a), int(b)))
    previous: dict[int, int] = {}
    following: set[int] = set()
    for _, a, b in sorted(joins):
        if a not in following and b not in previous:
            following.add(a)
            previous[b] = a
    root = np.arange(tracks)
    for b in sorted(previous, key=lambda t: start[t]):
        root[b] = root[previous[b]]
    return root[track]
