-- Unclassified visits: a device's sightings, split wherever it was unseen for longer than the
-- store's visit gap (a gap of exactly gap_min does not split). Dwell is last seen
-- minus first seen; `scans` counts the scans heard at or above a sensor's threshold
-- (2-second slots, see scan_us()). A visit belongs to the store's local day on which it started;
-- only visits starting on a store-day at hand are kept. Step 05 classes them.
--
-- The sightings are first gathered into buckets as wide as the gap (a hash
-- aggregation, through words of scan slots, see slot_word()): inside a bucket no two
-- sightings can be more than a gap apart, so only the gaps between a device's
-- consecutive buckets can split a visit, and the ordered pass runs over buckets, not
-- sightings. The result is exact.
with
slot_words as (
    select
        r.store,
        r.device_key,
        bin_of(r.ts_us, st.gap_us) as bucket,
        slot_word(r.ts_us) as word,
        min(r.ts_us) as first_us,
        max(r.ts_us) as last_us,
        count(*) as sightings,
        max(r.rssi) as peak_rssi,
        max(r.margin) as peak_margin,
        bit_or(case when r.margin >= 0 or r.margin is null then slot_bit(r.ts_us) else 0 end) as scan_bits,
        bool_or(r.estimated) as estimated,
        bool_and(r.followed) as followed,
        min(st.gap_us) as gap_us
    from resolve_devices as r
    join store_settings as st on st.store = r.store
    group by r.store, r.device_key, bucket, word
),

buckets as (
    select
        store,
        device_key,
        bucket,
        min(first_us) as first_us,
        max(last_us) as last_us,
        sum(sightings) as sightings,
        max(peak_rssi) as peak_rssi,
        max(peak_margin) as peak_margin,
        sum(bit_count(scan_bits)) as scans,
        bool_or(estimated) as estimated,
        bool_and(followed) as followed,
        min(gap_us) as gap_us
    from slot_words
    group by store, device_key, bucket
),

with_previous_bucket as (
    select
        *,
        lag(last_us) over (partition by store, device_key order by first_us) as previous_us
    from buckets
),

numbered_visits as (
    select
        *,
        sum(case when previous_us is null or first_us - previous_us > gap_us then 1 else 0 end) over (
            partition by store, device_key order by first_us rows between unbounded preceding and current row
        ) as visit_no
    from with_previous_bucket
),

visits as (
    select
        store,
        device_key,
        visit_no,
        min(first_us) as first_us,
        max(last_us) as last_us,
        cast(sum(sightings) as bigint) as sightings,  -- a count: an integer (a sum is 128-bit in DuckDB)
        max(peak_rssi) as peak_rssi,
        max(peak_margin) as peak_margin,
        cast(sum(scans) as bigint) as scans,
        bool_or(estimated) as estimated,
        bool_and(followed) as followed
    from numbered_visits
    group by store, device_key, visit_no
),

final as (
    select
        v.store,
        q.date,
        v.device_key,
        timestamp_of(v.first_us) as first_seen,
        timestamp_of(v.last_us) as last_seen,
        v.first_us,
        v.last_us,
        (v.last_us - v.first_us) / 1e6 as dwell_s,
        v.sightings,
        v.peak_rssi,
        v.peak_margin,
        v.scans,
        v.estimated,
        v.followed
    from visits as v
    join local_quarters as q on q.store = v.store and q.quarter = bin_of(v.first_us, quarter_us())
)

select * from final
