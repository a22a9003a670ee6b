-- Resolve devices: which pseudonyms belong to one phone.
--
-- In this version each pseudonym is its own device: a phone that keeps its address
-- is counted once, one that rotates its address is counted once per address. A key
-- first seen under a randomised (locally administered) address is flagged
-- `estimated`: the same person may hold other keys. The estimator that links a
-- phone's rotating addresses replaces this step.
with
final as (
    select
        store,
        device as device_key,
        ts_us,
        rssi,
        margin,
        randomized as estimated
    from stage
)

select * from final
