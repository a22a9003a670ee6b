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


# Runs the command as the only child of a small Python, which then writes that child's
# peak RSS (KiB). A child forked straight from the test process would count the test
# process's own memory: ru_maxrss keeps the high-water mark of the fork across exec.
_MEASURE = (
    "import resource, subprocess, sys; status = subprocess.call(sys.argv[2:]); "
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(status)"
)


def run_measured(*args: str | os.PathLike, cwd: Path, stdin: Path | bytes | None = None) -> tuple[Run, int]:
    """As run_footfall (stdout and stderr together in `stdout`), and the command's own
    peak resident memory in bytes. `stdin`: a file to read it from, or bytes."""
    environment = {k: v for k, v in os.environ.items() if k != "FOOTFALL_CONFIG"}
    peak_file = cwd / f".peak-{os.getpid()}"
    command = [sys.executable, "-c", _MEASURE, str(peak_file), str(FOOTFALL), *map(str, args)]
    with open(stdin if isinstance(stdin, Path) else os.devnull, "rb") as source:
        done = subprocess.run(
            command,
            cwd=cwd,
            input=stdin if isinstance(stdin, bytes) else None,
            stdin=None if isinstance(stdin, bytes) else source,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=environment,
            timeout=600,
            check=False,
        )
    peak = int(peak_file.read_text()) * 1024
    peak_file.unlink()
    return Run(done.returncode, done.stdout.decode(errors="replace"), ""), peak


def read_sightings(data_dir: Path):
    """Every sightings row, with store and date from the Hive path (as analysts read it)."""
    import duckdb

    files = sorted((data_dir / "sightings").rglob("*.parquet"))
    if not files:
        return None
    return duckdb.sql(
        f"select * from read_parquet('{data_dir}/sightings/**/*.parquet', hive_partitioning=true) order by ts, device"
    ).df()
