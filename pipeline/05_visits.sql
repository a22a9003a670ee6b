-- Visits, classed (the `visits` dataset):
--   staff      the device was present longer than the daily limit that day (its
--              visits' dwell summed), or inside the store (a signal at or above a
--              sensor's threshold) for longer than a visit gap while it was closed
--              (outside opening hours); staff and fixed equipment are excluded from
--              every customer metric;
--   passerby   otherwise, when the visit's peak signal stayed below the threshold of
--              every sensor that heard it, or it lasted less than the minimum visit;
--   visitor    otherwise.
-- A visit whose frames carried no signal level counts as inside.
with
with_opening_hours as (
    select
        v.*,
        d.open_start_us,
        d.open_end_us
    from unclassified_visits as v
    join store_days as d on d.store = v.store and d.date = v.date
),

with_closed_time as (
    select
        *,
        case
            when open_start_us is null then 0
            else greatest(0, least(last_us, open_start_us) - first_us)
                + greatest(0, last_us - greatest(first_us, open_end_us))
        end as closed_us
    from with_opening_hours
),

staff_devices as (
    select
        c.store,
        c.date,
        c.device_key,
        sum(c.last_us - c.first_us) > min(st.staff_us)
        or bool_or(c.closed_us > st.gap_us and coalesce(c.peak_margin >= 0, true)) as is_staff
    from with_closed_time as c
    join store_settings as st on st.store = c.store
    group by c.store, c.date, c.device_key
),

final as (
    select
        c.store,
        c.date,
        c.device_key,
        c.first_seen,
        c.last_seen,
        c.dwell_s,
        c.sightings,
        c.peak_rssi,
        case
            when s.is_staff then 'staff'
            when c.peak_margin < 0 or c.last_us - c.first_us < st.min_dwell_us then 'passerby'
            else 'visitor'
        end as class,
        c.estimated
    from with_closed_time as c
    join staff_devices as s on s.store = c.store and s.date = c.date and s.device_key = c.device_key
    join store_settings as st on st.store = c.store
)

select * from final order by store, date, first_seen, device_key
