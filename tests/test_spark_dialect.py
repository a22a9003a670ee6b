"""The pipeline's DuckDB SQL on Spark (footfall.pipeline.spark_dialect): each rewrite
gives DuckDB's rows on Spark and is needed; the differences sqlglot already covers
give DuckDB's rows too (a newer sqlglot that stops covering one fails here); every step
transpiles and Spark analyses it with DuckDB's column names and types; a small store-day
runs through the whole chain on both engines with the same rows."""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
import pytest
from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession

from footfall.config import load_settings
from footfall.data_folder import DataFolder
from footfall.pipeline import runner
from footfall.pipeline.spark_dialect import REWRITES, to_spark

import sightings_builder as sb
from spark_session import spark  # noqa: F401

K = 3
PARAMETERS = {"k": K}
STEPS = runner.steps()

# The input relations the runner registers, and their schemas.
INPUTS = {
    "sightings": runner.SIGHTING_COLUMNS,
    "heartbeats": runner.HEARTBEAT_COLUMNS,
    "store_settings": runner.STORE_SETTINGS,
    "sensor_thresholds": runner.SENSOR_THRESHOLDS,
    "store_days": runner.STORE_DAYS,
    "local_quarters": runner.LOCAL_QUARTERS,
    "occupancy_bins": runner.OCCUPANCY_BINS,
}

# Spark's type names and DuckDB's for the same type (a TIMESTAMP is Spark's local-time
# timestamp: an instant, shown in the session's time zone, as DuckDB's TIMESTAMPTZ).
SAME_TYPE = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
}


# --- running a query on both engines ------------------------------------------------------


def duckdb_connection() -> duckdb.DuckDBPyConnection:
    """A connection as the runner makes it: UTC, the macros defined."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(runner.macros())
    return con


def _parameters(sql: str) -> dict[str, object] | None:
    return {name: PARAMETERS[name] for name in PARAMETERS if f"${name}" in sql} or None


def duckdb_rows(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    return con.sql(sql, params=_parameters(sql)).to_arrow_table()


def spark_rows(session: SparkSession, sql: str) -> pa.Table:
    return session.sql(sql).toArrow()


def _cell(value: object) -> object:
    """A value as compared: floats to 12 significant digits (the engines may sum in
    another order), everything else as it is."""
    if isinstance(value, float) and math.isfinite(value) and value != 0:
        return float(f"{value:.12g}")
    return value


def rows(table: pa.Table, ordered: bool = False) -> list[tuple]:
    """The table's rows as tuples, sorted unless their order is under test."""
    found = [tuple(_cell(v) for v in row.values()) for row in table.to_pylist()]
    return found if ordered else sorted(found, key=repr)


def assert_same_rows(duck: pa.Table, on_spark: pa.Table, ordered: bool = False) -> None:
    assert on_spark.column_names == duck.column_names
    assert rows(on_spark, ordered) == rows(duck, ordered)


# --- the rewrites ---------------------------------------------------------------------------

# One query per rewrite, on literal data, in the steps' dialect (macros included).
REWRITE_CASES = {
    "epoch_us_to_unix_micros": """
        with final as (
            select micros(ts) as us, micros(ts) // 1000000 as s
            from (values (cast('2026-03-29 01:59:59.999999+00' as timestamptz)), (timestamp_of(0))) as v (ts)
        )
        select * from final
    """,
    "quantile_cont_to_percentile": """
        with final as (
            select
                g,
                quantile_cont(x, 0.5) as p50,
                quantile_cont(x, 0.9) filter (where x > 1) as p90
            from (values (1, 1e0), (1, 2e0), (1, 4e0), (1, 10e0), (2, 7.5e0)) as v (g, x)  -- doubles, as dwell_s
            group by g
        )
        select * from final
    """,
}


def test_every_rewrite_has_a_case() -> None:
    assert sorted(REWRITE_CASES) == sorted(rewrite.__name__ for rewrite in REWRITES)
    assert all(rewrite.__doc__ for rewrite in REWRITES)


@pytest.mark.parametrize("name", sorted(REWRITE_CASES))
def test_rewrite_gives_duckdbs_rows_on_spark(spark: SparkSession, name: str) -> None:  # noqa: F811
    sql = REWRITE_CASES[name]
    assert_same_rows(duckdb_rows(duckdb_connection(), sql), spark_rows(spark, to_spark(sql)))


@pytest.mark.parametrize("name", sorted(REWRITE_CASES))
def test_rewrite_is_needed(spark: SparkSession, name: str) -> None:  # noqa: F811
    """Without the rewrite, Spark rejects the query or gives other rows."""
    sql = REWRITE_CASES[name]
    without = tuple(rewrite for rewrite in REWRITES if rewrite.__name__ != name)
    try:
        found = spark_rows(spark, to_spark(sql, rewrites=without))
    except AnalysisException:
        return
    assert rows(found) != rows(duckdb_rows(duckdb_connection(), sql))


# --- what sqlglot's transpilation already covers ---------------------------------------------

# Differences between the dialects that sqlglot's DuckDB -> Spark transpilation handles
# by itself (no rewrite), each checked on both engines.
COVERED_CASES = {
    # `//` is Spark's DIV: both truncate toward zero, both give an integer
    "integer_division": "select -7 // 2 as a, 7 // 2 as b, bin_of(-7, 2) as c, cast(7 as bigint) // 2 as d",
    # `/` of integers is a double on both; 1e6 is a double on both
    "division_and_exponent_literals": "select 7 / 2 as a, 7 / 1e6 as b, cast(5 as bigint) / 2 as c",
    # anti join / semi join: Spark's [LEFT] ANTI / SEMI JOIN
    "anti_and_semi_join": """
        with
        l as (select * from (values (1, 'a'), (2, 'b'), (3, 'c')) as t (id, x)),
        r as (select * from (values (2), (3), (3)) as t (id)),
        final as (
            select l.id, 'anti' as kind from l anti join r on r.id = l.id
            union all
            select l.id, 'semi' as kind from l semi join r on r.id = l.id
        )
        select * from final
    """,
    # a lateral subquery that names the outer row's columns (01_stage.sql)
    "cross_join_lateral": """
        select s.id, r.rssi
        from (values (1, -40), (2, 3), (3, null)) as s (id, rssi)
        cross join lateral (select case when s.rssi <= 0 then s.rssi end as rssi) as r
    """,
    # `<<` is shiftleft; bit_or, bit_count and bool_or/bool_and aggregate alike, nulls skipped
    "bits_and_booleans": """
        select
            g,
            bit_count(bit_or(slot_bit(us))) as slots,
            bit_or(cast(1 as bigint) << 62) as top,
            bool_or(b) as any_b,
            bool_and(b) as all_b
        from (values (1, 0, true), (1, 2000000, null), (1, 2000001, false), (2, 126000000, null)) as v (g, us, b)
        group by g
    """,
    # make_timestamp(us) is Spark's timestamp_micros, timestamptz its TIMESTAMP (an instant)
    "timestamps_from_micros": """
        select timestamp_of(us) as ts, micros(timestamp_of(us)) as back
        from (values (cast(0 as bigint)), (1700000000123456), (-1)) as v (us)
    """,
    # greatest/least skip nulls on both engines (null only when every argument is)
    "greatest_least_nulls": """
        select greatest(1, null) as a, least(null, 2) as b, greatest(cast(null as int), null) as c,
            greatest(0, least(cast(5 as bigint), null) - 3) as d, greatest(2.5, 60.0) as e
    """,
    # round half away from zero on both (doubles and decimals)
    "round_half_away_from_zero": """
        select round(cast(2.5 as double)) as a, round(cast(-2.5 as double)) as b, round(0.5) as c,
            cast(round(cast(1.4999999 as double)) as bigint) as d
    """,
    # a struct key orders field by field on both (the tie-break of arg_min/arg_max)
    "arg_min_max_struct_key": """
        select g, arg_min(s, (t, s)) as first_s, arg_max(s, (t, s)) as last_s
        from (values (1, 1, 5), (1, 1, 3), (1, 2, 7), (1, 2, 9), (2, 4, 1)) as v (g, t, s)
        group by g
    """,
    # aggregate FILTER clauses, count(distinct) among them
    "aggregate_filters": """
        select count(*) filter (where x > 1) as a, count(distinct x) filter (where x > 1) as b,
            sum(x) filter (where x > 5) as c, bool_or(x > 2) filter (where x < 3) as d
        from (values (1), (2), (2), (3)) as v (x)
    """,
    # string concatenation: null in, null out; casts of numbers to text
    "string_concat": """
        select 'a' || null || 'b' as a, 's1' || '/' || coalesce(cast(cast(2437 as smallint) as varchar), '') as b
    """,
    # select * exclude (...): Spark's SELECT * EXCEPT (...)
    "select_star_exclude": "select * exclude (b) from (values (1, 2, 3)) as v (a, b, c)",
    # population variance and deviation, power, sqrt, nullif
    "statistics": """
        select stddev_pop(x) as sd, var_pop(x) as v, power(avg(x), 2) as p, sqrt(sum(x)) as r,
            avg(x) / nullif(count(*) - 4, 0) as n
        from (values (1.0), (2.0), (4.0), (9.0)) as v (x)
    """,
    # k-suppression, with $k bound as a literal
    "suppression_macros": """
        select n, suppress(n, $k) as shown, is_suppressed(n, $k) as hidden
        from (values (0), (2), (3), (10)) as v (n)
    """,
}

# Queries whose row order is the point (ascending nulls are last on DuckDB, first on
# Spark, where sqlglot writes NULLS LAST), with the rows in the order DuckDB gives them.
ORDERED_CASES = {
    "order_by_nulls_last": (
        "select x, y from (values (1, 'b'), (null, 'a'), (3, null), (1, null)) as v (x, y) order by x, y",
        [(1, "b"), (1, None), (3, None), (None, "a")],
    ),
    "window_order_nulls_last": (
        """
        select x, count(*) over (order by x rows between unbounded preceding and current row) as n,
            lag(x) over (order by x) as previous
        from (values (2), (null), (1)) as v (x)
        order by n
        """,
        [(1, 1, None), (2, 2, 1), (None, 3, 2)],
    ),
}


@pytest.mark.parametrize("name", sorted(COVERED_CASES))
def test_covered_difference_gives_duckdbs_rows_on_spark(spark: SparkSession, name: str) -> None:  # noqa: F811
    sql = COVERED_CASES[name]
    assert_same_rows(duckdb_rows(duckdb_connection(), sql), spark_rows(spark, to_spark(sql, PARAMETERS)))


@pytest.mark.parametrize("name", sorted(ORDERED_CASES))
def test_order_gives_duckdbs_order_on_spark(spark: SparkSession, name: str) -> None:  # noqa: F811
    sql, expected = ORDERED_CASES[name]
    duck = duckdb_rows(duckdb_connection(), sql)
    assert rows(duck, ordered=True) == expected
    assert_same_rows(duck, spark_rows(spark, to_spark(sql)), ordered=True)


def test_division_by_zero_differs(spark: SparkSession) -> None:  # noqa: F811
    """A known difference, which the steps avoid (every divisor is guarded by nullif or
    a condition): DuckDB 2 divides by zero to infinity (`/`) or fails (`//`); Spark in
    ANSI mode (the engine's setting) fails for both."""
    con = duckdb_connection()
    assert con.sql("select 1 / 0").fetchall() == [(math.inf,)]
    with pytest.raises(duckdb.Error, match="Division by zero"):
        con.sql("select 1 // 0").fetchall()
    for query in ("select 1 / 0 as a", "select 1 // 0 as b"):
        with pytest.raises(Exception, match="DIVIDE_BY_ZERO"):
            spark.sql(to_spark(query)).collect()


def test_macros_expand_with_the_precedence_of_a_call() -> None:
    """bin_of(a - b, w) is (a - b) // w, not a - b // w."""
    text = to_spark("select bin_of(10 - 4, 2) as x").upper()
    assert "BIN_OF" not in text
    assert duckdb.sql(text.replace(" DIV ", " // ")).fetchall() == [(3,)]


def test_an_unbound_parameter_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"\$k"):
        to_spark("select suppress(1, $k)")


# --- every step ----------------------------------------------------------------------------


def step_query(step: runner.Step) -> str:
    """A SQL step's query, or the Python step's SOURCE_SQL."""
    if step.sql is not None:
        return step.sql
    return importlib.import_module(f"footfall.pipeline.{step.module}").SOURCE_SQL


def python_step_schema(step: runner.Step) -> pa.Schema:
    return importlib.import_module(f"footfall.pipeline.{step.module}").SCHEMA


@dataclass(frozen=True)
class Relation:
    """A step's output on one engine: its columns and their types."""

    columns: list[str]
    types: list[str]


def _register_empty_inputs(con: duckdb.DuckDBPyConnection, session: SparkSession) -> None:
    for name, schema in INPUTS.items():
        con.register(name, schema.empty_table())
        session.createDataFrame(schema.empty_table()).createOrReplaceTempView(name)


@pytest.fixture(scope="module")
def empty_chains(spark: SparkSession) -> dict[str, tuple[Relation, Relation]]:  # noqa: F811
    """Each step's output relation on DuckDB and on Spark, over empty inputs (for the
    Python step: its SOURCE_SQL; its output is an empty table of its SCHEMA)."""
    con = duckdb_connection()
    _register_empty_inputs(con, spark)
    found = {}
    for step in STEPS:
        sql = step_query(step)
        duck = con.execute(f"select * from ({sql})", _parameters(sql))
        duck_relation = Relation([d[0] for d in duck.description], [str(d[1]) for d in duck.description])
        frame = spark.sql(to_spark(sql, PARAMETERS))
        spark_relation = Relation(frame.columns, [SAME_TYPE.get(t, t) for _, t in frame.dtypes])
        found[step.name] = (duck_relation, spark_relation)
        if step.sql is None:
            empty = python_step_schema(step).empty_table()
            con.register(step.name, empty)
            spark.createDataFrame(empty).createOrReplaceTempView(step.name)
        else:
            con.execute(f"create temp table {step.name} as {sql}", _parameters(sql))
            # an empty table of the step's schema: a view of the query would make Spark
            # analyse the whole chain again in every later step
            spark.createDataFrame([], frame.schema).createOrReplaceTempView(step.name)
    return found


@pytest.mark.parametrize("step", [step.name for step in STEPS])
def test_step_has_duckdbs_columns_on_spark(empty_chains: dict[str, tuple[Relation, Relation]], step: str) -> None:
    duck, on_spark = empty_chains[step]
    assert on_spark.columns == duck.columns


@pytest.mark.parametrize("step", [step.name for step in STEPS])
def test_step_has_duckdbs_types_on_spark(empty_chains: dict[str, tuple[Relation, Relation]], step: str) -> None:
    duck, on_spark = empty_chains[step]
    assert dict(zip(on_spark.columns, on_spark.types, strict=True)) == dict(zip(duck.columns, duck.types, strict=True))


# --- a small store-day through the whole chain ------------------------------------------------


def _small_day() -> list[sb.S]:
    """Sightings of a few phones on one day in Prague: a visitor with running sequence
    numbers, heard by both sensors (copies to fold); a passer-by below the threshold; a
    phone rotating its address scan by scan; one seen twice with a gap between; one at
    night (staff: inside while closed); one with a corrupt level and two frames in one
    microsecond at its first and at its last time."""
    visitor = sb.seen(1, sb.local(10), sb.local(10, 40), every=sb.MINUTE, seq=None)
    for i, s in enumerate(visitor):
        s.seq = 100 + i
    copies = [sb.S(s.ts, 1, rssi=-55, sensor="s2", seq=s.seq) for s in visitor[::3]]
    passerby = sb.seen(2, sb.local(11), sb.local(11, 3), every=sb.MINUTE, rssi=-80)
    rotating = [
        sb.S(sb.local(12, minute), 1000 + minute, randomized=True, seq=10 + minute, layout=7, rssi=-50)
        for minute in range(0, 30, 2)
    ]
    returning = sb.seen(3, sb.local(13), sb.local(13, 20), seq=5) + sb.seen(3, sb.local(15), sb.local(15, 30), seq=6)
    night = sb.seen(4, sb.local(6), sb.local(9, 30), every=5 * sb.MINUTE, seq=9)
    # two frames in one microsecond at either end (seq_first and seq_last tie), the one
    # that is not the tie's answer read first
    corrupt = [
        sb.S(sb.local(14), 5, rssi=-45, seq=3),
        sb.S(sb.local(14), 5, rssi=12, seq=1),
        sb.S(sb.local(14, 10), 5, rssi=-45, seq=0),
        sb.S(sb.local(14, 10), 5, rssi=-40, seq=2),
    ]
    return visitor + copies + passerby + rotating + returning + night + corrupt


def _heartbeats(days: pa.Table) -> pa.Table:
    """A few minutes of heartbeats of each store-day's two sensors, a minute of nothing
    heard among them (a running collector's)."""
    minutes = []
    for day in days.to_pylist():
        start = datetime.fromtimestamp(day["day_start_us"] / 1e6, UTC) + timedelta(hours=10)
        for i, frames in enumerate([40, 0, 7, 2]):
            for sensor in ("s1", "s2"):
                minutes.append(
                    {
                        "minute": start + timedelta(minutes=i),
                        "sensor": sensor,
                        "frames": frames,
                        "probes": frames // 2,
                        "malformed": 0,
                        "drops": None,
                        "channels": "1,6,11",
                        "store": day["store"],
                        "date": day["date"],
                    }
                )
    return pa.Table.from_pylist(minutes, schema=runner.HEARTBEAT_COLUMNS)


@pytest.fixture(scope="module")
def data_chains(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple]]:  # noqa: F811
    """Each step's rows on DuckDB and on Spark for the small day (the Python step's
    SOURCE_SQL compared as a query; its links, made once by DuckDB's run, feed both)."""
    folder = tmp_path_factory.mktemp("small-day")
    (folder / "footfall.toml").write_text(sb.config(k=1))
    data = folder / "data"
    sb.write(data, _small_day())
    settings = load_settings(folder / "footfall.toml")
    days = runner.plan(settings).targets
    con = duckdb_connection()
    runner._register_inputs(con, settings, days, runner._Inputs(DataFolder(data)))
    con.register("heartbeats", _heartbeats(con.sql("select * from store_days").to_arrow_table()))
    for name in INPUTS:
        spark.createDataFrame(con.sql(f"select * from {name}").to_arrow_table()).createOrReplaceTempView(name)
    found: dict[str, tuple] = {}
    for step in STEPS:
        sql = step_query(step)
        duck, on_spark = duckdb_rows(con, sql), spark_rows(spark, to_spark(sql, PARAMETERS))
        found[step.name] = (duck, on_spark)
        # each engine's rows feed its next step, held as a table (a view would run the
        # chain again for every later step); the Python step's links are DuckDB's for both
        if step.sql is None:
            importlib.import_module(f"footfall.pipeline.{step.module}").run(con)
            links = con.sql(f"select * from {step.name}").to_arrow_table()
            spark.createDataFrame(links).createOrReplaceTempView(step.name)
        else:
            con.register(step.name, duck)
            spark.createDataFrame(on_spark).createOrReplaceTempView(step.name)
    yield found


@pytest.mark.parametrize("step", [step.name for step in STEPS])
def test_step_gives_duckdbs_rows_on_spark(data_chains: dict[str, tuple], step: str) -> None:
    duck, on_spark = data_chains[step]
    assert duck.num_rows > 0
    assert_same_rows(duck, on_spark)


def test_the_small_day_has_every_class(data_chains: dict[str, tuple]) -> None:
    """The small day exercises what the comparison is for: every class of visit, staff
    included, and links of rotating addresses."""
    duck, _ = data_chains["visits"]
    assert set(duck.column("class").to_pylist()) == {"visitor", "passerby", "staff"}


def test_ties_of_first_and_last_frame_are_broken_alike(data_chains: dict[str, tuple]) -> None:
    """Of two frames of one microsecond, the lower sequence number is the first and the
    higher the last (02_link_pseudonyms.py keys arg_min/arg_max by time and seq), on
    both engines."""
    for table in data_chains["link_pseudonyms"]:
        tied = [row for row in table.to_pylist() if row["device"] == 5]
        assert [(row["seq_first"], row["seq_last"]) for row in tied] == [(1, 2)]


def test_unordered_drops_only_the_statements_own_order() -> None:
    """The engine asks for a step without its final ORDER BY (it orders what it writes);
    an ORDER BY inside (a window, a subquery) stays."""
    sql = "select n, sum(n) over (order by n) as s from (select n from t order by n limit 2) as x order by n desc"
    text = to_spark(sql, ordered=False).upper()
    assert "DESC" not in text and text.count("ORDER BY") == 2
    assert to_spark(sql).upper().count("ORDER BY") == 3
