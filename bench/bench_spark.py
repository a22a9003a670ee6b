#!/usr/bin/env python3
"""Engine benchmark: `footfall run` on DuckDB against `footfall run --engine spark` on local[2].

On the cached sightings of bench_pipeline (generated once with its generator if missing),
runs in this run, one after the other, each in its own process and data folder:

  duckdb   `footfall run --from D1 --to Dn` (the default engine)
  spark    `footfall run --engine spark --spark-master 'local[2]' --from D1 --to Dn`

and prints each one's wall time, CPU time of its process tree and peak memory, the
ratio Spark/DuckDB (the machine is shared and noisy: the ratio is the figure), and
whether both daily marts give the same visitors per store-day.

Memory: DuckDB's is its process's peak RSS (the kernel's high-water mark). Spark's is
spread over the Python driver, the JVM (in local mode the driver JVM also hosts the
executors) and the Python workers, so the process tree's RSS is sampled every 0.5 s
from /proc and the peak of the sum is reported, with the JVM's own peak beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_pipeline  # its generator and cache are shared, not copied

SAMPLE_SECONDS = 0.5
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Measure:
    """What one run cost; `failure` is set when it did not finish or exited non-zero."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_kib: int = 0  # of the process tree's summed RSS (sampled), or the kernel's high-water mark
    jvm_peak_kib: int = 0
    failure: str | None = None
    cpu_by_pid: dict[int, float] = field(default_factory=dict)


def _stat(pid: int) -> tuple[int, str, float] | None:
    """(parent pid, command name, CPU seconds so far) of a process, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name is in parentheses and may hold spaces: split after the last ')'
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return int(fields[1]), name, (utime + stime) / CLOCK_TICKS


def _rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB; (0, 0) once it is gone (a kernel thread has neither)."""
    values = {"VmRSS:": 0, "VmHWM:": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(maxsplit=1)[0] if line else ""
            if key in values:
                values[key] = int(line.split()[1])
    except OSError:
        pass
    return values["VmRSS:"], values["VmHWM:"]


def process_tree(root: int) -> dict[int, tuple[str, float]]:
    """The root and every descendant, walked through the parent pids of /proc/*/stat
    (no psutil: the bench needs nothing the venv does not already have)."""
    children: dict[int, list[int]] = {}
    seen: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is None:
            continue
        parent, name, cpu = stat
        children.setdefault(parent, []).append(int(entry.name))
        seen[int(entry.name)] = (name, cpu)
    tree: dict[int, tuple[str, float]] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in seen:
            tree[pid] = seen[pid]
            todo.extend(children.get(pid, []))
    return tree


def _sample(root: int, measure: Measure) -> None:
    """One look at the tree: the sum of its RSS, the JVM's, and each process's CPU so far."""
    total = 0
    for pid, (name, cpu) in process_tree(root).items():
        rss, hwm = _rss_kib(pid)
        total += rss
        if name == "java":
            measure.jvm_peak_kib = max(measure.jvm_peak_kib, rss, hwm)
        measure.cpu_by_pid[pid] = max(measure.cpu_by_pid.get(pid, 0.0), cpu)
    measure.peak_kib = max(measure.peak_kib, total)


def _kill_tree(root: int) -> None:
    """The run's process group (the JVM and the workers are in it), then any descendant
    that left it."""
    for pid in process_tree(root):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.killpg(root, signal.SIGKILL)


def _kill_group(leader: int) -> None:
    """What is left of a finished run's process group (its leader is reaped, so its pid
    may be reused: the tree is not walked again)."""
    with contextlib.suppress(OSError):
        os.killpg(leader, signal.SIGKILL)


def run_sampled(command: list[str], cwd: Path, timeout: float) -> Measure:
    """Run a command in its own session, sampling its tree until it exits or the timeout
    passes; CPU is the larger of the kernel's figure for the child and its waited-for
    descendants, and the sum of the last sampled CPU of every process seen."""
    measure = Measure()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err, start_new_session=True)
        status = None
        while status is None:
            _sample(process.pid, measure)
            if time.perf_counter() - started > timeout:
                _kill_tree(process.pid)
                os.wait4(process.pid, 0)
                measure.seconds = time.perf_counter() - started
                measure.failure = f"did not finish in {timeout:.0f} s"
                return measure
            time.sleep(SAMPLE_SECONDS)
            pid, status_code, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                status = status_code
        measure.seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        _kill_group(process.pid)  # a worker or JVM left behind would skew the next run
        measure.cpu_seconds = max(usage.ru_utime + usage.ru_stime, sum(measure.cpu_by_pid.values()))
        measure.peak_kib = max(measure.peak_kib, usage.ru_maxrss)
        if process.returncode != 0:
            err.seek(0)
            lines = [line for line in err.read().decode(errors="replace").splitlines() if line.strip()]
            measure.failure = f"exit {process.returncode}: {lines[-1] if lines else '(no message)'}"
    return measure


def daily_visitors(data: Path) -> dict[tuple[str, str], int | None]:
    """Visitors per store-day of the daily mart (None where suppressed)."""
    table = pq.ParquetDataset(data / "marts" / "daily").read(columns=["store", "date", "visitors"])
    return {
        (str(row["store"]), str(row["date"])): row["visitors"]
        for row in table.to_pylist()  # a few thousand rows at most
    }


def dataset(rows: int) -> Path:
    """bench_pipeline's cached sightings of this size, generated with its generator if missing."""
    root = bench_pipeline.CACHE / f"pipeline-{rows // 1_000_000}M"
    if not (root / "sightings").is_dir():
        print(f"generating {rows:,} sightings in {root.relative_to(bench_pipeline.REPO)} ...", flush=True)
        bench_pipeline.generate(root, rows)
    return root


def _line(label: str, rows: int, measure: Measure, spark: bool) -> str:
    if measure.failure:
        return f"{label:<7} {measure.failure} (after {measure.seconds:.0f} s)"
    jvm = f"  (JVM alone {measure.jvm_peak_kib / 1024:,.0f} MiB)" if spark else ""
    return (
        f"{label:<7} {measure.seconds:7.1f} s  CPU {measure.cpu_seconds:7.1f} s  "
        f"{rows / measure.seconds:>10,.0f} sightings/s  peak RSS {measure.peak_kib / 1024:,.0f} MiB{jvm}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds before a run is killed")
    args = parser.parse_args()

    root = dataset(args.rows)
    files = list((root / "sightings").rglob("*.parquet"))
    rows = sum(pq.read_metadata(f).num_rows for f in files)
    stores = len(list((root / "sightings").glob("store=*")))
    size_mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"sightings: {rows:,} rows, {stores} stores x {bench_pipeline.DAYS} days, {size_mb:,.0f} MB", flush=True)

    first = bench_pipeline.FIRST_DAY
    last = first + timedelta(days=bench_pipeline.DAYS - 1)
    footfall = str(bench_pipeline.FOOTFALL)
    engines = {
        "duckdb": [],
        "spark": ["--engine", "spark", "--spark-master", "local[2]"],
    }
    with tempfile.TemporaryDirectory() as work:
        measures: dict[str, Measure] = {}
        for name, flags in engines.items():
            data = Path(work) / f"data-{name}"
            data.mkdir()
            (data / "sightings").symlink_to(root / "sightings")  # read only: both see the same files
            command = [footfall, "run", "--data", str(data), *flags, "--from", str(first), "--to", str(last)]
            measures[name] = run_sampled(command, Path(work), args.timeout)
            print(_line(name, rows, measures[name], spark=name == "spark"), flush=True)
        duck, spark = measures["duckdb"], measures["spark"]
        if duck.failure or spark.failure:
            print("ratio: not measured (a run did not complete)")
            print("outputs equal: no (a run did not complete)")
            return
        print(
            f"ratio Spark/DuckDB: time {spark.seconds / duck.seconds:.1f}x, CPU "
            f"{spark.cpu_seconds / duck.cpu_seconds:.1f}x, peak memory {spark.peak_kib / duck.peak_kib:.1f}x"
        )
        left, right = daily_visitors(Path(work) / "data-duckdb"), daily_visitors(Path(work) / "data-spark")
        differ = sorted(key for key in left.keys() | right.keys() if left.get(key, -1) != right.get(key, -1))
        detail = f"{len(left):,} store-days on DuckDB, {len(right):,} on Spark"
        if differ:
            detail += f"; {len(differ)} differ, e.g. {differ[:3]}"
        print(f"outputs equal: {'no' if differ else 'yes'} ({detail})")


if __name__ == "__main__":
    main()
