"""The pipeline's steps on Apache Spark (`footfall run --engine spark`).

The same steps as on DuckDB, written once: each SQL step is transpiled to Spark SQL
at run time (spark_dialect.py) and becomes a temporary view; the Python step (02)
runs its own `SOURCE_SQL`, then calls its `apply_group` per store and epoch in the
executors (applyInArrow), so the links are made by the same function. The inputs are
the Parquet files the runner listed (the store-days at hand and their neighbours),
the small configuration tables are the runner's own, and every output is written
one file per store-day in a staging folder and renamed over the published file, as
on DuckDB. Spark's scratch space (shuffle and spill files, which hold pseudonyms)
lies in the data folder's `_pipeline/tmp-<tag>` folder and is removed at the end;
event logs stay off unless the configuration turns them on.

Spark runs where `spark_master` says (local[*] by default) or where spark-submit put
it: a session that already exists (spark-submit, a notebook) is used as it is and
left running.
"""

from __future__ import annotations

import importlib
import os
import posixpath
import re
import shutil
import socket
import sys
import warnings
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from footfall import outputs, storage
from footfall.config import EngineSettings, Settings
from footfall.data_folder import DataFolder, RemoteFolder
from footfall.errors import FootfallError
from footfall.pipeline.spark_dialect import to_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from footfall.pipeline.runner import RunReport, _Inputs
    from footfall.store_days import StoreDay

# Settings footfall needs whatever the configuration says: UTC session clock (the steps
# work in UTC microseconds); ANSI mode, so that an integer overflow or a bad cast fails
# the day as on DuckDB rather than turning into NULL; timestamps written as DuckDB
# writes them (INT64 microseconds, UTC).
REQUIRED_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.compression.codec": "zstd",
}
# Defaults the configuration's spark_conf may override: a store-day is small, so a
# few shuffle partitions per core beat Spark's 200; adaptive execution merges more.
DEFAULT_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.adaptive.enabled": "true",
    "spark.eventLog.enabled": "false",
}

# sightings per batch: Spark spills and spreads the work itself, but the driver builds
# each batch's calendar tables (a row per quarter hour and 5-minute bin of each
# store-day), so a year of a large chain still goes in parts
BATCH_ROWS = 200_000_000
LOG_SETTINGS = "spark_log4j2.properties"  # Spark's log: fatal errors only (footfall says what failed)

_ARROW_TO_SPARK = {
    pa.string(): "string",
    pa.bool_(): "boolean",
    pa.int8(): "tinyint",
    pa.int16(): "smallint",
    pa.int32(): "int",
    pa.int64(): "bigint",
    pa.float64(): "double",
    pa.date32(): "date",
    pa.timestamp("us", tz="UTC"): "timestamp",
}

Progress = Callable[[str], None]


def spark_type(arrow: pa.DataType) -> str:
    return _ARROW_TO_SPARK[arrow]


def ddl(schema: pa.Schema) -> str:
    """A Spark DDL schema string of an Arrow schema (names quoted)."""
    return ", ".join(f"`{field.name}` {spark_type(field.type)}" for field in schema)


class SparkBatchError(Exception):
    """A batch failed on Spark; the message is the cause, without Spark's stack traces."""


class SparkBatches:
    """Runs batches of store-days on one Spark session, started for the run (and stopped
    after it) unless one is already running."""

    def __init__(self, settings: Settings, engine: EngineSettings, data: DataFolder) -> None:
        self.settings = settings
        self.engine = engine
        self.data = data
        self.scratch = data.scratch()
        self._own_session = False
        self._session: SparkSession | None = None

    # --- the session ---------------------------------------------------------------------

    def __enter__(self) -> SparkBatches:
        self._session = self._start()
        try:
            self._check_connector()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._own_session and self._session is not None:
            self._session.stop()
        shutil.rmtree(self.scratch, ignore_errors=True)

    @property
    def session(self) -> SparkSession:
        assert self._session is not None, "use SparkBatches as a context manager"
        return self._session

    def _start(self) -> SparkSession:
        # pyspark warns on every conversion that it is not yet tested with pandas 3; the
        # conversions footfall makes (small configuration tables) are checked by its tests
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise FootfallError(
                "--engine spark needs pyspark: pip install 'footfall[spark]' (and a Java 17 runtime)"
            ) from None
        active = SparkSession.getActiveSession()
        if active is not None:  # a notebook, the tests: its own settings stand
            self._apply_sql_conf(active)
            return active
        if os.environ.get("PYSPARK_GATEWAY_PORT"):  # under spark-submit: its master and settings stand
            session = SparkSession.builder.appName("footfall").getOrCreate()
            self._apply_sql_conf(session)
            self._own_session = True
            return session
        if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
            raise FootfallError("--engine spark needs a Java 17 runtime: apt-get install openjdk-17-jre-headless")
        master = self.engine.spark_master
        _check_reachable(master)
        self.scratch.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors run this Python (local mode)
        if master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no guessing of the machine's address
        log_settings = resources.files("footfall.pipeline").joinpath(LOG_SETTINGS)
        builder = SparkSession.builder.master(master).appName("footfall")
        conf = {
            **DEFAULT_CONF,
            **_local_memory(master),
            "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{log_settings}",
            "spark.local.dir": str(self.scratch),
            "spark.sql.warehouse.dir": str(self.scratch / "warehouse"),
            **{
                key: str(value).lower() if isinstance(value, bool) else str(value)
                for key, value in self.engine.spark_conf.items()
            },
            **REQUIRED_CONF,
        }
        for key, value in conf.items():
            builder = builder.config(key, value)
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # the JVM did not start, or the master refused us
            raise FootfallError(f"Spark did not start (master {master}): {_one_line(exc)}") from None
        self._own_session = True
        return session

    def _check_connector(self) -> None:
        """Spark reads and writes a data folder at a URI through its own Hadoop connector
        of the URI's scheme: without one, one line now, rather than every store-day
        failing with the same Java error."""
        if not isinstance(self.data, RemoteFolder):
            return
        from py4j.protocol import Py4JJavaError

        context = self.session.sparkContext
        jvm = context._jvm
        assert jvm is not None
        uri = jvm.java.net.URI(self.data.root_uri)
        try:
            jvm.org.apache.hadoop.fs.FileSystem.get(uri, context._jsc.hadoopConfiguration())
        except Py4JJavaError as exc:
            cause = _one_line(exc.java_exception.toString())  # the exception and its message, no trace
            raise FootfallError(
                f"Spark cannot reach {self.data.root_uri}: {cause} (Spark needs the Hadoop connector of "
                f"{self.data.scheme}:// on the cluster: hadoop-aws for s3a://, the GCS connector for gs://, "
                "hadoop-azure for abfss://; see docs/spark.md)"
            ) from None

    def _apply_sql_conf(self, session: SparkSession) -> None:
        for key, value in REQUIRED_CONF.items():
            session.conf.set(key, value)

    # --- a batch ---------------------------------------------------------------------------

    errors = (SparkBatchError,)  # the batch failed on its data: the runner splits it and retries

    @property
    def rows_per_batch(self) -> int:
        """On one machine (a local[N] master) DuckDB's batch size: the shuffle files of a
        batch fill that machine's disk, about 110 MB per million sightings whatever the
        heap (10.8 M sightings: 1.2 GB of scratch in one batch, 0.3 GB in batches of 2 M,
        for 1.6x the time; docs/performance.md). On a cluster, larger: a batch's planning
        is paid once for many executors, and the shuffle spreads over their disks."""
        from footfall.pipeline import runner

        local = self.session.sparkContext.master.startswith("local")
        return runner.BATCH_ROWS if local else BATCH_ROWS

    def run_batch(
        self,
        batch: list[StoreDay],
        inputs: _Inputs,
        report: RunReport,
        progress: Progress | None,
        label: str,
    ) -> None:
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        from footfall.pipeline import runner

        spark = self.session
        held: list[DataFrame] = []
        try:
            self._register_inputs(batch, inputs)
            for step in runner.steps():
                if progress:
                    progress(f"{label}{step.name}")
                if step.module is not None:
                    frame = self._python_step(step.module)
                else:
                    assert step.sql is not None
                    frame = spark.sql(to_spark(step.sql, runner.parameters(self.settings, step.sql), ordered=False))
                if step.name not in runner.VIEW_STEPS:
                    # computed once, and its plan cut short: later steps read it as data,
                    # not as the chain of every query before it (which Spark would analyse
                    # and, where a relation is read twice, run again)
                    frame = frame.localCheckpoint(eager=True)
                    held.append(frame)
                frame.createOrReplaceTempView(step.name)
            daily = self._collect("mart_daily", outputs.DAILY)
            published = []
            for relation, dataset in runner.OUTPUTS.items():
                if progress:
                    progress(f"{label}writing {dataset.name}")
                published += self._publish(relation, dataset, batch)
        except (PySparkException, Py4JJavaError) as exc:
            raise SparkBatchError(_cause(exc)) from None
        finally:
            for frame in held:
                frame.unpersist()
        report.daily += daily
        report.outputs += published
        report.done += batch

    def _register_inputs(self, batch: list[StoreDay], inputs: _Inputs) -> None:
        from footfall.pipeline import runner

        spark = self.session
        for dataset, columns in (("sightings", runner.SIGHTING_COLUMNS), ("heartbeats", runner.HEARTBEAT_COLUMNS)):
            files = [self.data.uri(file) for file in inputs.files(batch, dataset)]
            if files:
                # an explicit schema: the Hive partitions typed as declared (a store named
                # "1" stays a string), older heartbeats' missing columns read as null
                base = self.data.uri(self.data.join(dataset))
                frame = spark.read.schema(ddl(columns)).option("basePath", base).parquet(*files)
            else:
                frame = spark.createDataFrame([], ddl(columns))
            frame.createOrReplaceTempView(dataset)
        (widths,) = spark.sql(to_spark("select quarter_us() as quarter_us, occupancy_bin_us() as bin_us")).collect()
        for name, table in runner.configuration_tables(self.settings, batch, widths[0], widths[1]).items():
            self._table(table).createOrReplaceTempView(name)

    def _table(self, table: pa.Table) -> DataFrame:
        """A small Arrow table as a Spark DataFrame, with its own types."""
        spark = self.session
        if table.num_rows == 0:
            return spark.createDataFrame([], ddl(table.schema))
        return spark.createDataFrame(table, ddl(table.schema))

    def _python_step(self, module_name: str) -> DataFrame:
        step = importlib.import_module(f"footfall.pipeline.{module_name}")
        source = self.session.sql(to_spark(step.SOURCE_SQL, ordered=False))
        links = source.groupBy(*step.GROUP_BY).applyInArrow(_in_source_order(step), ddl(step.SCHEMA))
        return links.filter(step.KEEP_SQL)

    def _collect(self, relation: str, dataset: outputs.Dataset) -> list[dict[str, Any]]:
        frame = self.session.sql(f"select * from {relation} order by store, date")
        table = frame.toArrow()
        declared = dataset.schema(partitions=True)
        return table.cast(pa.schema([declared.field(name) for name in table.column_names])).to_pylist()

    # --- outputs -----------------------------------------------------------------------------

    def _publish(self, relation: str, dataset: outputs.Dataset, batch: list[StoreDay]) -> list[str]:
        """Writes the relation one file per store-day into a staging folder (each file's rows
        in the dataset's order), then renames each over the published file; a store-day at
        hand with no rows loses its old file, as on DuckDB."""
        from pyspark.sql import functions as F

        data = self.data
        root = data.staging()
        frame = self.session.table(relation)
        schema = dataset.schema()
        typed = frame.select(*(_optional(f.name, f.type) for f in schema), "store", "date")
        order = [F.col("store"), F.col("date"), *(_sort_key(dataset, name) for name in dataset.key)]
        try:
            (
                typed.repartition(max(1, len(batch)), "store", "date")
                .sortWithinPartitions(*order)
                .write.mode("overwrite")
                .partitionBy("store", "date")
                .parquet(data.uri(posixpath.join(root, dataset.name)))
            )
            published = []
            for day in batch:
                folder = storage.partition_folder(root, dataset.name, day.store, day.date)
                written = [f for f in data.files(folder, ".parquet") if posixpath.basename(f).startswith("part-")]
                if len(written) > 1:
                    raise FootfallError(f"{dataset.name}: Spark wrote {len(written)} files for one partition")
                target = data.partition(dataset.name, day.store, day.date)
                final = data.publish(written[0] if written else None, target)
                published += [final] if final else []
            return published
        finally:
            data.remove_tree(root)


def _optional(name: str, arrow: pa.DataType):
    """The column cast to its declared type and marked optional, as DuckDB writes every
    column (Spark marks a column required when it proves it never null; a condition
    it cannot fold away, always true, keeps the column optional)."""
    from pyspark.sql import functions as F

    return F.when(F.spark_partition_id() >= 0, F.col(name).cast(spark_type(arrow))).alias(name)


def _sort_key(dataset: outputs.Dataset, name: str):
    """A key column as it orders rows: an enumerated column by the order of its values."""
    from pyspark.sql import functions as F

    values = dataset.column(name).values
    if not values:
        return F.col(name)
    return F.array_position(F.array(*(F.lit(v) for v in values)), F.col(name))


def _in_source_order(step: Any) -> Callable[[pa.Table], pa.Table]:
    """The step's function on one group, its rows first put in the order of SOURCE_SQL
    (Spark hands a group's rows over in no particular order; the function's ties are
    broken by row order, so the same order gives the same links as on DuckDB)."""
    order = [(name, "ascending") for name in step.SOURCE_ORDER]
    apply_group = step.apply_group

    def apply(rows: pa.Table) -> pa.Table:
        return apply_group(rows.sort_by(order))

    return apply


def _local_memory(master: str) -> dict[str, str]:
    """On local[N] the driver's JVM is also the executors: it gets the memory budget
    DuckDB gets (Spark's default heap of 1 GiB made a 10.8 M-sighting run 14 % slower,
    docs/performance.md). On a cluster, the cluster's settings stand."""
    from footfall.pipeline import runner

    return {"spark.driver.memory": f"{runner.memory_budget_mib()}m"} if master.startswith("local") else {}


def _check_reachable(master: str) -> None:
    """A standalone master (spark://host:port) that does not answer: one clear line at
    once, rather than Spark's retries for a minute and a stack trace."""
    if not master.startswith("spark://"):
        return
    for address in master.removeprefix("spark://").split(","):
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=5):
                return
        except (OSError, ValueError):
            continue
    raise FootfallError(f"the Spark master {master} cannot be reached (is it running, and is the address right?)")


def _cause(exc: BaseException) -> str:
    """Spark's message cut to its cause: without the JVM's stack trace, and of an
    exception raised in a Python worker, its last line (`ValueError: ...`)."""
    text = str(exc).split("JVM stacktrace:", 1)[0]
    if "Traceback (most recent call last)" in text:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        raised = [line for line in lines if re.match(r"^[A-Za-z_.]+(Error|Exception)\b", line)]
        text = "a Python worker failed: " + (raised[-1] if raised else lines[-1])
    return _one_line(text)


def _one_line(exc: BaseException | str) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 400 else text[:399] + "…"
