"""A stream sent again after its collector was killed: the trial that tests/test_resend.py
runs a few times and `make fuzz` many times.

One trial: `footfall collect -` reads a real capture through an OS pipe, in cuts of
random sizes, rolling a part every few hundred sightings; at a random moment it gets
SIGKILL (kill -9). Sometimes the sender then sends the same bytes again and that
collector is killed too. Last, the whole capture is sent again to a collector that
runs to the end. The oracle is the file mode: the same capture collected as a file
(with the same salts), each frame once. Sightings must equal it row for row, and the
heartbeat minutes must sum to its counts."""

from __future__ import annotations

import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from footfall_command import Collecting, run_footfall

ARGS = ("--store", "lab", "--sensor", "s1", "--config", "footfall.toml")
CONFIG = 'secrets_dir = "secrets"\n[stores.lab]\ntimezone = "Europe/Prague"\n'


@dataclass(frozen=True)
class Trial:
    seed: int
    kills: int  # collectors killed before the last one ran to its end
    sightings: int  # rows on disk after the trial
    expected: int  # rows of the file mode
    heartbeat_frames: int  # frames summed over the heartbeat minutes
    expected_frames: int
    equal: bool  # sightings row for row and heartbeat minute for minute as the file mode's

    @property
    def extra_rows(self) -> float:
        return self.sightings / self.expected - 1


def sightings(data: Path) -> list[tuple]:
    return duckdb.sql(
        "select epoch_us(ts), sensor, device, randomized, rssi, freq_mhz, seq, directed, ie_hash, epoch, date::varchar "
        f"from read_parquet('{data}/sightings/**/*.parquet', hive_partitioning=true) order by all"
    ).fetchall()


def heartbeat_minutes(data: Path) -> dict[int, tuple[int, int, int]]:
    """frames, probes and malformed per minute that heard a frame, summed as readers sum them."""
    rows = duckdb.sql(
        "select epoch_us(minute) // 60000000, sum(frames), sum(probes), sum(malformed) "
        f"from read_parquet('{data}/heartbeats/**/*.parquet', union_by_name=true) group by all having sum(frames) > 0"
    ).fetchall()
    return {int(m): (int(f), int(p), int(x)) for m, f, p, x in rows}


def reference(workspace: Path, capture: Path) -> Path:
    """The file mode's output (data folder `file`), with the trial's salts."""
    (workspace / "footfall.toml").write_text(CONFIG)
    run = run_footfall("collect", capture, *ARGS, "--data", "file", cwd=workspace)
    assert run.returncode == 0, run.output
    return workspace / "file"


def _killed(workspace: Path, data: bytes, rng: random.Random, roll_rows: int) -> None:
    stream = Collecting(workspace, *ARGS, "--data", "stream", "--roll-rows", str(roll_rows), "--roll-seconds", "3600")
    stream.write(data[: rng.randrange(len(data) // 20, len(data))], seed=rng.randrange(1 << 30))
    time.sleep(rng.uniform(0, 0.4))
    stream.process.kill()
    stream.wait()


def kill_and_resend(workspace: Path, capture: Path, seed: int) -> Trial:
    """One seeded trial in `workspace` (its `file` reference made by reference())."""
    rng = random.Random(seed)
    shutil.rmtree(workspace / "stream", ignore_errors=True)
    data = capture.read_bytes()
    roll_rows = rng.choice([150, 400, 1_000])
    kills = 1 + (rng.random() < 0.35)
    for _ in range(kills):
        _killed(workspace, data, rng, roll_rows)
    last = Collecting(workspace, *ARGS, "--data", "stream", "--roll-rows", str(roll_rows), "--roll-seconds", "3600")
    last.write(data, seed=rng.randrange(1 << 30))
    code, _, err = last.finish()
    assert code == 0, err
    stream, file = workspace / "stream", workspace / "file"
    got, want = sightings(stream), sightings(file)
    got_minutes, want_minutes = heartbeat_minutes(stream), heartbeat_minutes(file)
    return Trial(
        seed,
        kills,
        len(got),
        len(want),
        sum(f for f, _, _ in got_minutes.values()),
        sum(f for f, _, _ in want_minutes.values()),
        got == want and got_minutes == want_minutes,
    )
