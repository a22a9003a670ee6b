-- Visits: a device's sightings, split wherever it was unseen for longer than the
-- store's visit gap (a gap of exactly gap_min does not split). Dwell is last seen
-- minus first seen. A visit belongs to the store's local day on which it started;
-- only visits starting on a store-day at hand are kept.
with
with_previous_sighting as (
    select
        *,
        lag(ts_us) over (partition by store, device_key order by ts_us) as previous_us
    from resolve_devices
),

numbered_visits as (
    select
        w.*,
        sum(case when w.previous_us is null or w.ts_us - w.previous_us > st.gap_us then 1 else 0 end) over (
            partition by w.store, w.device_key order by w.ts_us rows between unbounded preceding and current row
        ) as visit_no
    from with_previous_sighting as w
    join store_settings as st on st.store = w.store
),

visits as (
    select
        store,
        device_key,
        visit_no,
        min(ts) as first_seen,
        max(ts) as last_seen,
        min(ts_us) as first_us,
        max(ts_us) as last_us,
        count(*) as sightings,
        max(rssi) as peak_rssi,
        max(margin) as peak_margin,
        bool_or(estimated) as estimated
    from numbered_visits
    group by store, device_key, visit_no
),

final as (
    select
        v.store,
        q.date,
        v.device_key,
        v.first_seen,
        v.last_seen,
        v.first_us,
        v.last_us,
        (v.last_us - v.first_us) / 1e6 as dwell_s,
        v.sightings,
        v.peak_rssi,
        v.peak_margin,
        v.estimated
    from visits as v
    join local_quarters as q on q.store = v.store and q.quarter = bin_of(v.first_us, 900000000)
)

select * from final
