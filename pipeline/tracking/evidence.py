"""What the phones of this store-epoch teach the tracker, learnt from the data.

Nothing here is a constant tuned to one venue: the sequence step of a scan, how much a
phone's level drifts between scans, how long phones stay silent and how often they
leave are measured on the phones that can be followed (their sequence numbers run on
across address changes), today, in this store. Defaults stand only where there is
nothing to learn from (a capture of one iPhone).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from footfall.pipeline.tracking.scans import S_US, SEQ_MODULO, Scans

NEAR_STEP = 96  # a scan continues another's sequence number by at most this many frames (1..NEAR_STEP)
CHANCE_OFFSETS = (1024, 2048, 3072)  # steps this far off are chance: their share is what chance gives
CONTINUITY_MAX = 0.9995
STEP_BIN = 8
STEP_SPAN = 512
LEVEL_BINS = np.arange(-100.0, -15.0, 5.0)
GAP_MIN_S = 1.5
GAP_BINS = np.exp(np.linspace(math.log(GAP_MIN_S), math.log(3600.0), 25))
LEARN_MIN = 50  # scans of followed phones needed before their habits replace the defaults


@dataclass(frozen=True)
class Habits:
    """How phones behave here. `stay` is the chance that a scan heard at a level is
    followed by another of the same phone within the visit gap (by level bin);
    `gap_density` the density (1/s) of the silence before a phone's next heard scan;
    `arrival_level` the density (1/dB) of the level a phone is first heard at, per
    receiver. None where there was too little to learn from."""

    noise_db: float = 4.5  # a phone's level between two scans close in time
    drift_db2_per_s: float = 0.1  # ... and how the spread grows with the silence
    stay: np.ndarray | None = None
    gap_density: np.ndarray | None = None
    arrival_level: np.ndarray | None = None
    steps: np.ndarray | None = None  # density of the sequence step over STEP_BIN bins


def pairs_within(
    first_us: np.ndarray, last_us: np.ndarray, group: np.ndarray, reach_us: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) of one group with j starting GAP_MIN_S to reach_us after i ends."""
    order = np.lexsort((first_us, group))
    g, f, last = group[order], first_us[order].astype(np.float64), last_us[order]
    run = np.cumsum(np.r_[True, g[1:] != g[:-1]]) - 1
    run_end = np.r_[np.flatnonzero(g[1:] != g[:-1]) + 1, len(g)]
    key = f + run * 1e17  # (group, time) as one sorted number
    lo = np.searchsorted(key, last + GAP_MIN_S * S_US + run * 1e17, "left")
    hi = np.minimum(np.searchsorted(key, last + reach_us + run * 1e17, "right"), run_end[run])
    lo = np.minimum(lo, hi)
    counts = hi - lo
    i = np.repeat(np.arange(len(f)), counts)
    j = np.repeat(lo, counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return order[i], order[j]


def step(seq_from: np.ndarray, seq_to: np.ndarray) -> np.ndarray:
    return (seq_to - seq_from) % SEQ_MODULO


def layout_continuity(first_us, last_us, seq_first, seq_last, layout) -> dict[int, float]:
    """Per layout, the share of its phones whose sequence numbers run on across
    addresses: the share of its addresses that continue a predecessor's number
    (step 1..NEAR_STEP within ten minutes), above those continuing a number a quarter,
    half or three quarters of the sequence space away (chance), scaled by that share among this store's most
    continuous layouts (not every address has a predecessor in range)."""
    i, j = pairs_within(first_us, last_us, layout, 600 * S_US)
    d = step(seq_last[i], seq_first[j])
    values, of, totals = np.unique(layout, return_inverse=True, return_counts=True)
    hit = _share_with(j, (d >= 1) & (d <= NEAR_STEP), of, len(values))
    chance = np.mean([_share_with(j, _far(d, offset), of, len(values)) for offset in CHANCE_OFFSETS], axis=0)
    raw = {}
    for value, total, h, c in zip(
        values.tolist(), totals.tolist(), hit / np.maximum(totals, 1), chance / np.maximum(totals, 1), strict=True
    ):
        spread = math.sqrt((h * (1 - h) + c * (1 - c)) / total)
        if total >= 5 and h - c > 3 * spread:
            raw[int(value)] = (h - c) / max(1 - c, 1e-9)
    if not raw:
        return {}
    reference = max(float(np.quantile(list(raw.values()), 0.9)), 0.5)
    return {value: min(CONTINUITY_MAX, share / reference) for value, share in raw.items()}


def per_layout(values: dict[int, float], layout: np.ndarray) -> np.ndarray:
    """A layout's value for every element of `layout` (0 for a layout without one)."""
    known, of = np.unique(layout, return_inverse=True)
    return np.array([values.get(int(v), 0.0) for v in known], np.float64)[of.ravel()]


def _share_with(j: np.ndarray, flagged: np.ndarray, group_of: np.ndarray, groups: int) -> np.ndarray:
    """Per group: how many items j have at least one flagged pair."""
    return np.bincount(group_of[np.unique(j[flagged])], minlength=groups).astype(np.float64)


def _far(d: np.ndarray, offset: int) -> np.ndarray:
    """Steps in a window as wide as the near one, `offset` numbers away: chance."""
    shifted = (d - offset) % SEQ_MODULO
    return (shifted >= 1) & (shifted <= NEAR_STEP)


def continuity_along(scans: Scans, track: np.ndarray, prior: dict[int, float]) -> dict[int, float]:
    """The same share, now read along the tracks: of a layout's steps from one scan to
    the next of its phone (within five minutes), those that continue the number,
    above chance. It may raise the share seen in the addresses, never lower it: a
    track that merged two phones breaks their numbers, and a lower share would let
    the next pass merge more."""
    order = np.lexsort((scans.first_us, track))
    same = track[order][1:] == track[order][:-1]
    gap = (scans.first_us[order][1:] - scans.last_us[order][:-1]) / S_US
    d = step(scans.seq_last[order][:-1], scans.seq_first[order][1:])
    layout = scans.layout[order][1:]
    considered = same & (gap <= 300)
    continues = (d >= 1) & (d <= NEAR_STEP)
    chance = NEAR_STEP / SEQ_MODULO
    shares = dict(prior)
    for value in np.unique(layout[considered]):
        mine = considered & (layout == value)
        if mine.sum() >= 5:
            along = float(np.clip((continues[mine].mean() - chance) / (1 - chance), 0.0, CONTINUITY_MAX))
            shares[int(value)] = max(shares.get(int(value), 0.0), along)
    return shares


def step_profile(scans: Scans, i: np.ndarray, j: np.ndarray, continuity: dict[int, float]) -> np.ndarray | None:
    """Density of the sequence step from one scan to a phone's next heard scan,
    learnt from pairs of one family at most a minute apart, in layouts whose numbers
    run on, as the excess over the steps a quarter, half or three quarters of the
    sequence space away (chance, bin by bin)."""
    gap = (scans.first_us[j] - scans.last_us[i]) / S_US
    runs_on = per_layout(continuity, scans.layout)[i] >= 0.5
    d = step(scans.seq_last[i], scans.seq_first[j])[(gap <= 60) & runs_on]
    bins = np.arange(0, STEP_SPAN + STEP_BIN, STEP_BIN)
    counts, _ = np.histogram(d, bins=bins)
    chance = np.mean([np.histogram((d - offset) % SEQ_MODULO, bins=bins)[0] for offset in CHANCE_OFFSETS], axis=0)
    excess = np.convolve(np.maximum(counts - chance, 0.0), np.array([1, 2, 3, 2, 1]) / 9.0, mode="same")
    if excess.sum() < 20:
        return None
    return excess / (excess.sum() * STEP_BIN)


def level_noise(scans: Scans, i, j, continuity: dict[int, float], pseudonym_rssi, scan_of) -> tuple[float, float]:
    """How much a phone's level varies between scans: fitted on steps that surely are
    one phone's (a sequence continued within a few frames, in a continuous layout), as
    spread^2 = noise^2 + drift * silence; never below the spread of one phone's
    readings within a single scan (reflections, another channel's gain)."""
    gap = (scans.first_us[j] - scans.last_us[i]) / S_US
    d = step(scans.seq_last[i], scans.seq_first[j])
    shares = per_layout(continuity, scans.layout)[i]
    sure = (d >= 1) & (d <= 80) & (shares > 0.8) & (gap <= 300)
    noise, drift = Habits.noise_db, Habits.drift_db2_per_s
    if sure.sum() >= 30:
        diff = scans.rssi[j[sure]] - scans.rssi[i[sure]]
        silence = np.repeat(gap[sure][:, None], diff.shape[1], axis=1)
        read = ~np.isnan(diff)
        if read.sum() >= 30:
            x, y = silence[read], diff[read] ** 2
            coef, *_ = np.linalg.lstsq(np.c_[np.ones_like(x), x], np.minimum(y, np.quantile(y, 0.98)), rcond=None)
            noise, drift = math.sqrt(max(coef[0], 4.0)), max(float(coef[1]), 0.0)
    return max(noise, within_scan_spread(pseudonym_rssi, scan_of)), drift


def within_scan_spread(rssi: np.ndarray, scan_of: np.ndarray) -> float:
    members = np.flatnonzero(scan_of >= 0)
    order = members[np.argsort(scan_of[members], kind="stable")]
    same = scan_of[order][1:] == scan_of[order][:-1]
    if not same.any():
        return 0.0
    d = (rssi[order][1:] - rssi[order][:-1])[same]
    d = np.abs(d[~np.isnan(d)])
    if len(d) < 10:
        return 0.0
    return float(1.4826 * np.median(d) / math.sqrt(2))  # a robust sigma of one reading


def habits_of_followed(scans: Scans, track: np.ndarray, continuity: dict[int, float], base: Habits) -> Habits:
    """Stay, silence and arrival level, read off the tracks of continuous layouts."""
    followed = per_layout(continuity, scans.layout) >= 0.8
    order = np.lexsort((scans.first_us, track))
    t = track[order]
    has_next = np.r_[t[1:] == t[:-1], False]
    mine = followed[order]
    peak = scans.peak[order]
    usable = mine & (peak > -200)
    if usable.sum() < LEARN_MIN:
        return base
    level = np.clip(np.digitize(peak[usable], LEVEL_BINS) - 1, 0, len(LEVEL_BINS) - 2)
    stayed = np.bincount(level, weights=has_next[usable].astype(float), minlength=len(LEVEL_BINS) - 1)
    heard = np.bincount(level, minlength=len(LEVEL_BINS) - 1)
    stay = (stayed + 8 * 0.8) / (heard + 8)  # a prior of 8 scans staying 4 in 5
    gap = (scans.first_us[order][1:] - scans.last_us[order][:-1]) / S_US
    gap_density = _decreasing(_density(gap[has_next[:-1] & mine[:-1]], GAP_BINS), np.diff(GAP_BINS))
    starts = np.r_[True, t[1:] != t[:-1]] & mine
    arrivals = []
    for receiver in range(scans.rssi.shape[1]):
        levels = scans.rssi[order][starts, receiver]
        levels = levels[~np.isnan(levels)]
        if len(levels) < 20:
            return Habits(base.noise_db, base.drift_db2_per_s, stay, gap_density, None, base.steps)
        arrivals.append(_density(levels, LEVEL_BINS))
    return Habits(base.noise_db, base.drift_db2_per_s, stay, gap_density, np.array(arrivals), base.steps)


def _decreasing(density: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """The closest non-increasing density (pool-adjacent-violators, weighted by bin
    width). Phones differ in cadence, so the day's silences mix modes; a density that
    rose with the silence would make one phone cheaper as two interleaved phones at
    twice its silence. Non-increasing, a phone is never cheaper split."""
    values, weights, sizes = [], [], []
    for value, weight in zip(density.tolist(), widths.tolist(), strict=True):
        values.append(value)
        weights.append(weight)
        sizes.append(1)
        while len(values) > 1 and values[-2] < values[-1]:
            merged = (values[-2] * weights[-2] + values[-1] * weights[-1]) / (weights[-2] + weights[-1])
            weights[-2] += weights[-1]
            sizes[-2] += sizes[-1]
            values[-2] = merged
            del values[-1], weights[-1], sizes[-1]
    return np.repeat(values, sizes)


def _density(values: np.ndarray, bins: np.ndarray) -> np.ndarray:
    counts, _ = np.histogram(values, bins=bins)
    counts = np.convolve(counts.astype(float), [0.25, 0.5, 0.25], mode="same") + 1.0 / len(counts)
    return counts / (counts.sum() * np.diff(bins))
