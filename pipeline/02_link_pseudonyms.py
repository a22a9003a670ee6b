"""Step 02: which pseudonyms are one phone (a Python step: a tracker, not a query).

Phones that are not connected probe from random addresses: iPhones draw a new one for
every scan (or every channel of a scan), Android phones for every scan, some keeping
their sequence numbers running. Each address is a pseudonym of one epoch; counted as
they are, one person becomes tens of devices. `footfall.pipeline.tracking` follows
the phones of each store and epoch (see its docstring): fixed addresses are devices
of their own; rotating ones are gathered into scans and each scan is assigned to the
phone that explains it best, or to a new phone, all scans of the epoch at once.

The output maps every pseudonym of a store-epoch to a `device_key` (the first
pseudonym of its phone) and says whether that phone was `followed` (its identity
rests on a fixed address or on sequence numbers that run on) or guessed from
layout, timing and level. How many people a guessed phone's visits stand for is
weighed later, from its scans (05_visits.sql). Only pseudonyms that differ from the
default (a device of its own, followed) are listed: every other pseudonym is its own
device key, followed. Only pseudonymous sightings of one store-epoch are used: nothing here
can link across epochs or stores, or to an address.

The step follows the runner's protocol for Python steps: `SOURCE_SQL` (a query over
earlier relations, in the pipeline's SQL dialect), `GROUP_BY`, `apply_group` (one
call per group) and `SCHEMA` (its output), so that any engine runs the same query and
calls the same function per store and epoch.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa

from footfall.pipeline.tracking import Pseudonyms, StoreRules, resolve

SCHEMA = pa.schema(
    [
        ("store", pa.string()),
        ("epoch", pa.string()),
        ("device", pa.int64()),
        ("device_key", pa.int64()),
        ("followed", pa.bool_()),
    ]
)

# One row per pseudonym and receiver (a sensor on a channel: levels on different
# channels or sensors are not comparable), straight from the sightings: these figures
# are the same before and after folding duplicates, so the fold is not computed twice.
SOURCE_SQL = """
with
per_receiver as (
    select
        store,
        epoch,
        device,
        sensor,
        freq_mhz,
        min(micros(ts)) as first_us,
        max(micros(ts)) as last_us,
        -- keyed by (time, seq): of two frames of one microsecond, the lower sequence
        -- number is the first and the higher the last, on DuckDB and Spark alike
        -- (arg_min/arg_max over the time alone pick either, by the engine's row order)
        arg_min(seq, (micros(ts), seq)) as seq_first,
        arg_max(seq, (micros(ts), seq)) as seq_last,
        min(ie_hash) as layout,
        bool_or(randomized) as randomized,
        max(case when rssi <= 0 then rssi end) as peak_rssi
    from sightings
    group by store, epoch, device, sensor, freq_mhz
),

final as (
    select
        p.store,
        p.epoch,
        p.device,
        p.sensor || '/' || coalesce(cast(p.freq_mhz as varchar), '') as receiver,
        p.first_us,
        p.last_us,
        p.seq_first,
        p.seq_last,
        p.layout,
        p.randomized,
        p.peak_rssi,
        p.peak_rssi - coalesce(t.rssi_threshold_dbm, st.rssi_threshold_dbm) as margin,
        st.gap_us
    from per_receiver as p
    join store_settings as st on st.store = p.store
    left join sensor_thresholds as t on t.store = p.store and t.sensor = p.sensor
)

select * from final
order by store, epoch, device, receiver
"""


GROUP_BY = ("store", "epoch")
SOURCE_ORDER = ("device", "receiver")  # within a group: the order apply_group's ties are broken in
# The links kept: a pseudonym linked to another, or guessed (every other is its own device, followed).
KEEP_SQL = "device_key <> device or not followed"


def apply_group(rows: pa.Table) -> pa.Table:
    """The links of one store-epoch, from its rows of SOURCE_SQL."""
    if rows.num_rows == 0:
        return SCHEMA.empty_table()
    col = {name: rows.column(name).to_numpy(zero_copy_only=False) for name in rows.column_names}
    devices, first_row, inverse = np.unique(col["device"], return_index=True, return_inverse=True)
    receivers, receiver_of = np.unique(col["receiver"].astype(str), return_inverse=True)
    first_us = np.full(len(devices), np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first_us, inverse, col["first_us"].astype(np.int64))
    last_us = np.zeros(len(devices), np.int64)
    np.maximum.at(last_us, inverse, col["last_us"].astype(np.int64))
    seq_first = _at_extreme(inverse, col["first_us"], col["seq_first"], len(devices), earliest=True)
    seq_last = _at_extreme(inverse, col["last_us"], col["seq_last"], len(devices), earliest=False)
    level = np.full((len(devices), len(receivers)), np.nan)
    level[inverse, receiver_of] = _floats(col["peak_rssi"])
    margin = np.full(len(devices), -np.inf)
    np.fmax.at(margin, inverse, _floats(col["margin"]))
    margin[np.isinf(margin)] = np.nan
    order = np.argsort(first_us, kind="stable")
    pseudonyms = Pseudonyms(
        first_us=first_us,
        last_us=last_us,
        seq_first=seq_first,
        seq_last=seq_last,
        layout=col["layout"].astype(np.int64)[first_row],
        randomized=col["randomized"].astype(bool)[first_row],
        margin=margin,
        rssi=level,
    ).take(order)
    resolved = resolve(pseudonyms, StoreRules(int(col["gap_us"][0])))
    device = devices[order]
    first_of_phone = np.full(resolved.phone.max() + 1, -1, np.int64)
    first_of_phone[resolved.phone[::-1]] = np.arange(len(device))[::-1]  # pseudonyms are in time order
    return pa.table(
        {
            "store": pa.array([rows.column("store")[0].as_py()] * len(device), pa.string()),
            "epoch": pa.array([rows.column("epoch")[0].as_py()] * len(device), pa.string()),
            "device": pa.array(device, pa.int64()),
            "device_key": pa.array(device[first_of_phone[resolved.phone]], pa.int64()),
            "followed": pa.array(resolved.followed, pa.bool_()),
        },
        schema=SCHEMA,
    )


def _floats(values) -> np.ndarray:
    return (
        np.array([np.nan if v is None else v for v in values], np.float64)
        if values.dtype == object
        else values.astype(np.float64)
    )


def _at_extreme(group: np.ndarray, key: np.ndarray, value: np.ndarray, groups: int, earliest: bool) -> np.ndarray:
    order = np.lexsort((key, group))
    pick = (
        order[np.r_[np.flatnonzero(np.diff(group[order])), len(order) - 1]]
        if not earliest
        else order[np.r_[0, np.flatnonzero(np.diff(group[order])) + 1]]
    )
    out = np.zeros(groups, np.int64)
    out[group[pick]] = value[pick].astype(np.int64)
    return out


def links(rows: pa.Table) -> pa.Table:
    """Every store-epoch of SOURCE_SQL's rows (sorted by store and epoch)."""
    if rows.num_rows == 0:
        return SCHEMA.empty_table()
    store = rows.column("store").to_numpy(zero_copy_only=False)
    epoch = rows.column("epoch").to_numpy(zero_copy_only=False)
    bounds = np.flatnonzero(np.r_[True, (store[1:] != store[:-1]) | (epoch[1:] != epoch[:-1]), True])
    parts = [apply_group(rows.slice(a, b - a)) for a, b in itertools.pairwise(bounds)]
    return pa.concat_tables(parts)


def run(con) -> None:
    """The step: reads the sightings, creates `link_pseudonyms` (the pseudonyms linked
    to another, or guessed)."""
    result = links(con.sql(SOURCE_SQL).to_arrow_table())
    con.register("link_pseudonyms_result", result)
    con.execute(f"create temp table link_pseudonyms as select * from link_pseudonyms_result where {KEEP_SQL}")
    con.unregister("link_pseudonyms_result")
