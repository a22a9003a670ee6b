-- Dwell distribution of each store-day: visits classed visitor per dwell bucket
-- (<5m, 5-20m, 20-60m, 1-6h, 6h+; a bucket holds its lower bound). Every bucket has
-- a row; counts below $k are suppressed. Where reference_visits() followed visitor
-- visits describe the day, the buckets are theirs, scaled to all the day's visits
-- (05_visits.sql: a guessed device may be two visits run together, whose dwell says
-- little); otherwise every visitor visit counts in its own bucket.
with
buckets as (
    select *
    from (
        values
            ('<5m', 0, 300, 1),
            ('5-20m', 300, 1200, 2),
            ('20-60m', 1200, 3600, 3),
            ('1-6h', 3600, 21600, 4),
            ('6h+', 21600, null, 5)
    ) as b (bucket, low_s, high_s, position)
),

day_visits as (
    select
        store,
        date,
        count(*) filter (where followed) as followed_visits,
        sum(people) as visits
    from visits
    where class = 'visitor'
    group by store, date
),

bucket_counts as (
    select
        d.store,
        d.date,
        b.bucket,
        b.position,
        case
            when min(v.followed_visits) >= reference_visits()
                then count(c.device_key) filter (where c.followed) * min(v.visits) / min(v.followed_visits)
            else count(c.device_key)
        end as visits_weighed
    from store_days as d
    cross join buckets as b
    left join day_visits as v on v.store = d.store and v.date = d.date
    left join visits as c
        on c.store = d.store
        and c.date = d.date
        and c.class = 'visitor'
        and c.dwell_s >= b.low_s
        and (b.high_s is null or c.dwell_s < b.high_s)
    group by d.store, d.date, b.bucket, b.position
),

rounded as (
    select store, date, bucket, position, cast(round(visits_weighed) as bigint) as visits
    from bucket_counts
),

final as (
    select
        store,
        date,
        bucket,
        suppress(visits, $k) as visits,
        is_suppressed(visits, $k) as suppressed,
        position
    from rounded
)

select * exclude (position) from final order by store, date, position
