#!/usr/bin/env python3
"""Stream-mode soak: days of a busy store piped through `footfall collect -` at full speed.

Takes the collector benchmark's busy store day (bench_collect.py: 1.36 M radiotap
frames, half the phones drawing a new address at every scan, generated once into
bench/.cache) and replays it `--days` times, each copy shifted by one more day, as
one pcap stream into `footfall collect -` through an OS pipe: every local midnight
rotates the salt, so the pseudonym caches fill up and are dropped again, day after
day. While it runs, the collector's resident memory is sampled from /proc; it
prints

  frames/s sustained   all frames / (first byte written -> process exit)
  peak RSS, start/end  the highest resident memory sampled over the first and the last day
  peak RSS             the kernel's high-water mark (VmHWM), over the whole run

and, measured in the same run on the same machine, the file mode on the one-day
capture, with the ratio of the two rates (the figure that means something on a
noisy machine). Flat memory: the end is not above the start by more than noise.
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_collect import FOOTFALL, capture, run_footfall

DAY_S = 86_400
WRITE_BYTES = 1 << 20


def records(path: Path) -> tuple[bytes, bytes, np.ndarray]:
    """The pcap header, the record bytes, and where each record's seconds field is."""
    data = path.read_bytes()
    assert data[:4] == b"\xd4\xc3\xb2\xa1", "the generator writes little-endian microsecond pcap"
    body = data[24:]
    offsets = []
    pos = 0
    unpack = struct.Struct("<I").unpack_from
    while pos < len(body):
        offsets.append(pos)
        pos += 16 + unpack(body, pos + 8)[0]
    return data[:24], body, np.array(offsets, np.int64)


def shifted(body: bytes, offsets: np.ndarray, days: int) -> bytes:
    """The day's records, every timestamp `days` days later."""
    out = np.frombuffer(body, np.uint8).copy()
    where = offsets[:, None] + np.arange(4)
    seconds = out[where].copy().view("<u4").reshape(-1) + np.uint32(days * DAY_S)
    out[where] = seconds.view(np.uint8).reshape(-1, 4)
    return out.tobytes()


def memory_kib(pid: int) -> tuple[int, int] | None:
    """The process's resident memory now and its peak since exec (VmRSS, VmHWM). Not
    wait4's ru_maxrss: that also counts the fork of this (large) process before exec."""
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except (OSError, KeyError, ValueError):
        return None


def soak(path: Path, days: int, frames_per_day: int) -> dict:
    header, body, offsets = records(path)
    day_bytes = len(body)
    with tempfile.TemporaryDirectory() as work:
        process = subprocess.Popen(
            [str(FOOTFALL), "collect", "-", "--store", "bench", "--sensor", "s1"],
            cwd=work,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        written = 0
        samples: list[tuple[int, int, int]] = []  # (bytes written so far, RSS KiB, peak KiB)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.1):
                memory = memory_kib(process.pid)
                if memory is not None:
                    samples.append((written, *memory))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        assert process.stdin is not None
        started = time.perf_counter()
        process.stdin.write(header)
        for day in range(days):
            data = shifted(body, offsets, day) if day else body
            view = memoryview(data)
            for pos in range(0, len(data), WRITE_BYTES):
                process.stdin.write(view[pos : pos + WRITE_BYTES])
                written += len(view[pos : pos + WRITE_BYTES])
        process.stdin.close()
        _, status, _ = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        assert process.stderr is not None
        log = process.stderr.read().decode()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"footfall collect - failed:\n{log}")
        parts = len(list(Path(work, "data", "sightings").rglob("part-*.parquet")))
    first = [rss for at, rss, _ in samples if at <= day_bytes]
    last = [rss for at, rss, _ in samples if at >= (days - 1) * day_bytes]
    return {
        "frames": frames_per_day * days,
        "seconds": elapsed,
        "rss_start": max(first, default=None),
        "rss_end": max(last, default=None),
        "peak": max((peak for _, _, peak in samples), default=None),
        "parts": parts,
        "epochs_closed": log.count("is over"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=5, help="busy days replayed back to back (default 5)")
    args = parser.parse_args()
    path, frames, _ = capture(1_000_000)
    hours = args.days * 24
    print(f"stream: {args.days} busy days back to back ({hours} h, {frames * args.days:,} frames), from {path.name}")
    reference, _ = run_footfall(path)
    result = soak(path, args.days, frames)
    rate = result["frames"] / result["seconds"]
    file_rate = frames / reference
    mib = lambda kib: f"{kib / 1024:,.0f} MiB" if kib is not None else "?"  # noqa: E731
    print(
        f"footfall collect -   {result['seconds']:6.1f} s  {rate:>10,.0f} frames/s sustained   "
        f"peak RSS first day {mib(result['rss_start'])}, last day {mib(result['rss_end'])}, "
        f"whole run {mib(result['peak'])}   "
        f"{result['parts']} sightings parts, {result['epochs_closed']} epochs closed while running"
    )
    print(f"footfall collect FILE (one day, reference)  {reference:6.2f} s  {file_rate:>10,.0f} frames/s")
    print(f"ratio: the stream mode sustains {rate / file_rate:.2f}x the file mode's rate")


if __name__ == "__main__":
    main()
