"""How many people the phones that cannot be followed stand for.

Where a family's phones draw a new address and a new sequence number at every scan,
the tracker has only timing and level to go on, and in a crowd of identical phones
it merges some of them (and splits others). How much, at this store's density today,
is measured rather than assumed: half of the phones that *can* be followed (their
sequence numbers run on) are tracked a second time with their sequence numbers
hidden, among all the others, exactly as the unfollowable phones are. The ratio of
their true number (with sequence numbers) to what the blind tracker made of them is
the multiplicity of a blind phone; its spread over resamples of those phones is the
uncertainty of every count that rests on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from footfall.pipeline.tracking.scans import Scans

RESAMPLES = 200
MIN_CALIBRATION = 10  # visitor-like followed phones in the hidden half before a ratio is trusted


@dataclass(frozen=True)
class Multiplicity:
    """People per unfollowed phone, and its standard error (0 where not measured)."""

    people: float = 1.0
    error: float = 0.0


@dataclass(frozen=True)
class VisitRules:
    gap_us: int
    min_dwell_us: int
    staff_us: int


def hidden_half(scans: Scans, track: np.ndarray, followed: np.ndarray) -> np.ndarray:
    """Per scan: whether it belongs to a followed phone chosen for the blind run (every
    other followed phone, in the order they arrive: deterministic, balanced)."""
    first = np.full(track.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, track, scans.first_us)
    chosen = np.zeros(track.max() + 1, bool)
    followed_tracks = np.flatnonzero(followed)
    chosen[followed_tracks[np.argsort(first[followed_tracks], kind="stable")][::2]] = True
    return chosen[track]


def without_sequence(scans: Scans, hide: np.ndarray) -> Scans:
    """The scans, those in `hide` tracked as if their sequence numbers said nothing."""
    return replace(scans, blind=hide)


def visitor_like(scans: Scans, track: np.ndarray, rules: VisitRules) -> np.ndarray:
    """Per track: whether the visit rules would make it a visitor (a piece between
    silences longer than the gap lasting the minimum visit with a scan at or above the
    threshold, and no more presence in the day than the staff limit). The pipeline's
    SQL classifies the visits; this is its shape for measuring the tracker, used only
    in a ratio of counts made the same way."""
    order = np.lexsort((scans.first_us, track))
    t, first, last = track[order], scans.first_us[order], scans.last_us[order]
    inside = np.nan_to_num(scans.margin[order], nan=0.0) >= 0  # no level read counts as inside
    new_visit = np.r_[True, (t[1:] != t[:-1]) | (first[1:] - last[:-1] > rules.gap_us)]
    visit = np.cumsum(new_visit) - 1
    visits = visit[-1] + 1
    start = np.full(visits, np.iinfo(np.int64).max)
    np.minimum.at(start, visit, first)
    end = np.zeros(visits, np.int64)
    np.maximum.at(end, visit, last)
    heard_inside = np.zeros(visits, bool)
    np.logical_or.at(heard_inside, visit, inside)
    owner = np.zeros(visits, np.int64)
    owner[visit] = t
    tracks = track.max() + 1
    presence = np.bincount(owner, weights=(end - start).astype(np.float64), minlength=tracks)
    counts = (end - start >= rules.min_dwell_us) & heard_inside & (presence[owner] <= rules.staff_us)
    result = np.zeros(tracks, bool)
    result[owner[counts]] = True
    return result


def multiplicity(
    scans: Scans, seen: np.ndarray, blind: np.ndarray, hidden: np.ndarray, rules: VisitRules
) -> Multiplicity:
    """People per blind phone: the hidden phones' visitors as followed (`seen`
    tracks), over the blind tracks they make up (`blind`, attributed to the hidden
    phones where most of their scans are)."""
    truth = visitor_like(scans, seen, rules)
    hidden_seen = np.unique(seen[hidden])
    true_count = truth[hidden_seen]
    blind_visitor = visitor_like(scans, blind, rules)
    share = np.bincount(blind, weights=hidden.astype(float), minlength=blind.max() + 1) / np.bincount(
        blind, minlength=blind.max() + 1
    )
    made = blind_visitor & (share > 0.5)
    if true_count.sum() < MIN_CALIBRATION or made.sum() == 0:
        return Multiplicity()
    people = float(true_count.sum() / made.sum())
    # the spread: resample the hidden phones, each taking the blind visitors it dominates
    owner = _dominant(seen, blind, hidden)
    made_by = np.bincount(owner[made & (owner >= 0)], minlength=seen.max() + 1)
    true_by = np.zeros(seen.max() + 1)
    true_by[hidden_seen] = true_count
    phones = hidden_seen
    rng = np.random.default_rng(len(phones))
    ratios = []
    for _ in range(RESAMPLES):
        pick = rng.choice(phones, size=len(phones))
        made_sum = made_by[pick].sum()
        if made_sum:
            ratios.append(true_by[pick].sum() / made_sum)
    error = float(np.std(ratios)) if ratios else people
    return Multiplicity(people, error if math.isfinite(error) else people)


def _dominant(seen: np.ndarray, blind: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Per blind track: the followed phone most of its hidden scans belong to (-1: none)."""
    owner = np.full(blind.max() + 1, -1)
    mine = np.flatnonzero(hidden)
    if len(mine) == 0:
        return owner
    pairs = np.stack([blind[mine], seen[mine]], axis=1)
    values, counts = np.unique(pairs, axis=0, return_counts=True)
    order = np.lexsort((-counts, values[:, 0]))
    first = np.r_[True, values[order][1:, 0] != values[order][:-1, 0]]
    best = values[order][first]
    owner[best[:, 0]] = best[:, 1]
    return owner
