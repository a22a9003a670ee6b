"""Running the installed `footfall` command exactly as a user does, and reading what
it wrote as an analyst does."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

FOOTFALL = Path(sys.executable).with_name("footfall")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_footfall(*args: str | os.PathLike, cwd: Path, stdin: bytes | None = None, env: dict | None = None) -> Run:
    """The installed `footfall` console script, in its own process, as a user runs it."""
    environment = {k: v for k, v in os.environ.items() if k != "FOOTFALL_CONFIG"}
    environment.update(env or {})
    done = subprocess.run(
        [str(FOOTFALL), *map(str, args)], cwd=cwd, input=stdin, capture_output=True, env=environment, timeout=600
    )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


def read_sightings(data_dir: Path):
    """Every sightings row, with store and date from the Hive path (as analysts read it)."""
    import duckdb

    files = sorted((data_dir / "sightings").rglob("*.parquet"))
    if not files:
        return None
    return duckdb.sql(
        f"select * from read_parquet('{data_dir}/sightings/**/*.parquet', hive_partitioning=true) order by ts, device"
    ).df()
