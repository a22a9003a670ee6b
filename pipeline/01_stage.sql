-- Stage: the sightings of the store-days at hand, and of the day on either side
-- (which visits crossing midnight need), with one row per transmitted frame.
--
-- The same frame heard on several channels or by several sensors of the store has
-- the same device and sequence number and arrives within fold_window_us() (5 s) of
-- its previous copy: the copies fold into the first hearing. Each copy's margin
-- above the RSSI threshold of the sensor that heard it is kept (the best), so that
-- per-sensor thresholds survive the folding. A signal above 0 dBm is a corrupt
-- reading, and counts as no reading.
--
-- Folding is a hash aggregation by (device, sequence number, fold_bucket_us() bucket),
-- which needs no sort. It is exact wherever a group's copies lie within the fold
-- window and away from the bucket's edges; the few keys where that is unsure (a
-- sequence number reused, copies near an edge) are folded row by row, in time order.
with
heard as (
    select
        s.store,
        s.epoch,
        s.device,
        s.seq,
        micros(s.ts) as ts_us,
        r.rssi,
        r.rssi - coalesce(t.rssi_threshold_dbm, st.rssi_threshold_dbm) as margin,
        s.randomized
    from sightings as s
    cross join lateral (select case when s.rssi <= 0 then s.rssi end as rssi) as r
    join store_settings as st on st.store = s.store
    left join sensor_thresholds as t on t.store = s.store and t.sensor = s.sensor
),

bucket_groups as (
    select
        store,
        epoch,
        device,
        seq,
        bin_of(ts_us, fold_bucket_us()) as bucket,
        min(ts_us) as ts_us,
        max(ts_us) as last_us,
        max(rssi) as rssi,
        max(margin) as margin,
        bool_or(randomized) as randomized
    from heard
    group by store, epoch, device, seq, bin_of(ts_us, fold_bucket_us())
),

unsure_keys as (
    select distinct store, device, seq
    from bucket_groups
    where last_us - ts_us > fold_window_us()
        or ts_us - bucket * fold_bucket_us() <= fold_window_us()
        or (bucket + 1) * fold_bucket_us() - last_us <= fold_window_us()
),

sure_frames as (
    select g.store, g.epoch, g.device, g.seq, g.ts_us, g.rssi, g.margin, g.randomized
    from bucket_groups as g
    anti join unsure_keys as u on u.store = g.store and u.device = g.device and u.seq = g.seq
),

unsure_copies as (
    select
        h.*,
        lag(h.ts_us) over (partition by h.store, h.device, h.seq order by h.ts_us) as previous_us
    from heard as h
    semi join unsure_keys as u on u.store = h.store and u.device = h.device and u.seq = h.seq
),

numbered_copies as (
    select
        *,
        sum(case when previous_us is null or ts_us - previous_us > fold_window_us() then 1 else 0 end) over (
            partition by store, device, seq order by ts_us rows between unbounded preceding and current row
        ) as frame_no
    from unsure_copies
),

unsure_frames as (
    select
        store,
        epoch,
        device,
        seq,
        min(ts_us) as ts_us,
        max(rssi) as rssi,
        max(margin) as margin,
        bool_or(randomized) as randomized
    from numbered_copies
    group by store, epoch, device, seq, frame_no
),

final as (
    select * from sure_frames
    union all
    select * from unsure_frames
)

select * from final
