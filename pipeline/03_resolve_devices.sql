-- Resolve devices: each sighting gets the key of its estimated device, from the
-- chains of pseudonyms that step 02 (02_link_pseudonyms.py) built within each store
-- and epoch. A key is an estimate when it gathers several pseudonyms or stands for
-- a randomised address (the same person may hold other keys).
with
final as (
    select
        s.store,
        l.device_key,
        s.ts_us,
        s.rssi,
        s.margin,
        s.randomized or l.linked as estimated
    from stage as s
    join link_pseudonyms as l on l.store = s.store and l.epoch = s.epoch and l.device = s.device
)

select * from final
