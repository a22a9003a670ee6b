-- Daily footfall of each store: visitors (estimated people with at least one visit
-- classed visitor), their visits, passers-by (people only ever seen passing that
-- day), capture rate = visitors / (visitors + passers-by), and the median and 90th
-- percentile dwell of the visits, and the plausible range of visitors (visitors_low,
-- visitors_high). One row per store-day at hand, even a quiet one.
-- Counts below $k are suppressed (null, and `suppressed` is set); so is every figure
-- derived from a suppressed count. `estimated` says the counts stand for people
-- estimated from device keys.
with
people as (
    select
        store,
        date,
        device_key,
        bool_or(class = 'visitor') as visited,
        bool_or(class = 'passerby') as passed,
        bool_or(estimated) as estimated
    from visits
    group by store, date, device_key
),

people_counts as (
    select
        store,
        date,
        count(*) filter (where visited) as visitors,
        count(*) filter (where passed and not visited) as passersby,
        bool_or(estimated and (visited or passed)) as estimated
    from people
    group by store, date
),

visit_stats as (
    select
        store,
        date,
        count(*) as visits,
        quantile_cont(dwell_s, 0.5) as dwell_p50_s,
        quantile_cont(dwell_s, 0.9) as dwell_p90_s
    from visits
    where class = 'visitor'
    group by store, date
),

counted as (
    select
        d.store,
        d.date,
        coalesce(p.visitors, 0) as visitors,
        coalesce(v.visits, 0) as visits,
        coalesce(p.passersby, 0) as passersby,
        v.dwell_p50_s,
        v.dwell_p90_s,
        coalesce(p.estimated, false) as estimated
    from store_days as d
    left join people_counts as p on p.store = d.store and p.date = d.date
    left join visit_stats as v on v.store = d.store and v.date = d.date
),

final as (
    select
        store,
        date,
        suppress(visitors, $k) as visitors,
        -- issue 12 replaces these with the estimator's range
        suppress(visitors, $k) as visitors_low,
        suppress(visitors, $k) as visitors_high,
        suppress(visits, $k) as visits,
        suppress(passersby, $k) as passersby,
        case when not (is_suppressed(visitors, $k) or is_suppressed(passersby, $k)) then visitors / nullif(visitors + passersby, 0) end as capture_rate,
        case when not is_suppressed(visits, $k) then dwell_p50_s end as dwell_p50_s,
        case when not is_suppressed(visits, $k) then dwell_p90_s end as dwell_p90_s,
        is_suppressed(visitors, $k) or is_suppressed(visits, $k) or is_suppressed(passersby, $k) as suppressed,
        estimated
    from counted
)

select * from final order by store, date
