"""From pseudonyms to scans: which addresses are fixed, which rotate, and which
short-lived addresses were sent in one sweep of the channels.

A phone that is not connected scans: it sends a few probe requests on each channel
in turn, then is silent for seconds (screen on) to minutes (screen off). A rotating
phone draws a new address per scan (Android, older iPhones) or per channel of a scan
(iPhones 11 and later), so one scan can hold several pseudonyms; a sensor on one
channel hears the probes of a scan within a second or two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

S_US = 1_000_000
SCAN_GAP_US = 1_500_000  # probes of one scan on the channels a sensor hears follow within this
SCAN_SPAN_US = 5_000_000  # a sweep (twice over the channels at most) lasts no longer
FIXED_US = 10 * 60 * S_US  # an address heard for longer than this does not rotate: a device of its own
ONE_SCAN_US = 3 * S_US
SEQ_MODULO = 4096
SAME_SCAN_SEQ_STEP = 16  # within one scan a running sequence number advances by a few frames
SCRAMBLED_MIN = 6  # one-scan addresses needed before their bit is judged
SIBLING_WINDOW_US = 60 * S_US
SIBLING_SHARE = 0.8
SIBLING_LEVEL_DB = 8.0
RIVAL_SHARE = 0.5
SIBLING_RARITY = 0.5  # a second layout is the exception: at most half as many scans as the first


@dataclass(frozen=True)
class Pseudonyms:
    """One store-epoch's pseudonyms, sorted by first sighting. `rssi` holds the peak
    level per receiver (a sensor on one channel: levels of different channels or
    sensors are not comparable), NaN where a receiver did not hear it; `margin` the
    peak level above the store's threshold for the sensor that heard it."""

    first_us: np.ndarray
    last_us: np.ndarray
    seq_first: np.ndarray
    seq_last: np.ndarray
    layout: np.ndarray
    randomized: np.ndarray
    margin: np.ndarray
    rssi: np.ndarray  # (pseudonyms, receivers)

    def __len__(self) -> int:
        return len(self.first_us)

    def take(self, rows: np.ndarray) -> Pseudonyms:
        return Pseudonyms(*(getattr(self, name)[rows] for name in self.__dataclass_fields__))


@dataclass(frozen=True)
class Scans:
    """The scans of rotating pseudonyms: one row per scan, with the sequence number
    it started and ended on and the layout (family of sibling layouts) it belongs to."""

    first_us: np.ndarray
    last_us: np.ndarray
    seq_first: np.ndarray
    seq_last: np.ndarray
    layout: np.ndarray
    family: np.ndarray
    margin: np.ndarray
    rssi: np.ndarray

    def __len__(self) -> int:
        return len(self.first_us)

    @property
    def peak(self) -> np.ndarray:
        """The strongest level over receivers (-200 where none was read)."""
        if self.rssi.shape[1] == 0:
            return np.full(len(self), -200.0)
        return np.nanmax(np.where(np.isnan(self.rssi), -200.0, self.rssi), axis=1)


def bit_is_scrambled(p: Pseudonyms) -> bool:
    """Whether the locally-administered bit says nothing in this store-epoch.

    A rotating phone sets it on every address; a fixed address heard in one scan only
    is a passer-by. In real data the latter are few beside the former, or all there is
    (nobody rotates); when about as many one-scan addresses have the bit clear as set,
    or addresses sent in one scan disagree on it, the bit was scrambled (captures whose
    addresses were replaced) and every short-lived address may rotate."""
    single = (p.last_us - p.first_us) <= ONE_SCAN_US
    if int(single.sum()) >= SCRAMBLED_MIN and 0.3 <= float((~p.randomized[single]).mean()) <= 0.7:
        return True
    order = np.lexsort((p.first_us, p.layout))
    first, layout, randomized = p.first_us[order], p.layout[order], p.randomized[order]
    together = (layout[1:] == layout[:-1]) & (first[1:] - first[:-1] <= S_US)
    return int(together.sum()) >= 3 and float((randomized[1:] != randomized[:-1])[together].mean()) > 0.25


def rotating(p: Pseudonyms) -> np.ndarray:
    """Pseudonyms that may be one address of a rotating phone: short-lived, and random
    (or with a bit that says nothing). A fixed address is one device, decided from its
    own lifetime, never from what other addresses do."""
    short = (p.last_us - p.first_us) <= FIXED_US
    return short & (p.randomized | bit_is_scrambled(p))


def sibling_families(scans: Scans, track: np.ndarray) -> dict[int, int]:
    """The family (a layout standing for its siblings) of each layout of `scans`,
    given a first tracking of each layout on its own (`track` per scan).

    Phones sometimes probe with a second element layout (another set of extended
    capabilities, a band-specific variant). A layout B, with at most half as many
    scans as a layout A, is taken as a second layout of A's phones when (nearly) every
    scan of B has exactly one phone of A within a minute at the same level on every
    receiver both were heard on, and no phone of another layout does as often. Where
    several phones of A (or of other layouts) are around, a scan of B says nothing
    of whose it is, and it does not count: a crowd of one model beside another never
    makes them one family, nor do two people who sit together for an hour with
    phones of two models among others."""
    layouts, counts = np.unique(scans.layout, return_counts=True)
    parent = {int(layout): int(layout) for layout in layouts}
    if len(layouts) < 2:
        return parent
    count_of = dict(zip(layouts.tolist(), counts.tolist(), strict=True))
    support = _one_phone_support(scans, track)
    for b in layouts[np.argsort(counts, kind="stable")]:
        b = int(b)
        scans_of_b = count_of[b]
        if scans_of_b < 2:
            continue
        beside = support.get(b, {})
        best = [
            a
            for a, n in beside.items()
            if n >= SIBLING_SHARE * scans_of_b and scans_of_b <= SIBLING_RARITY * count_of[a] and parent[a] == a
        ]
        rivals = [a for a, n in beside.items() if n >= RIVAL_SHARE * scans_of_b]
        if len(best) == 1 and rivals == best and not any(parent[x] == b for x in parent if x != b):
            parent[b] = best[0]  # families are a layout and its own second layouts, never a chain
    return parent


def _one_phone_support(scans: Scans, track: np.ndarray) -> dict[int, dict[int, int]]:
    """support[b][a]: scans of layout b with exactly one phone of layout a within the
    window at the same level."""
    order = np.argsort(scans.first_us, kind="stable")
    t, lay, rssi, phone = scans.first_us[order], scans.layout[order], scans.rssi[order], track[order]
    lo = np.searchsorted(t, t - SIBLING_WINDOW_US, "left")
    hi = np.searchsorted(t, t + SIBLING_WINDOW_US, "right")
    counts = hi - lo
    k = np.repeat(np.arange(len(t)), counts)
    m = np.repeat(lo, counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    keep = (lay[k] != lay[m]) & _levels_agree(rssi[k], rssi[m])
    k, m = k[keep], m[keep]
    if len(k) == 0:
        return {}
    # distinct (scan, layout, phone), then how many phones of each layout per scan
    triples = np.unique(np.stack([k, lay[m], phone[m]], axis=1), axis=0)
    pairs, phones = np.unique(triples[:, :2], axis=0, return_counts=True)
    single = pairs[phones == 1]
    b_of = lay[single[:, 0]]
    found, n = np.unique(np.stack([b_of, single[:, 1]], axis=1), axis=0, return_counts=True)
    support: dict[int, dict[int, int]] = {}
    for (b, a), count in zip(found.tolist(), n.tolist(), strict=True):
        support.setdefault(b, {})[a] = count
    return support


def _levels_agree(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row: the levels agree within SIBLING_LEVEL_DB on every receiver both heard
    (vacuously where they share none)."""
    both = ~np.isnan(a) & ~np.isnan(b)
    gap = np.where(both, np.abs(np.nan_to_num(a) - np.nan_to_num(b)), 0.0)
    return gap.max(axis=1, initial=0.0) <= SIBLING_LEVEL_DB


def group_scans(p: Pseudonyms, linkable: np.ndarray, family: np.ndarray, runs_on: set[int]) -> tuple[np.ndarray, Scans]:
    """The scan of each linkable pseudonym (-1 for the others) and the scans.

    Pseudonyms of one family that follow each other within SCAN_GAP_US (and a scan's
    span) are one scan; where the layout's sequence numbers run on, only if they
    continue each other's number."""
    n = len(p)
    scan = np.full(n, -1, np.int64)
    idx = np.flatnonzero(linkable)
    order = idx[np.lexsort((p.first_us[idx], family[idx]))]
    count = 0
    start = last = 0
    previous = -1
    for i in order:
        joins = (
            previous >= 0
            and family[i] == family[previous]
            and p.first_us[i] - last <= SCAN_GAP_US
            and p.first_us[i] - start <= SCAN_SPAN_US
            and (
                int(p.layout[i]) not in runs_on
                or (int(p.seq_first[i]) - int(p.seq_last[previous])) % SEQ_MODULO <= SAME_SCAN_SEQ_STEP
            )
        )
        if joins:
            scan[i] = count - 1
            last = max(last, int(p.last_us[i]))
        else:
            scan[i] = count
            count += 1
            start, last = int(p.first_us[i]), int(p.last_us[i])
        previous = i
    return scan, _scans(p, scan, count, family)


def _scans(p: Pseudonyms, scan: np.ndarray, count: int, family: np.ndarray) -> Scans:
    members = np.flatnonzero(scan >= 0)
    members = members[np.argsort(p.first_us[members], kind="stable")]
    k = scan[members]
    first = np.full(count, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, k, p.first_us[members])
    last = np.zeros(count, np.int64)
    np.maximum.at(last, k, p.last_us[members])
    seq_first = np.zeros(count, np.int64)
    seq_first[k[::-1]] = p.seq_first[members][::-1]  # the earliest member's
    by_end = members[np.argsort(p.last_us[members], kind="stable")]
    seq_last = np.zeros(count, np.int64)
    seq_last[scan[by_end]] = p.seq_last[by_end]  # the latest-ending member's
    layout = np.zeros(count, np.int64)
    layout[k[::-1]] = p.layout[members][::-1]
    fam = np.zeros(count, np.int64)
    fam[k] = family[members]
    margin = np.full(count, -np.inf)
    np.maximum.at(margin, k, np.where(np.isnan(p.margin[members]), -np.inf, p.margin[members]))
    rssi = np.full((count, p.rssi.shape[1]), -np.inf)
    np.maximum.at(rssi, k, np.where(np.isnan(p.rssi[members]), -np.inf, p.rssi[members]))
    rssi[np.isinf(rssi)] = np.nan
    margin[np.isinf(margin)] = np.nan
    return Scans(first, last, seq_first, seq_last, layout, fam, margin, rssi)
