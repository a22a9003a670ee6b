-- Stage: the sightings of the store-days at hand, and of the day on either side
-- (which visits crossing midnight need), with one row per transmitted frame.
--
-- The same frame heard on several channels or by several sensors of the store has
-- the same device and sequence number, and arrives within the store's fold window
-- (fold_us) of its previous copy: the copies fold into the first hearing. Each
-- copy's margin above the RSSI threshold of the sensor that heard it is kept (the
-- best), so that per-sensor thresholds survive the folding.
with
heard as (
    select
        s.store,
        s.device,
        s.seq,
        s.ts,
        micros(s.ts) as ts_us,
        s.rssi,
        s.rssi - coalesce(t.rssi_threshold_dbm, st.rssi_threshold_dbm) as margin,
        s.randomized,
        s.directed,
        s.ie_hash,
        st.fold_us
    from sightings as s
    join store_settings as st on st.store = s.store
    left join sensor_thresholds as t on t.store = s.store and t.sensor = s.sensor
),

with_previous_copy as (
    select
        *,
        lag(ts_us) over (partition by store, device, seq order by ts_us) as previous_us
    from heard
),

numbered_frames as (
    select
        *,
        sum(case when previous_us is null or ts_us - previous_us > fold_us then 1 else 0 end) over (
            partition by store, device, seq order by ts_us rows between unbounded preceding and current row
        ) as frame_no
    from with_previous_copy
),

final as (
    select
        store,
        device,
        seq,
        min(ts) as ts,
        min(ts_us) as ts_us,
        max(rssi) as rssi,
        max(margin) as margin,
        bool_or(randomized) as randomized,
        bool_or(directed) as directed,
        min(ie_hash) as ie_hash,
        count(*) as copies
    from numbered_frames
    group by store, device, seq, frame_no
)

select * from final
