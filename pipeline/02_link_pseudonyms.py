"""Step 02: which pseudonyms are one phone (a Python step: a greedy chaining
algorithm does not fit SQL).

Phones that are not connected probe from random addresses: iPhones draw a new one
for every probe or scan, Android phones every few scans. Each address is a
pseudonym of one epoch; counted as they are, one person becomes tens of devices. The
linker chains the pseudonyms of one store and epoch, in order of first sighting,
into estimated devices:

* a pseudonym that lives long (over `LONG_LIVED_US`) is a device of its own: a fixed
  address, whatever its locally-administered bit says;
* a short-lived one joins the best chain of the same element layout (the keyed hash
  of what the chip announces, which survives address changes) that is not in use
  under another address at that moment, was last seen within the store's visit
  gap, and was heard at a similar signal level (within three times the spread of
  that chain's signal so far, between `RSSI_MIN_TOLERANCE_DB` and
  `RSSI_TOLERANCE_DB`: a steady phone is told apart from its neighbours, a
  swinging one is still followed);
  sequence numbers that run on across the address change (`SEQ_WINDOW`) are the
  strongest evidence and override the signal test; a chain seen within the same
  burst (`BURST_US`: one scan, sometimes with an address per probe) comes next;
* otherwise it starts a new device.

The locally-administered bit is checked against the data rather than trusted: when
most "global" addresses of a store-epoch also vanish after one scan (as in captures
whose addresses were anonymised, or from chips that rotate addresses that look
global), global addresses are linked like random ones; when they mostly persist,
each global address is a device of its own.

Two phones of the same model at the same distance can fall into one chain: the
estimate leans low where many identical phones are present, and high where one
phone alternates between element layouts (see the README for measured errors).

Only pseudonymous sightings of one epoch are used: nothing here can link across
epochs, stores or to an address. The output maps each pseudonym that was linked
(store, epoch, device) to a `device_key`, the first pseudonym of its chain; a
pseudonym absent from it is a device of its own.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

BURST_US = 1_000_000
SCAN_US = 5_000_000
LONG_LIVED_US = 10 * 60_000_000
RSSI_TOLERANCE_DB = 20.0  # the most a phone's signal may differ from its chain's
RSSI_MIN_TOLERANCE_DB = 14.0  # the least: a steady phone still varies a little
RSSI_PRIOR_SPREAD_DB = 5.0
SEQ_WINDOW = 64
GLOBAL_ROTATION_SHARE = 0.5  # above it, "global" addresses of a store-epoch rotate too

LINKS_SCHEMA = pa.schema(
    [
        ("store", pa.string()),
        ("epoch", pa.string()),
        ("device", pa.int64()),
        ("device_key", pa.int64()),
        ("linked", pa.bool_()),
    ]
)

# One row per pseudonym, straight from the sightings: these figures are the same
# before and after folding duplicates, so the fold is not computed twice.
PSEUDONYMS_SQL = """
select
    s.store,
    s.epoch,
    s.device,
    min(micros(s.ts)) as first_us,
    max(micros(s.ts)) as last_us,
    arg_min(s.seq, s.ts) as seq_first,
    arg_max(s.seq, s.ts) as seq_last,
    min(s.ie_hash) as layout,
    max(case when s.rssi <= 0 then s.rssi end) as peak_rssi,
    bool_or(s.randomized) as randomized,
    min(st.gap_us) as gap_us
from sightings as s
join store_settings as st on st.store = s.store
group by s.store, s.epoch, s.device
order by s.store, s.epoch, first_us, s.device
"""


@dataclass
class _Chain:
    key: int
    last_us: int
    seq_last: int
    rssi: float
    spread: float = RSSI_PRIOR_SPREAD_DB  # how much this phone's signal varies, learnt as it goes

    @property
    def tolerance(self) -> float:
        return min(RSSI_TOLERANCE_DB, max(RSSI_MIN_TOLERANCE_DB, 3 * self.spread))

    def absorb(self, end_us: int, seq_last: int, rssi: float) -> None:
        self.last_us = max(self.last_us, end_us)
        self.seq_last = seq_last
        if math.isnan(rssi):
            return
        if math.isnan(self.rssi):
            self.rssi = rssi
            return
        deviation = abs(rssi - self.rssi)
        self.spread = 0.8 * self.spread + 0.2 * deviation
        self.rssi = 0.7 * self.rssi + 0.3 * rssi


def link(
    first_us: np.ndarray,
    last_us: np.ndarray,
    seq_first: np.ndarray,
    seq_last: np.ndarray,
    layout: np.ndarray,
    peak_rssi: np.ndarray,
    randomized: np.ndarray,
    gap_us: int,
) -> np.ndarray:
    """Chain index of each pseudonym of one store and epoch (inputs sorted by first_us)."""
    single = (last_us - first_us) <= SCAN_US
    global_rotates = bool(single[~randomized].mean() > GLOBAL_ROTATION_SHARE) if (~randomized).any() else True
    chains = 0
    open_chains: dict[int, list[_Chain]] = {}  # by layout, last seen within the gap
    out = np.empty(len(first_us), np.int64)
    for i in range(len(first_us)):
        start, end, rssi = int(first_us[i]), int(last_us[i]), float(peak_rssi[i])
        chain = None
        if end - start <= LONG_LIVED_US and (randomized[i] or global_rotates):
            candidates = open_chains.setdefault(int(layout[i]), [])
            candidates[:] = [c for c in candidates if start - c.last_us <= gap_us]
            chain = _best(candidates, start, int(seq_first[i]), rssi, gap_us, single_scan=bool(single[i]))
        if chain is None:
            chain = _Chain(chains, end, int(seq_last[i]), rssi)
            chains += 1
            if end - start <= LONG_LIVED_US:
                open_chains.setdefault(int(layout[i]), []).append(chain)
        else:
            chain.absorb(end, int(seq_last[i]), rssi)
        out[i] = chain.key
    return out


def _best(candidates: list[_Chain], start: int, seq: int, rssi: float, gap_us: int, single_scan: bool) -> _Chain | None:
    best, best_score = None, -math.inf
    for chain in candidates:
        gap = start - chain.last_us
        if gap < -BURST_US:
            continue  # in use under its own address at this moment: another phone
        continuing = (seq - chain.seq_last) % 4096 <= SEQ_WINDOW
        if not continuing and not single_scan:
            continue  # kept its address across scans: it does not rotate per scan
        difference = 0.0 if math.isnan(rssi) or math.isnan(chain.rssi) else abs(rssi - chain.rssi)
        if not continuing and difference > chain.tolerance:
            continue
        score = 3.0 * continuing + 2.0 * (gap <= BURST_US) - difference / chain.tolerance - max(gap, 0) / gap_us
        if score > best_score:
            best, best_score = chain, score
    return best


def links(pseudonyms: pa.Table) -> pa.Table:
    """device_key of every pseudonym, store by store and epoch by epoch."""
    n = pseudonyms.num_rows
    if n == 0:
        return LINKS_SCHEMA.empty_table()
    pseudonyms = pseudonyms.set_column(
        pseudonyms.schema.get_field_index("peak_rssi"), "peak_rssi", pseudonyms.column("peak_rssi").cast(pa.float64())
    )
    columns = {name: pseudonyms.column(name).to_numpy(zero_copy_only=False) for name in pseudonyms.column_names}
    keys = np.empty(n, np.int64)
    linked = np.zeros(n, bool)
    groups = np.flatnonzero(
        np.r_[True, (columns["store"][1:] != columns["store"][:-1]) | (columns["epoch"][1:] != columns["epoch"][:-1])]
    )
    for start, end in itertools.pairwise(np.r_[groups, n]):
        part = slice(start, end)
        chain = link(
            columns["first_us"][part],
            columns["last_us"][part],
            columns["seq_first"][part],
            columns["seq_last"][part],
            columns["layout"][part],
            columns["peak_rssi"][part],
            columns["randomized"][part].astype(bool),
            int(columns["gap_us"][start]),
        )
        first_member = np.full(chain.max() + 1 if len(chain) else 0, -1, np.int64)
        order = np.arange(len(chain))[::-1]
        first_member[chain[order]] = order  # the earliest member of each chain
        devices = columns["device"][part]
        keys[part] = devices[first_member[chain]]
        sizes = np.bincount(chain)
        linked[part] = sizes[chain] > 1
    return pa.table(
        {
            "store": columns["store"],
            "epoch": columns["epoch"],
            "device": columns["device"],
            "device_key": keys,
            "linked": linked,
        },
        schema=LINKS_SCHEMA,
    )


def run(con) -> None:
    """The step: reads the sightings, creates `link_pseudonyms` (linked pseudonyms only)."""
    pseudonyms = con.sql(PSEUDONYMS_SQL).to_arrow_table()
    linked = links(pseudonyms)
    con.register("link_pseudonyms_result", linked.filter(linked.column("linked")))
    con.execute("create temp table link_pseudonyms as select * from link_pseudonyms_result")
    con.unregister("link_pseudonyms_result")
