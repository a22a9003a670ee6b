"""The one Spark session of a test run (a session takes ~10 s to start): local, one
core, with the settings the pipeline's Spark engine requires (UTC, ANSI mode). Test modules load it with
`from spark_session import spark  # noqa: F401`."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from footfall.pipeline.spark_engine import REQUIRED_CONF

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# The settings the pipeline's Spark engine runs with, that results depend on.
PIPELINE_CONF = REQUIRED_CONF

# Settings of the tests only: small and quiet.
TEST_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.eventLog.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "1",
}


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """A local Spark session with one core, its scratch files under pytest's tmp folder."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers import footfall, as the engine sets it
    local_dir = tmp_path_factory.mktemp("spark-local")
    builder = SparkSession.builder.master("local[1]").appName("footfall-tests")
    conf = {
        **PIPELINE_CONF,
        **TEST_CONF,
        "spark.local.dir": str(local_dir),
        "spark.sql.warehouse.dir": str(local_dir / "warehouse"),  # not ./spark-warehouse
    }
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("FATAL")  # a failing query raises; its log is noise
    try:
        yield session
    finally:
        session.stop()
