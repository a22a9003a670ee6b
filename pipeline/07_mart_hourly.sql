-- Hourly footfall of each store, by local hour (0-23; the hour repeated when clocks
-- go back counts as one two-hour bin): arrivals (visits classed visitor that started
-- in the hour), visitors (people with a visitor visit overlapping the hour),
-- passers-by (people only seen passing that day, whose pass started in the hour) and
-- capture rate = arrivals / (arrivals + passers-by). Counts below $k are suppressed.
-- A guessed visitor visit arrives as its `people` (05_visits.sql), a followed one as
-- one; presence counts device keys (see 09_mart_occupancy.sql). `estimated` says the
-- counts stand for people estimated from device keys (as daily).
with
hours as (
    select
        store,
        date,
        hour,
        min(quarter) * quarter_us() as start_us,
        (max(quarter) + 1) * quarter_us() as end_us
    from local_quarters
    group by store, date, hour
),

visitor_days as (
    select store, date, device_key
    from visits
    where class = 'visitor'
    group by store, date, device_key
),

timed_visits as (
    select
        c.*,
        micros(c.first_seen) as first_us,
        micros(c.last_seen) as last_us,
        v.device_key is not null as visitor_that_day
    from visits as c
    left join visitor_days as v on v.store = c.store and v.date = c.date and v.device_key = c.device_key
),

hourly_counts as (
    select
        h.store,
        h.date,
        h.hour,
        count(distinct t.device_key) filter (
            where t.class = 'visitor' and t.first_us < h.end_us and t.last_us >= h.start_us
        ) as visitors,
        coalesce(sum(t.people) filter (
            where t.class = 'visitor' and t.first_us >= h.start_us and t.first_us < h.end_us
        ), 0) as arrivals_weighed,
        count(distinct t.device_key) filter (
            where t.class = 'passerby' and not t.visitor_that_day and t.first_us >= h.start_us and t.first_us < h.end_us
        ) as passersby,
        coalesce(bool_or(t.estimated) filter (
            where (t.class = 'visitor' and t.first_us < h.end_us and t.last_us >= h.start_us)
                or (t.class = 'passerby' and not t.visitor_that_day and t.first_us >= h.start_us and t.first_us < h.end_us)
        ), false) as estimated
    from hours as h
    left join timed_visits as t on t.store = h.store and t.date = h.date
    group by h.store, h.date, h.hour
),

rounded as (
    select
        store,
        date,
        hour,
        cast(round(arrivals_weighed) as bigint) as arrivals,
        visitors,
        passersby,
        estimated
    from hourly_counts
),

final as (
    select
        store,
        date,
        hour,
        suppress(arrivals, $k) as arrivals,
        suppress(visitors, $k) as visitors,
        suppress(passersby, $k) as passersby,
        case when not (is_suppressed(arrivals, $k) or is_suppressed(passersby, $k)) then arrivals / nullif(arrivals + passersby, 0) end as capture_rate,
        is_suppressed(arrivals, $k) or is_suppressed(visitors, $k) or is_suppressed(passersby, $k) as suppressed,
        estimated
    from rounded
)

select * from final order by store, date, hour
