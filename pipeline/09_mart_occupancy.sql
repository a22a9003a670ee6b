-- Occupancy: the estimated number of visitors present in each 5-minute bin of the
-- store's local day (`ts` = bin start, UTC). A visit counts in the bins whose midpoint
-- (start + 2:30) falls between its first and last sighting: the count at the middle
-- of a bin is the best single estimate of the bin's average, where counting every bin
-- a visit touches would add a person to both bins of each arrival and departure
-- (a visit of 5 minutes or more always covers one). Visits are those of the day
-- (started on it), so the first bins after midnight miss anyone who came the evening
-- before. Each visit counts one, a guessed one too: weighing a guessed visit's
-- presence by its scan rate (a chain scanning faster than one phone may be two)
-- made the lab days' occupancy worse (devices other than phones scan faster), see
-- docs/accuracy.md. Counts below $k are suppressed.
with
visitor_visits as (
    select
        store,
        date,
        -- first bin whose midpoint is at or after first_seen
        (bin_of(micros(first_seen) - half_bin_us() - 1, occupancy_bin_us()) + 1) * occupancy_bin_us() as enter_us,
        -- the bin after the last one whose midpoint is at or before last_seen
        (bin_of(micros(last_seen) - half_bin_us(), occupancy_bin_us()) + 1) * occupancy_bin_us() as leave_us
    from visits
    where class = 'visitor'
),

counted_visits as (
    select * from visitor_visits where enter_us < leave_us  -- covers a midpoint
),

changes as (
    select store, date, bin_us, sum(delta) as delta
    from (
        select store, date, enter_us as bin_us, 1 as delta from counted_visits
        union all
        select store, date, leave_us as bin_us, -1 as delta from counted_visits
    ) as events
    group by store, date, bin_us
),

present_per_bin as (
    select
        b.store,
        b.date,
        b.bin_us,
        cast(sum(coalesce(c.delta, 0)) over (
            partition by b.store, b.date order by b.bin_us rows between unbounded preceding and current row
        ) as bigint) as present  -- a count: an integer (a sum is 128-bit in DuckDB)
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
