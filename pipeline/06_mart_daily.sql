-- Daily footfall of each store: visitors (estimated people with at least one visit
-- classed visitor), their visits, passers-by (people only ever seen passing that
-- day), capture rate = visitors / (visitors + passers-by), and the median and 90th
-- percentile dwell of the visits. One row per store-day at hand, even a quiet one.
-- Counts below $k are suppressed (null, and `suppressed` is set); so is every figure
-- derived from a suppressed count. `estimated` says the counts stand for people
-- estimated from device keys.
--
-- Visitors: every followed device with a visitor visit is one person; the guessed
-- visitor visits add their `people` (see 05_visits.sql), at the day's followed people
-- per followed visit (a few come back). The range, visitors_low to visitors_high,
-- holds the 95 % spread of that guessed part and the plain count of device keys
-- (the estimate without weighing); it never goes below the followed people. The
-- spread: the guessed visits' scans vary as the followed visits' scans do (cv), and
-- what a visit's scans are divided by is known only as well as the followed visits
-- pin it down (the relative variances of the rotating ones' scan rate and of every
-- followed visit's stay, each over its count): se^2 = g cv^2 + g^2 (v_rate + v_stay).
-- The dwell figures are those of the followed visits where reference_visits() of them
-- describe the day (a guessed device may be two visits run together), otherwise of
-- every visitor visit.
with
devices as (
    select
        store,
        date,
        device_key,
        bool_or(class = 'visitor') as visited,
        bool_or(class = 'passerby') as passed,
        bool_or(estimated) as estimated,
        bool_and(followed) as followed
    from visits
    group by store, date, device_key
),

device_counts as (
    select
        store,
        date,
        count(*) filter (where visited) as keys,
        count(*) filter (where visited and followed) as followed_visitors,
        count(*) filter (where passed and not visited) as passersby,
        bool_or(estimated and (visited or passed)) as estimated
    from devices
    group by store, date
),

visit_counts as (
    select
        store,
        date,
        count(*) filter (where followed) as followed_visits,
        sum(people) filter (where not followed) as guessed_visits,
        coalesce(count(*) filter (where followed) >= reference_visits(), false) as described,
        coalesce(stddev_pop(scans) filter (where followed) / nullif(avg(scans) filter (where followed), 0), 0) as scans_cv,
        -- how well the day's followed visits pin down a visit's scans (the rate of those
        -- that rotate, times the mean stay of all): the relative variance of that product
        coalesce(
            var_pop(scans / greatest(dwell_s, 60.0)) filter (where followed and estimated)
                / nullif(power(avg(scans / greatest(dwell_s, 60.0)) filter (where followed and estimated), 2), 0)
                / nullif(count(*) filter (where followed and estimated), 0)
            + var_pop(dwell_s) filter (where followed) / nullif(power(avg(dwell_s) filter (where followed), 2), 0)
                / nullif(count(*) filter (where followed), 0),
            0
        ) as reference_variance,
        quantile_cont(dwell_s, 0.5) filter (where followed) as followed_p50_s,
        quantile_cont(dwell_s, 0.9) filter (where followed) as followed_p90_s,
        quantile_cont(dwell_s, 0.5) as dwell_p50_s,
        quantile_cont(dwell_s, 0.9) as dwell_p90_s
    from visits
    where class = 'visitor'
    group by store, date
),

estimate as (
    select
        d.store,
        d.date,
        coalesce(k.keys, 0) as keys,
        coalesce(k.followed_visitors, 0) as followed_visitors,
        case
            when v.described then coalesce(v.guessed_visits, 0) * k.followed_visitors / v.followed_visits
            else coalesce(k.keys, 0) - coalesce(k.followed_visitors, 0)
        end as guessed_visitors,
        coalesce(v.followed_visits, 0) + coalesce(v.guessed_visits, 0) as visits,
        coalesce(k.passersby, 0) as passersby,
        coalesce(v.scans_cv, 0) as scans_cv,
        coalesce(v.reference_variance, 0) as reference_variance,
        case when v.described then v.followed_p50_s else v.dwell_p50_s end as dwell_p50_s,
        case when v.described then v.followed_p90_s else v.dwell_p90_s end as dwell_p90_s,
        coalesce(k.estimated, false) as estimated
    from store_days as d
    left join device_counts as k on k.store = d.store and k.date = d.date
    left join visit_counts as v on v.store = d.store and v.date = d.date
),

ranged as (
    select
        *,
        followed_visitors + guessed_visitors as visitors_exact,
        z95() * sqrt(guessed_visitors * scans_cv * scans_cv + guessed_visitors * guessed_visitors * reference_variance)
            as margin
    from estimate
),

counted as (
    select
        store,
        date,
        cast(round(visitors_exact) as bigint) as visitors,
        cast(round(greatest(followed_visitors, least(visitors_exact - margin, keys))) as bigint) as visitors_low,
        cast(round(greatest(visitors_exact + margin, keys)) as bigint) as visitors_high,
        cast(round(visits) as bigint) as visits,
        passersby,
        dwell_p50_s,
        dwell_p90_s,
        estimated
    from ranged
),

final as (
    select
        store,
        date,
        suppress(visitors, $k) as visitors,
        suppress(visits, $k) as visits,
        suppress(passersby, $k) as passersby,
        case when not (is_suppressed(visitors, $k) or is_suppressed(passersby, $k)) then visitors / nullif(visitors + passersby, 0) end as capture_rate,
        case when not is_suppressed(visits, $k) then dwell_p50_s end as dwell_p50_s,
        case when not is_suppressed(visits, $k) then dwell_p90_s end as dwell_p90_s,
        is_suppressed(visitors, $k) or is_suppressed(visits, $k) or is_suppressed(passersby, $k) as suppressed,
        estimated,
        case when not is_suppressed(visitors, $k) then suppress(visitors_low, $k) end as visitors_low,
        case when not is_suppressed(visitors, $k) then suppress(visitors_high, $k) end as visitors_high
    from counted
)

select * from final order by store, date
