"""make fuzz: hostile input and faults, counted.

1. The C parser under AddressSanitizer and UndefinedBehaviorSanitizer: the libFuzzer
   target fuzz/probes_fuzzer.c (built by the Makefile) for --seconds, from the seeds of
   fuzz/make_seeds.py (the sample captures, every link type in every container).
2. The command as a user runs it: mutated captures through `footfall collect FILE`
   and `footfall collect -` (plain and gzipped): exit 0 or 1, never a traceback, no
   message printing 4 or 5 bytes of an address of the capture, peak RSS < 300 MiB.
3. Faults: kill -9 of `footfall run` at random moments (the next run leaves nothing
   behind and publishes what a clean run does), two runs and two collectors at once
   on one data folder, and a full disk (a small tmpfs) under collect, run, retention.

Prints one line per part with its counts and exits 1 if anything failed.

    python fuzz/run_fuzz.py --work fuzz/work --seconds 300 --cli-cases 150 --kills 30
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

FOOTFALL = Path(sys.executable).with_name("footfall")
SAMPLES = REPO / "sample_captures"
MEMORY_LIMIT = 300 << 20
Failures = list[str]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "FOOTFALL_CONFIG"}


_largest_peak = 0


def _footfall(args: list, cwd: Path, stdin: bytes | None = None) -> tuple[int, str, int]:
    """Exit status, output and peak RSS (bytes) of one `footfall` command."""
    from footfall_command import run_measured

    global _largest_peak
    run, peak = run_measured(*args, cwd=cwd, stdin=stdin)
    _largest_peak = max(_largest_peak, peak)
    return run.returncode, run.stdout, peak


# --- 1. libFuzzer ---------------------------------------------------------------------------


def run_libfuzzer(work: Path, seconds: int) -> tuple[str, Failures]:
    binary, corpus, seeds = work / "probes_fuzzer", work / "corpus", work / "seeds"
    crashes = work / "crashes"
    for folder in (corpus, crashes):
        folder.mkdir(parents=True, exist_ok=True)
    log = work / "libfuzzer.log"
    command = [
        str(binary),
        str(corpus),
        str(seeds),
        f"-max_total_time={seconds}",
        "-max_len=262144",
        "-rss_limit_mb=2048",
        "-timeout=10",
        "-print_final_stats=1",
        f"-artifact_prefix={crashes}/",
    ]
    env = {**_env(), "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1", "UBSAN_OPTIONS": "print_stacktrace=1"}
    with open(log, "w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    text = log.read_text(errors="replace")
    runs = int(m.group(1)) if (m := re.search(r"stat::number_of_executed_units:\s*(\d+)", text)) else 0
    reports = len(re.findall(r"ERROR: (?:AddressSanitizer|LeakSanitizer)|runtime error:|broken promise", text))
    found = sorted(p.name for p in crashes.iterdir())
    failures = []
    if done.returncode != 0 or found or reports:
        failures.append(f"libFuzzer exit {done.returncode}, {len(found)} crash file(s), see {log}")
    line = (
        f"C parser (ASan+UBSan, libFuzzer, {seconds} s): {runs:,} inputs run, corpus {len(list(corpus.iterdir()))}, "
        f"{len(found)} crash(es), {reports} sanitizer report(s)"
    )
    return line, failures


# --- 2. the command on mutated captures ------------------------------------------------------------


def _bases(work: Path) -> list[tuple[str, bytes]]:
    from capture_builder import Probe, every_link_type

    probes = [
        Probe(1_710_000_000_000_000 + i * 2_000_003, f"{0xDA - 2 * i:02x}:a1:19:e7:5c:{i:02x}", -50, 2437, i, b"")
        for i in range(6)
    ]
    bases = [(name, path.read_bytes()) for name, path in every_link_type(work / "bases", probes).items()]
    for sample in ("brno_position_1_2024-03-15.pcap.gz", "tcpdump_ieee802.11_exthdr.pcap"):
        data = (SAMPLES / sample).read_bytes()
        bases.append((sample, gzip.decompress(data)[: 256 << 10] if sample.endswith(".gz") else data))
    return bases


def _windows(data: bytes) -> set[int]:
    """4- and 5-byte windows, both byte orders, of every address the capture holds."""
    import logging

    logging.getLogger("scapy").setLevel(logging.ERROR)  # truncated captures are the point here
    from footfall.privacy.capture_secrets import read_capture
    from footfall.privacy.leak_patterns import SMALLEST_WINDOW_NUMBER, LeakMatcher

    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"footfall-fuzz-{os.getpid()}.pcap"
    path.write_bytes(data)
    try:
        secrets = read_capture(path)
    except Exception:  # a capture scapy cannot read: nothing to compare with
        return set()
    finally:
        path.unlink(missing_ok=True)
    return {n for n in LeakMatcher(secrets).window_numbers if n >= SMALLEST_WINDOW_NUMBER}


def _mutate(data: bytes, rng: random.Random) -> bytes:
    damaged = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        kind = rng.random()
        position = rng.randrange(len(damaged))
        if kind < 0.5:
            damaged[position] ^= 1 << rng.randrange(8)
        elif kind < 0.8 and position + 4 <= len(damaged):
            value = rng.choice([0x7FFFFFFF, 0xFFFFFFFF, rng.getrandbits(32), rng.getrandbits(16)])
            damaged[position : position + 4] = value.to_bytes(4, "little")
        else:
            del damaged[position : position + rng.randint(1, 64)]
    if rng.random() < 0.3:
        damaged = damaged[: rng.randrange(len(damaged) + 1)]
    return bytes(damaged)


def run_cli(work: Path, cases: int, seed: int) -> tuple[str, Failures]:
    rng = random.Random(seed)
    bases = _bases(work)
    windows = {name: _windows(data) for name, data in bases}
    folder = work / "cli"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    failures: Failures = []
    counts = {"file": 0, "stream": 0, "exit 0": 0, "exit 1": 0}
    started = time.monotonic()
    for case in range(cases):
        name, original = rng.choice(bases)
        data = _mutate(original, rng)
        if rng.random() < 0.3:
            data = gzip.compress(data, compresslevel=1)
            if rng.random() < 0.5:  # damage the compressed bytes too
                data = _mutate(data, rng)
        mode = "stream" if case % 3 == 2 else "file"
        counts[mode] += 1
        capture = folder / f"case-{case}.pcap"
        capture.write_bytes(data)
        args = ["collect", "-" if mode == "stream" else capture, "--store", "fuzz", "--sensor", "s1", "--force"]
        status, output, peak = _footfall(args, folder, stdin=data if mode == "stream" else None)
        counts[f"exit {status}"] = counts.get(f"exit {status}", 0) + 1
        problems = []
        if status not in (0, 1):
            problems.append(f"exit status {status}")
        if "Traceback" in output:
            problems.append("a traceback")
        printed = {int(n) for n in re.findall(r"\b\d{8,13}\b", output.replace(",", ""))}
        if printed & windows[name]:
            problems.append("a message prints 4-5 bytes of an address")
        if peak > MEMORY_LIMIT:
            problems.append(f"peak RSS {peak >> 20} MiB")
        if problems:
            kept = work / "cli-failures" / f"case-{case}-{mode}.pcap"
            kept.parent.mkdir(exist_ok=True)
            shutil.copy(capture, kept)
            failures.append(f"{kept} ({name}, {mode}): {', '.join(problems)}")
        capture.unlink()
    seconds = time.monotonic() - started
    line = (
        f"footfall collect on mutated captures: {cases} cases ({counts['file']} files, {counts['stream']} streams), "
        f"exit 0: {counts['exit 0']}, exit 1: {counts['exit 1']}, {len(failures)} failure(s), "
        f"largest peak RSS {_largest_peak >> 20} MiB, {seconds:.0f} s"
    )
    return line, failures


# --- 3. faults --------------------------------------------------------------------------------------------


def _demo(work: Path) -> Path:
    demo = work / "demo"
    shutil.rmtree(demo, ignore_errors=True)
    demo.mkdir(parents=True)
    for sensor in ("position_1", "position_2"):
        capture = SAMPLES / f"brno_{sensor}_2024-03-15.pcap.gz"
        assert _footfall(["collect", capture, "--store", "demo", "--sensor", sensor], demo)[0] == 0
    assert _footfall(["run"], demo)[0] == 0
    return demo


def _outputs(data: Path) -> dict[str, list]:
    import duckdb

    found = {}
    for dataset in ("visits", "marts/daily", "marts/hourly", "marts/dwell", "marts/occupancy", "marts/sensor_health"):
        files = sorted(str(f) for f in (data / dataset).rglob("*.parquet"))
        rows = duckdb.execute("select * from read_parquet($f, hive_partitioning=true)", {"f": files}).fetchall()
        found[dataset] = sorted(rows, key=repr)
    return found


def _leftovers(data: Path) -> list[Path]:
    pipeline = data / "_pipeline"
    if not pipeline.is_dir():
        return []
    return [p for p in pipeline.iterdir() if p.name.startswith(("staging-", "tmp-"))]


def run_faults(work: Path, kills: int, seed: int) -> tuple[list[str], Failures]:
    from faults import disk_full_run, namespaces_work

    rng = random.Random(seed)
    demo = _demo(work)
    data = demo / "data"
    clean = _outputs(data)
    failures: Failures = []
    lines = []

    killed_with_leftovers = 0
    for trial in range(kills):
        child = subprocess.Popen(
            [str(FOOTFALL), "run", "--date", "2024-03-15"],
            cwd=demo,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.2, 3.5))
        child.send_signal(signal.SIGKILL)
        child.wait()
        killed_with_leftovers += bool(_leftovers(data))
        if _outputs(data) != clean:
            failures.append(f"kill -9 trial {trial}: a reader saw outputs different from a clean run's")
        status, output, _ = _footfall(["run", "--date", "2024-03-15"], demo)
        if status != 0 or _leftovers(data) or _outputs(data) != clean:
            failures.append(f"kill -9 trial {trial}: the next run did not restore the clean state: {output[-300:]}")
    lines.append(
        f"kill -9 of footfall run: {kills} trials, {killed_with_leftovers} left staging or spill files, "
        f"all removed by the next run; outputs equal to a clean run's after each"
    )

    pairs = 5
    for trial in range(pairs):
        runs = [
            subprocess.Popen(
                [str(FOOTFALL), "run", "--date", "2024-03-15"],
                cwd=demo,
                env=_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(2)
        ]
        for run in runs:
            run.communicate(timeout=600)
        if [r.returncode for r in runs] != [0, 0] or _leftovers(data) or _outputs(data) != clean:
            failures.append(f"two runs at once, trial {trial}: not both clean")
    collectors = 3
    for trial in range(collectors):
        folder = work / f"together-{trial}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        children = [
            subprocess.Popen(
                [str(FOOTFALL), "collect", SAMPLES / f"brno_{s}_2024-03-15.pcap.gz", "--store", "demo", "--sensor", s],
                cwd=folder,
                env=_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for s in ("position_1", "position_2")
        ]
        for child in children:
            child.wait()
        salts = list((folder / "secrets" / "salts" / "demo").glob("*.salt"))
        if [c.returncode for c in children] != [0, 0] or len(salts) != 1:
            failures.append(f"two collectors at once, trial {trial}: {len(salts)} salts for one epoch")
    lines.append(f"concurrency: {pairs} pairs of runs at once, {collectors} pairs of collectors into one store")

    disk_cases = disk_errors = 0
    capture = SAMPLES / "brno_position_1_2024-03-15.pcap.gz"
    small = SAMPLES / "tcpdump_ieee802.11_exthdr.pcap"
    for free in (0, 4, 8, 32):
        for command, folder in (
            (["collect", capture, "--store", "demo", "--sensor", "extra", "--force"], data),
            (["run", "--date", "2024-03-15"], data),
            (["retention"], data),
            (["collect", small, "--store", "new", "--sensor", "x"], demo / "secrets"),
        ):
            disk_cases += 1
            run = disk_full_run(folder, free, command, demo)
            disk_errors += run.returncode == 1
            errors = [line for line in run.stderr.splitlines() if line.startswith("footfall: error:")]
            if "Traceback" in run.output or run.returncode not in (0, 1):
                failures.append(f"disk full ({free} KiB free) under {command[0]}: {run.output[-300:]}")
            elif run.returncode == 1 and not any("No space left on device" in e and str(folder) in e for e in errors):
                failures.append(f"disk full ({free} KiB free) under {command[0]}: the error names no file: {errors}")
    how = "tmpfs in a private mount namespace" if namespaces_work() else "in-process ENOSPC (no namespaces here)"
    lines.append(
        f"disk full: {disk_cases} cases ({how}), {disk_errors} ran out of space, each with one line naming the file"
    )
    return lines, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=REPO / "fuzz" / "work")
    parser.add_argument("--seconds", type=int, default=300, help="libFuzzer's time")
    parser.add_argument("--cli-cases", type=int, default=150)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--seed", type=int, default=16)
    options = parser.parse_args()
    work = options.work.resolve()
    lines: list[str] = []
    failures: Failures = []
    if options.seconds > 0:
        line, found = run_libfuzzer(work, options.seconds)
        print(line, flush=True)
        lines.append(line)
        failures += found
    if options.cli_cases > 0:
        line, found = run_cli(work, options.cli_cases, options.seed)
        print(line, flush=True)
        lines.append(line)
        failures += found
    if options.kills >= 0:
        found_lines, found = run_faults(work, options.kills, options.seed)
        for line in found_lines:
            print(line, flush=True)
        lines += found_lines
        failures += found
    (work / "summary.txt").write_text("\n".join([*lines, f"{len(failures)} failure(s)"]) + "\n")
    for failure in failures:
        print(f"FAILED: {failure}")
    print(f"make fuzz: {len(failures)} failure(s); summary in {work / 'summary.txt'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
