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
-- row's `suppressed` flag is set; k = 1 keeps every count, zeros too. The one rule:
-- the dashboard loads this file to suppress again with the k in force.
create or replace temp macro is_suppressed(n, k) as k > 1 and n < k;
create or replace temp macro suppress(n, k) as case when not is_suppressed(n, k) then n end;

-- Time widths, in microseconds, and why they are what they are.

-- Copies of one frame (the same probe heard on another channel, or by another sensor
-- of the store) arrive within milliseconds of each other; 5 s is generous, and far
-- shorter than a phone takes to use the same sequence number again (4096 frames on).
create or replace temp macro fold_window_us() as 5 * 1000000;

-- Copies are first gathered by a hash aggregation in buckets this wide (10 min):
-- wide against the fold window, so that few frames fall near a bucket's edge (those
-- are folded row by row).
create or replace temp macro fold_bucket_us() as 10 * 60 * 1000000;

-- Every time zone's offset from UTC is a whole number of quarter hours, so a UTC
-- quarter hour lies in one local hour: local hours are made of quarters (the runner
-- builds `local_quarters` at this width).
create or replace temp macro quarter_us() as 15 * 60 * 1000000;

-- The occupancy mart's bin: people present per 5 minutes (the runner builds
-- `occupancy_bins` at this width); a visit counts in the bins whose midpoint it spans.
create or replace temp macro occupancy_bin_us() as 5 * 60 * 1000000;
create or replace temp macro half_bin_us() as occupancy_bin_us() // 2;

-- One scan: the probes a phone sends in one sweep of the channels reach a sensor on
-- one channel within a second or two, and a phone's next scan comes seconds to
-- minutes later: scans are counted as the 2-second slots a device was heard in.
create or replace temp macro scan_us() as 2 * 1000000;
-- Distinct slots are counted as bits: a BIGINT word holds 63 consecutive slots (the
-- sign bit left alone), one bit each; a word's bits OR-ed together and counted give
-- its distinct slots without a distinct aggregate (half the work on 10 M sightings).
create or replace temp macro slot_word(us) as bin_of(us, scan_us()) // 63;
create or replace temp macro slot_bit(us) as cast(1 as bigint) << cast(bin_of(us, scan_us()) % 63 as integer);

-- A store-day's followed visitor visits (whose phones keep a fixed address or a
-- running sequence number) describe a visit there: how many scans it holds, at what
-- rate, how long it lasts. With fewer than this many, the day is not described well
-- enough to weigh the guessed visits by it, and every visit counts as one.
create or replace temp macro reference_visits() as 10;

-- z of a two-sided 95 % range.
create or replace temp macro z95() as 1.96;
