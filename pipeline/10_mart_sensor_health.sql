-- Sensor health: what each sensor heard, minute by minute (frames of any kind and
-- probe requests), from the heartbeats the collector records. A minute without a
-- row is a minute the sensor heard nothing at all (down, or out of range), which the
-- dashboard shows as "no data", never as zero visitors. Counts below $k are
-- suppressed, like every mart count.
with
minutes as (
    select
        h.store,
        h.sensor,
        h.date,
        h.minute,
        cast(sum(h.frames) as bigint) as frames,  -- counts: integers (a sum is 128-bit in DuckDB)
        cast(sum(h.probes) as bigint) as probes
    from heartbeats as h
    join store_days as d on d.store = h.store and d.date = h.date
    group by h.store, h.sensor, h.date, h.minute
),

final as (
    select
        store,
        sensor,
        date,
        minute,
        suppress(frames, $k) as frames,
        suppress(probes, $k) as probes,
        is_suppressed(frames, $k) or is_suppressed(probes, $k) as suppressed
    from minutes
)

select * from final order by store, sensor, date, minute
