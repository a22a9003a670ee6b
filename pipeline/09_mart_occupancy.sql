-- Occupancy: the estimated number of visitors present in each 5-minute bin of the
-- store's local day (`ts` = bin start, UTC). A visit counts in every bin from the one
-- it started in to the one it ended in. Visits are those of the day (started on it),
-- so the first bins after midnight miss anyone who came the evening before. Counts
-- below $k are suppressed.
with
visitor_visits as (
    select
        store,
        date,
        bin_of(micros(first_seen), 300000000) * 300000000 as enter_us,
        (bin_of(micros(last_seen), 300000000) + 1) * 300000000 as leave_us
    from classify
    where class = 'visitor'
),

changes as (
    select store, date, bin_us, sum(delta) as delta
    from (
        select store, date, enter_us as bin_us, 1 as delta from visitor_visits
        union all
        select store, date, leave_us as bin_us, -1 as delta from visitor_visits
    ) as events
    group by store, date, bin_us
),

present_per_bin as (
    select
        b.store,
        b.date,
        b.bin_us,
        sum(coalesce(c.delta, 0)) over (
            partition by b.store, b.date order by b.bin_us rows between unbounded preceding and current row
        ) as present
    from occupancy_bins as b
    left join changes as c on c.store = b.store and c.date = b.date and c.bin_us = b.bin_us
),

final as (
    select
        store,
        date,
        timestamp_of(bin_us) as ts,
        suppress(present, $k) as present,
        is_suppressed(present, $k) as suppressed,
        true as estimated
    from present_per_bin
)

select * from final order by store, date, ts
