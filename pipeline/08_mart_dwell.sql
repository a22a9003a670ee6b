-- Dwell distribution of each store-day: visits classed visitor per dwell bucket
-- (<5m, 5-20m, 20-60m, 1-6h, 6h+; a bucket holds its lower bound). Every bucket has
-- a row; counts below $k are suppressed.
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

bucket_counts as (
    select
        d.store,
        d.date,
        b.bucket,
        b.position,
        count(c.device_key) as visits
    from store_days as d
    cross join buckets as b
    left join visits as c
        on c.store = d.store
        and c.date = d.date
        and c.class = 'visitor'
        and c.dwell_s >= b.low_s
        and (b.high_s is null or c.dwell_s < b.high_s)
    group by d.store, d.date, b.bucket, b.position
),

final as (
    select
        store,
        date,
        bucket,
        suppress(visits, $k) as visits,
        is_suppressed(visits, $k) as suppressed,
        position
    from bucket_counts
)

select * exclude (position) from final order by store, date, position
