-- Resolve devices: each sighting gets the key of its estimated device, from the
-- chains of pseudonyms that step 02 (02_link_pseudonyms.py) built within each store
-- and epoch; a pseudonym it did not link is a device of its own. A key is an
-- estimate when it gathers several pseudonyms or stands for a randomised address
-- (the same person may hold other keys). A key is `followed` when its identity rests
-- on a fixed address or on sequence numbers that run on, not on a guess.
with
final as (
    select
        s.store,
        coalesce(l.device_key, s.device) as device_key,
        s.ts_us,
        s.rssi,
        s.margin,
        s.randomized or coalesce(l.device_key <> s.device, false) as estimated,
        coalesce(l.followed, true) as followed
    from stage as s
    left join link_pseudonyms as l on l.store = s.store and l.epoch = s.epoch and l.device = s.device
)

select * from final
