"""Every scan continues a phone or starts a new one: one min-cost bipartite assignment
over all scans of a store-epoch.

Each scan has one predecessor (an earlier scan of the same phone, or none: a phone
starts) and one successor (or none: the phone leaves). The cost of a choice is minus
the log of its likelihood under a simple model of one phone: it stays with a chance
that depends on how loudly it was heard, it is silent for a time drawn from the
silences of the phones that can be followed, its sequence number runs on by a
learnt step (where its layout's numbers run on), its level drifts by a learnt
spread, it scans in each layout of its family as often as the family does; a new phone arrives at the rate phones
of its family start in that half hour. Minimising the total cost over all scans at
once (scipy's sparse LAPJV) is the published association method's min-cost flow,
with a cost for starting a phone, instead of first-fit chaining that merges
strangers when many phones of one family are around.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from footfall.pipeline.tracking.evidence import (
    GAP_BINS,
    GAP_MIN_S,
    LEVEL_BINS,
    STEP_BIN,
    STEP_SPAN,
    Habits,
    per_layout,
    step,
)
from footfall.pipeline.tracking.scans import S_US, SEQ_MODULO, Scans

CANDIDATES = 16  # successors kept per scan (and predecessors per scan): the cheapest
STAY = 0.8  # the chance a phone is heard again, before anything is learnt
LEVEL_OUTLIER = 0.1  # share of readings that jump (a body in the way, a reflection)
LEVEL_RANGE_DB = 80.0  # levels a phone can be heard at: the density of a jump's level
TAIL_STEP_PER_S = 1.0  # how fast a running sequence number may advance while unheard
ARRIVAL_WINDOW_US = 1800 * S_US


def transition_costs(
    scans: Scans,
    i: np.ndarray,
    j: np.ndarray,
    continuity: dict[int, float],
    habits: Habits,
    gap_us: int,
) -> np.ndarray:
    gap = (scans.first_us[j] - scans.last_us[i]) / S_US
    stay = _stay(scans, habits)
    cost = -np.log(stay[i]) - np.log(_silence_density(gap, habits, gap_us))
    cost -= np.log(_sequence_ratio(scans, i, j, gap, continuity, habits.steps))
    cost -= _level_ratio(scans, i, j, gap, habits)
    cost -= np.log(layout_share(scans)[j])
    return cost


def layout_share(scans: Scans) -> np.ndarray:
    """Per scan, its layout's share of its family's scans: the chance that a phone of
    the family scans in that layout (1 where a family has one layout)."""
    pair = np.stack([scans.family, scans.layout], axis=1)
    _, pair_of, pair_count = np.unique(pair, axis=0, return_inverse=True, return_counts=True)
    _, family_of, family_count = np.unique(scans.family, return_inverse=True, return_counts=True)
    return pair_count[pair_of.ravel()] / family_count[family_of.ravel()]


def _stay(scans: Scans, habits: Habits) -> np.ndarray:
    if habits.stay is None:
        return np.full(len(scans), STAY)
    return habits.stay[np.clip(np.digitize(scans.peak, LEVEL_BINS) - 1, 0, len(LEVEL_BINS) - 2)]


def _silence_density(gap: np.ndarray, habits: Habits, gap_us: int) -> np.ndarray:
    if habits.gap_density is None:  # log-uniform between a rescan and the visit gap
        return 1.0 / (gap * math.log(gap_us / S_US / GAP_MIN_S))
    return habits.gap_density[np.clip(np.digitize(gap, GAP_BINS) - 1, 0, len(GAP_BINS) - 2)]


def _sequence_ratio(scans: Scans, i, j, gap, continuity: dict[int, float], steps) -> np.ndarray:
    """Likelihood ratio of the sequence step: one phone (whose numbers run on with
    the layout's share) against two unrelated phones (a uniform step)."""
    share = per_layout(continuity, scans.layout)[i]
    d = step(scans.seq_last[i], scans.seq_first[j])
    tail = 64 + TAIL_STEP_PER_S * gap
    within = (d >= 1) & (d <= tail)
    if steps is None:
        density = np.where(within, 1.0 / tail, 0.0)
    else:
        learnt = np.where(d < STEP_SPAN, steps[np.minimum(d // STEP_BIN, len(steps) - 1)], 0.0)
        density = 0.98 * learnt + np.where(within, 0.02 / tail, 0.0)
    return share * SEQ_MODULO * density + (1 - share)


def _level_ratio(scans: Scans, i, j, gap, habits: Habits) -> np.ndarray:
    """Log likelihood ratio of the level at j: drifted from i's, against a phone's
    first level (learnt, or flat over the range)."""
    with np.errstate(invalid="ignore"):
        diff = scans.rssi[j] - scans.rssi[i]
        spread2 = habits.noise_db**2 + habits.drift_db2_per_s * gap[:, None]
        same = np.exp(-0.5 * diff * diff / spread2) / np.sqrt(2 * math.pi * spread2)
        same = (1 - LEVEL_OUTLIER) * same + LEVEL_OUTLIER / LEVEL_RANGE_DB
        ratio = np.log(same) - _arrival_log_density(scans.rssi[j], habits)
    return np.where(np.isnan(ratio), 0.0, ratio).sum(axis=1)


def _arrival_log_density(levels: np.ndarray, habits: Habits) -> np.ndarray:
    if habits.arrival_level is None:
        return np.full(levels.shape, -math.log(LEVEL_RANGE_DB))
    bins = np.clip(np.digitize(np.nan_to_num(levels, nan=-100.0), LEVEL_BINS) - 1, 0, len(LEVEL_BINS) - 2)
    return np.log(np.take_along_axis(habits.arrival_level.T, bins, axis=0))


def arrival_costs(scans: Scans, starts: np.ndarray | None) -> np.ndarray:
    """-log of the rate (1/s) at which phones of a scan's family start around it:
    counted from the tracks' first scans once there are tracks, or guessed from the
    family's scans before (a phone is heard some ten times)."""
    if starts is None:
        rate = _near(scans.family, scans.first_us, scans.family, scans.first_us) / 10.0
    else:
        rate = _near(scans.family, scans.first_us, scans.family[starts], scans.first_us[starts])
    rate /= 2 * ARRIVAL_WINDOW_US / S_US
    return -np.log(np.maximum(rate, 1.0 / (2 * ARRIVAL_WINDOW_US / S_US)))


def _near(groups_q, times_q, groups, times) -> np.ndarray:
    """How many events of the query's group lie within the window around it."""
    order = np.lexsort((times, groups))
    g, t = groups[order], times[order].astype(np.float64)
    values, start = np.unique(g, return_index=True)
    end = np.r_[start[1:], len(g)]
    pos = np.clip(np.searchsorted(values, groups_q), 0, max(len(values) - 1, 0))
    out = np.zeros(len(groups_q))
    if len(values) == 0:
        return out
    found = values[pos] == groups_q
    for u in np.unique(pos[found]):
        m = found & (pos == u)
        times_u = t[start[u] : end[u]]
        out[m] = np.searchsorted(times_u, times_q[m] + ARRIVAL_WINDOW_US, "right") - np.searchsorted(
            times_u, times_q[m] - ARRIVAL_WINDOW_US, "left"
        )
    return out


def assign(scans: Scans, i, j, cost: np.ndarray, arrive: np.ndarray, habits: Habits) -> np.ndarray:
    """The track of each scan under the cheapest choice of every scan's predecessor
    and successor. Left nodes: each scan's "next" and each scan's "start"; right
    nodes: each scan's "previous" and each scan's "end"."""
    n = len(scans)
    keep = _cheapest(i, cost) & _cheapest(j, cost)
    i, j, cost = i[keep], j[keep], cost[keep]
    leave = -np.log(1 - _stay(scans, habits))
    every = np.arange(n)
    rows = np.r_[i, every, n + every, n + j]
    cols = np.r_[j, n + every, every, n + i]
    weights = np.r_[cost, leave, arrive, np.zeros(len(i))]
    weights = weights - weights.min() + 1.0  # positive, same optimum (every matching has 2n edges)
    matrix = csr_matrix((weights, (rows, cols)), shape=(2 * n, 2 * n))
    left, right = min_weight_full_bipartite_matching(matrix)
    successor = np.full(n, -1)
    link = (left < n) & (right < n)
    successor[left[link]] = right[link]
    return _follow(successor)


def _cheapest(key: np.ndarray, cost: np.ndarray) -> np.ndarray:
    order = np.lexsort((cost, key))
    sorted_key = key[order]
    start = np.r_[0, np.flatnonzero(sorted_key[1:] != sorted_key[:-1]) + 1]
    rank = np.arange(len(key)) - np.repeat(start, np.diff(np.r_[start, len(key)]))
    keep = np.zeros(len(key), bool)
    keep[order[rank < CANDIDATES]] = True
    return keep


def _follow(successor: np.ndarray) -> np.ndarray:
    n = len(successor)
    has_previous = np.zeros(n, bool)
    has_previous[successor[successor >= 0]] = True
    track = np.full(n, -1, np.int64)
    for number, first in enumerate(np.flatnonzero(~has_previous)):
        k = first
        while k >= 0:
            track[k] = number
            k = successor[k]
    return track


def first_scans(scans: Scans, track: np.ndarray) -> np.ndarray:
    first = np.full(track.max() + 1, -1)
    order = np.argsort(scans.first_us)[::-1]
    first[track[order]] = order
    return first[first >= 0]
