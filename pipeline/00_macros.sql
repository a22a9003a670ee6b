-- Macros the steps share. The only engine-specific functions of the pipeline live
-- here (DuckDB names; on Spark: unix_micros, div), so a port changes this file only.

-- Microseconds since 1970 of a UTC timestamp: all time arithmetic is done on these
-- integers, so that a gap of exactly the threshold is exactly the threshold.
create or replace temp macro micros(ts) as epoch_us(ts);

-- Integer division of microseconds into bins (quarter hours, 5-minute bins).
create or replace temp macro bin_of(us, width) as us // width;

-- A UTC timestamp from microseconds since 1970 (exact: no floating point).
create or replace temp macro timestamp_of(us) as cast(make_timestamp(us) as timestamptz);

-- k-suppression of a mart count: below k (zero included) it becomes null and the
-- row's `suppressed` flag is set; k = 1 keeps every count, zeros too.
create or replace temp macro is_suppressed(n, k) as k > 1 and n < k;
create or replace temp macro suppress(n, k) as case when not is_suppressed(n, k) then n end;
