"""Worked examples for the data dictionary: per dataset, SQL for `footfall sql` (its
views, and the variable `k`, the k in force) and pandas on the Hive folders, each
runnable as written from the folder that holds `data/` (tests/test_data_dictionary.py
runs every one against marts the pipeline wrote). They show what the declaration
says in words: a suppressed count is null and a sum over it a lower bound, a day
without a row is no data, and a rate is recomputed from counts, never averaged.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    title: str
    sql: str = ""  # for `footfall sql` (one statement)
    pandas: str = ""  # a Python script (pandas, from the folder that holds data/)


EXAMPLES: dict[str, tuple[Example, ...]] = {
    "visits": (
        Example(
            "Visits by class, with their typical length",
            sql="""\
select class, count(*) as visits, count(distinct device_key) as devices,
       median(dwell_s) / 60 as median_minutes
from visits
group by store, date, class
order by class""",
            pandas="""\
import pandas as pd

visits = pd.read_parquet("data/visits")
visits["minutes"] = visits["dwell_s"] / 60
print(visits.groupby(["store", "date", "class"], observed=True)["minutes"].describe())""",
        ),
    ),
    "marts/daily": (
        Example(
            "Day over day, with a calendar: a missing day is no data, not 0",
            sql="""\
with calendar as (
    select store, unnest(generate_series(first, last, interval 1 day))::date as date
    from (select store, min(date) as first, max(date) as last from daily group by store)
)
select c.store, c.date, d.visitors,
       d.visitors - lag(d.visitors) over (partition by c.store order by c.date) as change,
       d.date is null as no_data
from calendar as c
left join daily as d on d.store = c.store and d.date = c.date
order by c.store, c.date""",
            pandas="""\
import pandas as pd

daily = pd.read_parquet("data/marts/daily")
daily["date"] = pd.to_datetime(daily["date"].astype(str))
for store, rows in daily.groupby("store", observed=True):
    # every calendar day: a day without a row becomes NaN (no data), never 0
    days = pd.date_range(rows["date"].min(), rows["date"].max(), freq="D")
    visitors = rows.set_index("date")["visitors"].astype("Float64").reindex(days)
    print(store)
    print(pd.DataFrame({"visitors": visitors, "change": visitors.diff()}))""",
        ),
        Example(
            "A period's totals: suppressed days make a range, the rate comes from the counts",
            sql="""\
select store,
       count(*) as days_with_data,
       sum(visitors) as visitors_at_least,
       sum(visitors) + count(*) filter (where visitors is null) * (getvariable('k') - 1) as visitors_at_most,
       sum(visitors) filter (where passersby is not null)
           / sum(visitors + passersby) as capture_rate,
       sum(visitors) / count(visitors) as visitors_per_published_day
from daily
group by store
order by store""",
            pandas="""\
import pandas as pd

k = 5  # [privacy] k
daily = pd.read_parquet("data/marts/daily")
per_store = daily.groupby("store", observed=True).agg(
    days_with_data=("date", "count"),
    visitors_at_least=("visitors", "sum"),  # skips the suppressed (null) days
    hidden_days=("visitors", lambda v: v.isna().sum()),
)
per_store["visitors_at_most"] = per_store["visitors_at_least"] + per_store["hidden_days"] * (k - 1)
print(per_store)""",
        ),
    ),
    "marts/hourly": (
        Example(
            "The busy hours: mean arrivals per weekday and local hour, over the published cells",
            sql="""\
select isodow(date) as weekday, hour,
       avg(arrivals) as mean_arrivals,
       count(*) filter (where arrivals is null) as hours_below_k
from hourly
group by weekday, hour
order by weekday, hour""",
            pandas="""\
import pandas as pd

hourly = pd.read_parquet("data/marts/hourly")
# arrivals add up over the hours (and stores) to the day's visits; `visitors` (people present) do not.
# min_count=1: a sum of suppressed (NaN) cells only is unknown, where pandas would say 0
table = hourly.groupby(["date", "hour"], observed=True)["arrivals"].sum(min_count=1).unstack("hour")
print(table)""",
        ),
    ),
    "marts/dwell": (
        Example(
            "Each bucket's share of all the day's visits; a suppressed bucket as the range it lies in",
            sql="""\
select w.store, w.date, w.bucket,
       coalesce(cast(w.visits as varchar), '0-' || (getvariable('k') - 1)) as visits,
       w.visits / d.visits as share_of_visits
from dwell as w
join daily as d on d.store = w.store and d.date = w.date
order by w.store, w.date, list_position(['<5m', '5-20m', '20-60m', '1-6h', '6h+'], w.bucket)""",
            pandas="""\
import pandas as pd

dwell = pd.read_parquet("data/marts/dwell")
daily = pd.read_parquet("data/marts/daily")[["store", "date", "visits"]]
keys = ["store", "date"]
for frame in (dwell, daily):
    frame[keys] = frame[keys].astype(str)
both = dwell.merge(daily, on=keys, suffixes=("", "_of_day"))
both["share_of_visits"] = both["visits"] / both["visits_of_day"]  # NaN where suppressed
print(both[["store", "date", "bucket", "visits", "share_of_visits"]])""",
        ),
    ),
    "marts/occupancy": (
        Example(
            "The peak of each day, by the store's clock (here Europe/Prague)",
            sql="""\
select store, date,
       max(present) as peak,
       strftime(timezone('Europe/Prague', arg_max(ts, present)), '%H:%M') as peak_at
from occupancy
group by store, date
order by store, date""",
            pandas="""\
import pandas as pd

occupancy = pd.read_parquet("data/marts/occupancy")
occupancy["local"] = occupancy["ts"].dt.tz_convert("Europe/Prague")
hourly_mean = occupancy.set_index("local").groupby("store", observed=True)["present"].resample("1h").mean()
print(hourly_mean.dropna())""",
        ),
    ),
    "marts/sensor_health": (
        Example(
            "Minutes heard per sensor, within the span each sensor covered that day",
            sql="""\
select store, date, sensor,
       count(*) as minutes_heard,
       date_diff('minute', min(minute), max(minute)) + 1 as minutes_spanned,
       sum(frames) as frames_at_least
from sensor_health
group by store, date, sensor
order by store, date, sensor""",
            pandas="""\
import pandas as pd

health = pd.read_parquet("data/marts/sensor_health")
per_hour = health.set_index("minute").groupby("sensor", observed=True)["frames"].resample("1h").count()
print(per_hour.rename("minutes heard"))""",
        ),
    ),
}
