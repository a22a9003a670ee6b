#!/usr/bin/env python3
"""Collector benchmark: `footfall collect` end to end against tshark, on the same file, in one run.

Generates (once, cached) a radiotap capture of a busy store day with at least 1 M
frames: about 20 % beacons, thousands of people, half of their phones rotating their
address at every scan (which is what makes hashing, not parsing, the hard part). It
then times, on this machine and in this run:

  footfall   `footfall collect FILE` as a user runs it: process start, imports,
             parse, pseudonymise, Parquet written (fresh data and secrets folders)
  tshark     tshark -r FILE -Y 'wlan.fc.type_subtype==4' -T fields -e frame.time_epoch
             -e wlan.sa -e radiotap.dbm_antsignal -e wlan.seq

and prints frames per second for both, their ratio (the figure that means something
on a noisy machine), and footfall's peak resident memory. Each is run `--repeat`
times and the best run is kept.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "sample_captures"))

from synthetic_store import StoreSpec, generate  # noqa: E402

FOOTFALL = Path(sys.executable).with_name("footfall")
CACHE = REPO / "bench" / ".cache"
TSHARK_FIELDS = ["-e", "frame.time_epoch", "-e", "wlan.sa", "-e", "radiotap.dbm_antsignal", "-e", "wlan.seq"]

BUSY_DAY = StoreSpec(
    store="bench",
    visitors=6000,
    passersby=12000,
    staff=20,
    fixed_devices=10,
    randomized_share=0.5,
    directed_share=0.2,
    burst_every_min_s=15,
    burst_every_max_s=45,
    beacons_per_probe=0.25,
)


def capture(min_frames: int) -> tuple[Path, int, int]:
    """The benchmark capture (generated once per size), its frame and probe counts."""
    scale = max(1.0, min_frames / 1_000_000)
    spec = StoreSpec(
        **{
            **BUSY_DAY.__dict__,
            "visitors": int(BUSY_DAY.visitors * scale),
            "passersby": int(BUSY_DAY.passersby * scale),
        }
    )
    folder = CACHE / f"busy-day-x{scale:g}"
    path = folder / "s1.pcap"
    if not path.exists():
        print(f"generating the benchmark capture in {folder} ...", flush=True)
        generate(folder, spec, seed=2024)
    frames, probes = count_frames(path)
    return path, frames, probes


def count_frames(path: Path) -> tuple[int, int]:
    """Frames and probe requests, counted in a child process: this process stays small,
    so the RSS of the collector it forks is the collector's own."""
    script = (
        "import sys, mmap; from footfall.collector.probe_parser import ProbeParser\n"
        "f = open(sys.argv[1], 'rb'); m = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))\n"
        "p = ProbeParser(); pos = 0\n"
        "while True:\n"
        "    r = p.parse(m[pos:], max_rows=1 << 20); pos += r.consumed\n"
        "    if r.status != 1: break\n"
        "c = p.counters(); print(c['frames'], c['probes'])\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True)
    frames, probes = out.stdout.split()
    return int(frames), int(probes)


def run_footfall(path: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one `footfall collect` in a fresh folder."""
    with tempfile.TemporaryDirectory() as work:
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(FOOTFALL), "collect", str(path), "--store", "bench", "--sensor", "s1"],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"footfall collect failed: {process.stderr.read().decode()}")
        return elapsed, usage.ru_maxrss


def run_tshark(path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["tshark", "-r", str(path), "-Y", "wlan.fc.type_subtype==4", "-T", "fields", *TSHARK_FIELDS],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=1_000_000, help="at least this many frames (default 1 M)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-tshark", action="store_true", help="footfall only (for the memory check on big files)")
    args = parser.parse_args()
    if not args.skip_tshark and not shutil.which("tshark"):
        raise SystemExit("tshark is not installed: `make system-deps` (or apt-get install tshark)")

    path, frames, probes = capture(args.frames)
    size_mb = path.stat().st_size / 1e6
    print(
        f"capture: {path.relative_to(REPO)}: {frames:,} frames ({probes:,} probe requests, "
        f"{frames - probes:,} other), {size_mb:,.0f} MB"
    )
    ours = [run_footfall(path) for _ in range(args.repeat)]
    best, rss = min(t for t, _ in ours), max(r for _, r in ours)
    print(f"footfall collect  {best:6.2f} s  {frames / best:>12,.0f} frames/s   peak RSS {rss / 1024:,.0f} MiB")
    if args.skip_tshark:
        return
    theirs = min(run_tshark(path) for _ in range(max(1, args.repeat - 1)))
    print(f"tshark -T fields  {theirs:6.2f} s  {frames / theirs:>12,.0f} frames/s")
    ratio = theirs / best
    print(f"ratio: footfall is {ratio:.1f}x tshark end to end (target >= 25x)")


if __name__ == "__main__":
    main()
