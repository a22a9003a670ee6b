"""`footfall run` on a data folder at a URI (footfall/data_folder.py): an S3 bucket
(moto's S3 server on loopback, reached through pyarrow's S3 file system as a real
bucket is) and file:// URIs, which Spark's Hadoop connectors take as they take
s3a://. The oracle is the same run on a folder of this machine's disk: every output
file must be the same, row by row.

What is not tested here: Spark's own S3 connector (hadoop-aws), which is not part of
pyspark and not on PyPI; Spark reads and writes by URI the same way for every scheme,
and that route is tested on file:// URIs."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow.fs as pafs
import pytest
from test_spark_engine import _inputs_of, assert_same_outputs

from footfall import data_folder
from footfall.config import EngineSettings, load_settings
from footfall.data_folder import RemoteFolder
from footfall.errors import FootfallError
from footfall.pipeline import runner
from footfall.pipeline.spark_engine import SparkBatches

from conftest import Collected
from footfall_command import run_footfall
from spark_session import spark  # noqa: F401

BUCKET = "chain-data"
SPARK = EngineSettings(name="spark", spark_master="local[1]")


@pytest.fixture(scope="module")
def s3_server() -> Iterator[dict[str, str]]:
    """An S3 server on loopback, and the environment that points clients at it."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "footfall-tests",
        "AWS_SECRET_ACCESS_KEY": "footfall-tests",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    try:
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


def _s3() -> pafs.S3FileSystem:
    return pafs.S3FileSystem(endpoint_override=os.environ["AWS_ENDPOINT_URL"], scheme="http")


def _upload(collected: Collected, prefix: str, tmp_path: Path) -> Path:
    """The collector's datasets of a workspace copied to s3://BUCKET/prefix; returns the
    local workspace (its configuration, without outputs)."""
    work = _inputs_of(collected, tmp_path / "work")
    for dataset in ("sightings", "heartbeats"):
        pafs.copy_files(str(work / "data" / dataset), f"{BUCKET}/{prefix}/{dataset}", destination_filesystem=_s3())
    shutil.rmtree(work / "data")
    return work


def _download(prefix: str, to: Path) -> Path:
    for dataset in ("visits", "marts"):
        pafs.copy_files(f"{BUCKET}/{prefix}/{dataset}", str(to / dataset), source_filesystem=_s3())
    return to


def _keys(prefix: str) -> list[str]:
    selector = pafs.FileSelector(f"{BUCKET}/{prefix}", recursive=True, allow_not_found=True)
    return sorted(f.path for f in _s3().get_file_info(selector) if f.type == pafs.FileType.File)


def test_the_command_runs_the_demo_on_an_s3_bucket_as_on_disk(
    s3_server: dict[str, str], demo_outputs: Collected, tmp_path: Path
) -> None:
    work = _upload(demo_outputs, "demo", tmp_path)
    uri = f"s3://{BUCKET}/demo"
    done = run_footfall("run", "--data", uri, cwd=work, env=s3_server)
    assert done.returncode == 0, done.output
    assert f"written under: {uri}/marts" in done.stdout
    assert assert_same_outputs(demo_outputs.data, _download("demo", tmp_path / "got")) > 300
    pipeline_files = [k for k in _keys("demo") if "/_pipeline/" in k]
    assert pipeline_files == [f"{BUCKET}/demo/_pipeline/state.json"], "staging removed, the state kept"
    assert not list(data_folder.local_scratch_root().glob(f"_pipeline/tmp-{os.getpid()}*"))

    again = run_footfall("run", "--data", uri, cwd=work, env=s3_server)
    assert again.returncode == 0 and "nothing new: 1 store-day(s) unchanged" in again.output, again.output

    # the analyst's commands read the bucket as they read the folder on disk
    for command in (
        ("sql", "--format", "csv", "--query", "select hour, arrivals, visitors from hourly order by hour"),
        ("sql", "--format", "csv", "--query", "select count(*), sum(dwell_s), count(distinct device_key) from visits"),
        ("export", "visits", "--format", "csv"),
        ("export", "sensor_health", "--format", "json"),
    ):
        remote = run_footfall(*command, "--data", uri, cwd=work, env=s3_server)
        local = run_footfall(*command, cwd=demo_outputs.workspace)
        assert remote.returncode == local.returncode == 0, remote.output + local.output
        assert remote.stdout == local.stdout and len(local.stdout.splitlines()) > 1, command

    # privacy: everything the run left in the bucket, brought home beside the salts, holds
    # no address, SSID or unkeyed hash of the captures (the audit's only findings are the
    # 2024 day's age against this configuration's retention, which is not the bucket's)
    pafs.copy_files(f"{BUCKET}/demo", str(work / "data"), source_filesystem=_s3())
    assert (work / "data" / "_pipeline" / "state.json").is_file() and any((work / "data" / "visits").rglob("*"))
    against = [a for capture in demo_outputs.captures for a in ("--against", capture)]
    audit = run_footfall("privacy", "audit", "--format", "json", *against, cwd=work)
    result = json.loads(audit.stdout)
    assert result["captures_against"] == 2 and result["files_scanned"] >= 13, audit.output
    assert {item["rule"] for item in result["items"]} <= {"retention"}, audit.output


def test_a_changed_input_at_a_uri_is_run_again_and_a_damaged_one_named(
    s3_server: dict[str, str], two_stores_outputs: Collected, tmp_path: Path
) -> None:
    work = _upload(two_stores_outputs, "week", tmp_path)
    settings = load_settings(work / "footfall.toml", f"s3://{BUCKET}/week")
    first = runner.run(settings, runner.plan(settings))
    assert not first.errors and len(first.done) >= 11
    assert assert_same_outputs(two_stores_outputs.data, _download("week", tmp_path / "got")) > 1000
    assert runner.plan(settings).targets == []

    part = next(k for k in _keys("week/sightings/store=north/date=2024-05-14") if k.endswith(".parquet"))
    s3 = _s3()
    with s3.open_input_stream(part) as stream:
        head = stream.read(200)
    with s3.open_output_stream(part) as stream:
        stream.write(head)  # a truncated upload
    work_now = runner.plan(settings)
    changed = sorted(str(day.date) for day in work_now.targets if day.store == "north")
    assert changed == ["2024-05-13", "2024-05-14", "2024-05-15"], "the day and the neighbours that read it"
    report = runner.run(settings, work_now)
    damaged = [e for e in report.errors if "not a readable Parquet file" in e]
    assert len(damaged) == 1 and damaged[0].startswith(f"s3://{part}: not a readable Parquet file"), report.errors
    assert damaged[0].endswith("store 'north', 2024-05-14 not processed")
    assert sorted(str(d.date) for d in report.done) == ["2024-05-13", "2024-05-15"]


def test_a_killed_runs_staging_at_a_uri_is_removed_once_stale(
    s3_server: dict[str, str], demo_outputs: Collected, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = _upload(demo_outputs, "killed", tmp_path)
    folder = RemoteFolder(f"s3://{BUCKET}/killed")
    left = f"{folder.base}/_pipeline/staging-999999-0a1b2c3d/visits/store=demo/date=2024-03-15/part-0.parquet"
    with folder.fs.open_output_stream(left) as stream:
        stream.write(b"pseudonymous rows")
    settings = load_settings(work / "footfall.toml", folder.root_uri)
    runner.run(settings, runner.plan(settings))
    assert left in _keys("killed"), "a fresh staging folder may be a live run's on another machine"
    monkeypatch.setattr(data_folder, "STALE_RUN_SECONDS", 0)
    runner.run(settings, runner.plan(settings))  # nothing to run: the leftovers still go
    assert not [k for k in _keys("killed") if "staging-" in k]


def test_hadoops_names_reach_the_same_objects(s3_server: dict[str, str]) -> None:
    """s3a:// (Hadoop's S3 connector, what Spark is given) is s3:// to pyarrow; the
    engines are handed back the URI as the user wrote it."""
    folder = RemoteFolder(f"s3a://{BUCKET}/names/")
    assert folder.base == f"{BUCKET}/names"
    folder.write_text(folder.join("_pipeline", "state.json"), "{}")
    assert f"{BUCKET}/names/_pipeline/state.json" in _keys("names")
    assert folder.uri(folder.partition("sightings", "s1", "2024-01-02")) == (
        f"s3a://{BUCKET}/names/sightings/store=s1/date=2024-01-02"
    )


def test_spark_runs_on_a_uri_data_folder_as_on_disk(spark, demo_outputs: Collected, tmp_path: Path) -> None:  # noqa: F811
    work = _inputs_of(demo_outputs, tmp_path / "work")
    settings = load_settings(work / "footfall.toml", (work / "data").as_uri())
    assert isinstance(data_folder.of(settings), RemoteFolder)
    report = runner.run(settings, runner.plan(settings), engine=SPARK)
    assert not report.errors
    assert report.outputs and all(out.startswith("/") for out in report.outputs)
    assert assert_same_outputs(demo_outputs.data, work / "data") > 300
    assert sorted(p.name for p in (work / "data" / "_pipeline").iterdir()) == ["state.json"]


def test_spark_without_the_stores_connector_is_one_line(spark, s3_server: dict[str, str], workspace: Path) -> None:  # noqa: F811
    """pyspark carries no S3 connector: s3:// is a store pyarrow reaches and Spark does not."""
    settings = load_settings(None, f"s3://{BUCKET}/connector")
    batches = SparkBatches(settings, SPARK, data_folder.of(settings))
    with pytest.raises(FootfallError) as raised:
        batches.__enter__()
    message = str(raised.value)
    assert message.startswith(f"Spark cannot reach s3://{BUCKET}/connector: ") and "hadoop-aws" in message
    assert 'No FileSystem for scheme "s3"' in message and "\n" not in message and "at org." not in message


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("privacy", "audit"), "`footfall run`, `sql` and `export` work on a data folder at a URI"),
        (("dashboard",), "`footfall run`, `sql` and `export` work on a data folder at a URI"),
        (("run",), f"no data folder at s3://{BUCKET}/nowhere: nothing to run"),
    ],
)
def test_what_cannot_work_at_a_uri_is_one_line(
    s3_server: dict[str, str], workspace: Path, arguments: tuple[str, ...], message: str
) -> None:
    done = run_footfall(*arguments, "--data", f"s3://{BUCKET}/nowhere", cwd=workspace, env=s3_server)
    assert done.returncode == 1 and message in done.stderr, done.output
    assert "Traceback" not in done.output and len(done.stderr.strip().splitlines()) == 1


def test_a_scheme_footfall_cannot_reach_is_one_line(workspace: Path) -> None:
    done = run_footfall("run", "--data", "ftp://files.example/data", cwd=workspace)
    assert done.returncode == 1 and "data_dir ftp://files.example/data:" in done.stderr, done.output
    assert "s3://" in done.stderr and "Traceback" not in done.output
