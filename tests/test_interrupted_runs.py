"""kill -9 and concurrency: a killed `footfall run` leaves nothing behind for good (the
next run, retention and the audit all see to it), the outputs after it equal a clean
run's, and two runs or two collectors at once on one data folder agree."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from capture_files import SAMPLE_CAPTURES
from conftest import Collected
from footfall_command import FOOTFALL, run_footfall

DAY = "2024-03-15"
KILLS = 6  # kill -9 at random moments (make fuzz runs many more)


def _outputs(data: Path) -> dict[str, list[tuple]]:
    """Every published output, as sorted rows (what a reader sees)."""
    found = {}
    for dataset in ("visits", "marts/daily", "marts/hourly", "marts/dwell", "marts/occupancy", "marts/sensor_health"):
        files = sorted(str(f) for f in (data / dataset).rglob("*.parquet"))
        query = "select * from read_parquet($files, hive_partitioning=true)"
        found[dataset] = sorted(duckdb.execute(query, {"files": files}).fetchall(), key=repr)
    return found


def _leftovers(data: Path) -> list[Path]:
    pipeline = data / "_pipeline"
    return sorted(p for p in pipeline.iterdir() if p.name.startswith(("staging-", "tmp-"))) if pipeline.is_dir() else []


@pytest.fixture
def demo_copy(demo_outputs: Collected, tmp_path: Path) -> Path:
    workspace = tmp_path / "demo"
    shutil.copytree(demo_outputs.workspace, workspace)
    return workspace


KILLED_WHILE_PUBLISHING = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from footfall.config import load_settings
    from footfall.pipeline import runner

    def die(*args, **kwargs):  # the first rename into place: staging is full, nothing published yet
        os.kill(os.getpid(), signal.SIGKILL)

    runner.os.replace = die
    settings = load_settings(data_dir=Path(sys.argv[1]))
    runner.run(settings, runner.plan(settings, start=__import__("datetime").date(2024, 3, 15)))
    """
)


def test_a_run_killed_while_publishing_is_cleaned_up_by_the_next(demo_copy: Path) -> None:
    data = demo_copy / "data"
    clean = _outputs(data)
    killed = subprocess.run([sys.executable, "-c", KILLED_WHILE_PUBLISHING, str(data)], cwd=demo_copy, check=False)
    assert killed.returncode == -signal.SIGKILL
    left = _leftovers(data)
    assert {p.name.split("-")[0] for p in left} == {"staging", "tmp"}, left
    assert any((left[0]).rglob("*.parquet")), "pseudonymous visits were left in staging"

    audit = run_footfall("privacy", "audit", "--format", "json", cwd=demo_copy)
    assert audit.returncode == 1 and '"stray-data"' in audit.stdout

    again = run_footfall("run", "--date", DAY, cwd=demo_copy)
    assert again.returncode == 0, again.output
    assert _leftovers(data) == []
    assert _outputs(data) == clean
    assert run_footfall("privacy", "audit", cwd=demo_copy).returncode == 0


def test_kill_9_at_random_moments_never_outlives_the_next_run(demo_copy: Path) -> None:
    data = demo_copy / "data"
    clean = _outputs(data)
    rng = random.Random(16)
    env = {k: v for k, v in os.environ.items() if k != "FOOTFALL_CONFIG"}
    left_behind = 0
    for _ in range(KILLS):
        child = subprocess.Popen(
            [str(FOOTFALL), "run", "--date", DAY],
            cwd=demo_copy,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 3.0))
        child.kill()
        child.wait()
        left_behind += bool(_leftovers(data))
        # a reader between the kill and the next run sees whole outputs, old or new
        assert _outputs(data) == clean
        again = run_footfall("run", "--date", DAY, cwd=demo_copy)
        assert again.returncode == 0, again.output
        assert _leftovers(data) == [] and _outputs(data) == clean
    print(f"{KILLS} kill -9 of footfall run, {left_behind} left staging or spill files, all removed by the next run")


def test_two_runs_at_once_on_one_data_folder_agree(demo_copy: Path) -> None:
    data = demo_copy / "data"
    clean = _outputs(data)
    env = {k: v for k, v in os.environ.items() if k != "FOOTFALL_CONFIG"}
    runs = [
        subprocess.Popen(
            [str(FOOTFALL), "run", "--date", DAY],
            cwd=demo_copy,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=600)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert _leftovers(data) == [] and _outputs(data) == clean


def test_two_collectors_at_once_into_one_store_share_their_salt(tmp_path: Path) -> None:
    """The sensors' first use of the epoch races: both must end up with one salt, so
    their sightings equal those collected one after the other with that salt."""
    together, apart = tmp_path / "together", tmp_path / "apart"
    together.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "FOOTFALL_CONFIG"}
    collectors = [
        subprocess.Popen(
            [
                str(FOOTFALL),
                "collect",
                str(SAMPLE_CAPTURES / f"brno_{sensor}_2024-03-15.pcap.gz"),
                "--store",
                "demo",
                "--sensor",
                sensor,
            ],
            cwd=together,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for sensor in ("position_1", "position_2")
    ]
    outputs = [c.communicate(timeout=600)[0].decode() for c in collectors]
    assert [c.returncode for c in collectors] == [0, 0], outputs
    assert len(list((together / "secrets" / "salts" / "demo").glob("*.salt"))) == 1
    shutil.copytree(together / "secrets", apart / "secrets")
    for sensor in ("position_1", "position_2"):
        capture = SAMPLE_CAPTURES / f"brno_{sensor}_2024-03-15.pcap.gz"
        assert run_footfall("collect", capture, "--store", "demo", "--sensor", sensor, cwd=apart).returncode == 0
    query = "select sensor, ts, device, seq from read_parquet($files) order by all"

    def rows(root: Path) -> list[tuple]:
        files = sorted(str(f) for f in (root / "data" / "sightings").rglob("*.parquet"))
        return duckdb.execute(query, {"files": files}).fetchall()

    assert rows(together) == rows(apart)
    assert run_footfall("run", cwd=together).returncode == 0
