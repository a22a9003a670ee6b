-- Sensor health: what each sensor heard, minute by minute (frames of any kind and
-- probe requests), from the heartbeats the collector records. A minute without a
-- row is a minute the sensor heard nothing at all (down, or out of range), which the
-- dashboard shows as "no data", never as zero visitors. `continuous` says whether the
-- sensor's collector reported every minute it ran (a stream or a live capture: then a
-- minute without a row is an outage) or is a capture file (a minute without a row
-- inside the capture's span is a quiet minute). Counts below $k are suppressed, like
-- every mart count.
with
sensor_days as (
    -- a running collector (a stream, a live interface) records the minutes in which it
    -- heard nothing too; a capture file holds only minutes with frames
    select h.store, h.sensor, h.date, bool_or(h.frames = 0) as continuous
    from heartbeats as h
    join store_days as d on d.store = h.store and d.date = h.date
    group by h.store, h.sensor, h.date
),

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
        m.store,
        m.sensor,
        m.date,
        m.minute,
        suppress(m.frames, $k) as frames,
        suppress(m.probes, $k) as probes,
        is_suppressed(m.frames, $k) or is_suppressed(m.probes, $k) as suppressed,
        s.continuous
    from minutes as m
    join sensor_days as s on s.store = m.store and s.sensor = m.sensor and s.date = m.date
)

select * from final order by store, sensor, date, minute
