"""The tracker over one store-epoch: pseudonyms in, one phone index per pseudonym out."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from footfall.pipeline.tracking import assignment, evidence, scans, stitching
from footfall.pipeline.tracking.evidence import NEAR_STEP, Habits
from footfall.pipeline.tracking.scans import Pseudonyms

PASSES = 3  # assignments: the first with guessed arrival rates and habits, then with learnt ones
FOLLOWED_SHARE = 0.8  # of a phone's steps that continue its sequence number: followed, not guessed


@dataclass(frozen=True)
class StoreRules:
    gap_us: int  # the store's visit gap: the longest silence within one visit


@dataclass(frozen=True)
class Resolved:
    """Per pseudonym: its phone (an index within the store-epoch) and whether that
    phone was followed (a fixed address, or sequence numbers that run on) rather than
    guessed from layout, timing and level."""

    phone: np.ndarray
    followed: np.ndarray


def resolve(p: Pseudonyms, rules: StoreRules) -> Resolved:
    n = len(p)
    phone = np.arange(n, dtype=np.int64)
    followed = np.ones(n, bool)
    linkable = scans.rotating(p)
    if not linkable.any():
        return Resolved(phone, followed)
    idx = np.flatnonzero(linkable)
    continuity = evidence.layout_continuity(
        p.first_us[idx], p.last_us[idx], p.seq_first[idx], p.seq_last[idx], p.layout[idx]
    )
    runs_on = {layout for layout, share in continuity.items() if share >= 0.5}
    scan_of, by_layout = scans.group_scans(p, linkable, p.layout, runs_on)
    first_tracking = _Tracker(by_layout, p, scan_of, continuity, rules).run()
    family_of = scans.sibling_families(by_layout, first_tracking)
    family = np.array([family_of.get(int(v), int(v)) for v in p.layout], np.int64)
    scan_of, s = scans.group_scans(p, linkable, family, runs_on)
    tracker = _Tracker(s, p, scan_of, continuity, rules)
    track = tracker.run()
    followed_track = _followed(s, track, tracker.continuity)
    members = np.flatnonzero(scan_of >= 0)
    phone[members] = n + track[scan_of[members]]
    followed[members] = followed_track[track[scan_of[members]]]
    _, phone = np.unique(phone, return_inverse=True)
    return Resolved(phone.astype(np.int64), followed)


class _Tracker:
    """The assignment passes over one store-epoch's scans, learning as it goes."""

    def __init__(
        self, s: scans.Scans, p: Pseudonyms, scan_of: np.ndarray, continuity: dict[int, float], rules: StoreRules
    ):
        self.rules = rules
        self.i, self.j = evidence.pairs_within(s.first_us, s.last_us, s.family, rules.gap_us)
        noise, drift = evidence.level_noise(s, self.i, self.j, continuity, p.rssi, scan_of)
        self.habits = Habits(noise, drift, steps=evidence.step_profile(s, self.i, self.j, continuity))
        self.continuity = continuity
        self.scans = s

    def run(self) -> np.ndarray:
        s, starts = self.scans, None
        track = np.zeros(len(s), np.int64)
        for _ in range(PASSES):
            track = self._pass(s, starts)
            starts = assignment.first_scans(s, track)
            self.continuity = evidence.continuity_along(s, track, self.continuity)
            blank = replace(self.habits, stay=None, gap_density=None, arrival_level=None)
            self.habits = evidence.habits_of_followed(s, track, self.continuity, blank)
        return stitching.stitch(s, track)

    def _pass(self, s: scans.Scans, starts) -> np.ndarray:
        cost = assignment.transition_costs(s, self.i, self.j, self.continuity, self.habits, self.rules.gap_us)
        return assignment.assign(s, self.i, self.j, cost, assignment.arrival_costs(s, starts), self.habits)


def _followed(s: scans.Scans, track: np.ndarray, continuity: dict[int, float]) -> np.ndarray:
    """Per track: most of its steps continue the sequence number, or (one scan only)
    its layout's numbers run on."""
    order = np.lexsort((s.first_us, track))
    t = track[order]
    same = t[1:] == t[:-1]
    d = evidence.step(s.seq_last[order][:-1], s.seq_first[order][1:])
    continues = same & (d >= 1) & (d <= 4 * NEAR_STEP)
    tracks = track.max() + 1
    steps = np.bincount(t[1:][same], minlength=tracks)
    kept = np.bincount(t[1:][continues], minlength=tracks)
    layout = np.zeros(tracks, np.int64)
    layout[track] = s.layout
    by_layout = evidence.per_layout(continuity, layout) >= FOLLOWED_SHARE
    return np.where(steps >= 2, kept >= FOLLOWED_SHARE * np.maximum(steps, 1), by_layout)
