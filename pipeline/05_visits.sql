-- Visits, classed (the `visits` dataset):
--   staff      the device was present longer than the daily limit that day (its
--              visits' dwell summed), or inside the store (a signal at or above a
--              sensor's threshold) for longer than a visit gap while it was closed
--              (outside opening hours); staff and fixed equipment are excluded from
--              every customer metric;
--   passerby   otherwise, when the visit's peak signal stayed below the threshold of
--              every sensor that heard it, or it lasted less than the minimum visit
--              (its span and, for a followed device, one of its silences between scans
--              in that visit: a phone is heard only when it scans, so it was there
--              about half a silence before its first scan and half after its last);
--   visitor    otherwise.
-- A visit whose frames carried no signal level counts as inside.
--
-- How many people a visit stands for. A followed device (a fixed address, or sequence
-- numbers that run on) is one phone: its visits count one each. A guessed device
-- (timing, layout and level only) may be several phones of one family the tracker
-- could not tell apart: its visitor visit counts as many visits as its scans make at
-- a phone's scan rate and the day's mean stay (Little's law: visits = phone-time /
-- mean stay, phone-time = scans / scan rate), `people`. The rate is that of the
-- followed phones that rotate their
-- address (their sequence numbers run on: phones, not laptops or tills with a fixed
-- address, which scan at other rates); the mean stay that of every followed visitor
-- visit. Where fewer than reference_visits() of them describe the day, every visit
-- counts one; so does a guessed visit longer than any followed visitor stayed that day
-- (more likely a phone that stays all day, cut off from the rest of its day by a
-- crowd of its model, than that many customers in a row).
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
        -- a phone is heard only when it scans: it was there about one of its silences
        -- (between scans heard at or above a threshold) before its first scan and
        -- after its last (half a silence each side); only a followed device's
        -- silences are its own (a guessed chain's may be two phones')
        case when followed and scans >= 2 then (last_us - first_us) / (scans - 1) else 0 end as unheard_us,
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

classified as (
    select
        c.*,
        case
            when s.is_staff then 'staff'
            when c.peak_margin < 0 or c.last_us - c.first_us + c.unheard_us < st.min_dwell_us then 'passerby'
            else 'visitor'
        end as class
    from with_closed_time as c
    join staff_devices as s on s.store = c.store and s.date = c.date and s.device_key = c.device_key
    join store_settings as st on st.store = c.store
),

followed_visits as (
    select
        store,
        date,
        count(*) as visits,
        sum(dwell_s) as dwell_s,
        max(dwell_s) as longest_s
    from classified
    where class = 'visitor' and followed
    group by store, date
),

-- followed phones that rotate their address (sequence numbers that run on) are the
-- guessed phones' kin: phones, not laptops or tills with a fixed address; their
-- scan rate stands for a guessed phone's
rotating_rates as (
    select
        store,
        date,
        count(*) as visits,
        sum(scans) / sum(greatest(dwell_s, 60.0)) as scan_rate
    from classified
    where class = 'visitor' and followed and estimated
    group by store, date
),

weighed as (
    select
        c.*,
        f.dwell_s / f.visits as mean_dwell_s,
        r.scan_rate,
        c.class = 'visitor'
        and not c.followed
        and c.dwell_s <= f.longest_s
        and coalesce(
            f.visits >= reference_visits() and r.visits >= reference_visits() and r.scan_rate > 0 and f.dwell_s > 0,
            false
        )
            as weighed
    from classified as c
    left join followed_visits as f on f.store = c.store and f.date = c.date
    left join rotating_rates as r on r.store = c.store and r.date = c.date
),

final as (
    select
        store,
        date,
        device_key,
        first_seen,
        last_seen,
        dwell_s,
        sightings,
        peak_rssi,
        class,
        estimated,
        followed,
        scans,
        case when weighed then scans / (scan_rate * mean_dwell_s) else 1.0 end as people
    from weighed
)

select * from final order by store, date, first_seen, device_key
