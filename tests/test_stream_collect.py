"""`footfall collect -` as a sensor runs it: a pcap stream through a real OS pipe, rolling
parts, heartbeats with quiet minutes, and stops by SIGTERM / SIGINT / kill -9.

The oracle is the file mode (itself checked against tshark in test_collect_cli.py):
the same capture collected as a file, with the same salts, must give the same
sightings, whatever the stream's cuts and rolls."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_privacy_invariant import _macs_and_ssids, assert_nothing_leaks

from capture_files import SHARED_CAPTURES
from footfall_command import FOOTFALL, Collecting, run_footfall
from synthetic_store import StoreSpec, generate

BRNO = SHARED_CAPTURES / "brno" / "position_1_2022-10-25.pcap"
PCAPNG = SHARED_CAPTURES / "formats" / "iot_indoor_location_irt_test.pcapng"
STORE = ("--store", "lab", "--sensor", "s1")


def sightings(data: Path) -> list[tuple]:
    """Every contract column and the partition, sorted: part names and row order do not matter."""
    return duckdb.sql(
        "select epoch_us(ts), sensor, device, randomized, rssi, freq_mhz, seq, directed, ie_hash, epoch, "
        f"store, date::varchar from read_parquet('{data}/sightings/**/*.parquet', hive_partitioning=true) "
        "order by all"
    ).fetchall()


def heartbeats(data: Path) -> dict[int, tuple[int, int, int]]:
    """frames, probes, malformed per minute, summed over rows (as the pipeline reads them)."""
    rows = duckdb.sql(
        "select epoch_us(minute) // 60000000, sum(frames), sum(probes), sum(malformed) "
        f"from read_parquet('{data}/heartbeats/**/*.parquet', union_by_name=true) group by all"
    ).fetchall()
    return {int(m): (int(f), int(p), int(x)) for m, f, p, x in rows}


def visible_parts(data: Path) -> list[Path]:
    return sorted(p for p in data.rglob("*.parquet") if not p.name.startswith("."))


def pcap_records(path: Path) -> tuple[bytes, list[bytes]]:
    """A little-endian microsecond pcap: its header and its records."""
    data = path.read_bytes()
    assert data[:4] == b"\xd4\xc3\xb2\xa1"
    records, pos = [], 24
    while pos < len(data):
        length = struct.unpack_from("<I", data, pos + 8)[0]
        records.append(data[pos : pos + 16 + length])
        pos += 16 + length
    return data[:24], records


@pytest.fixture(scope="module")
def synthetic_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated store day (local midnight to midnight, Prague), beacons around the
    probes, quiet stretches at night: replayed through the pipe in a few seconds."""
    folder = tmp_path_factory.mktemp("synthetic")
    spec = StoreSpec(visitors=120, passersby=200, staff=2, fixed_devices=1, randomized_share=0.5, beacons_per_probe=0.3)
    generate(folder, spec, seed=3)
    return folder


@pytest.mark.parametrize("capture", ["brno", "pcapng", "synthetic"])
def test_a_stream_through_a_pipe_gives_the_sightings_of_the_file_mode(
    workspace: Path, synthetic_day: Path, capture: str
) -> None:
    path = {"brno": BRNO, "pcapng": PCAPNG, "synthetic": synthetic_day / "s1.pcap"}[capture]
    config = ("--config", synthetic_day / "footfall.toml", "--store", "synthetic") if capture == "synthetic" else ()
    args = (*config, *STORE) if not config else (*config, "--sensor", "s1")
    assert run_footfall("collect", path, *args, "--data", "file", cwd=workspace).returncode == 0

    stream = Collecting(workspace, *args, "--data", "stream", "--roll-rows", "1000")
    stream.write(path.read_bytes())
    code, out, err = stream.finish()
    assert code == 0, err
    assert "Traceback" not in err

    expected = sightings(workspace / "file")
    assert len(expected) > 0
    assert sightings(workspace / "stream") == expected
    sizes = [pq.read_metadata(part).num_rows for part in visible_parts(workspace / "stream" / "sightings")]
    assert all(0 < size <= 1000 for size in sizes), "rolling parts of at most --roll-rows, each whole"
    assert len(sizes) >= -(-len(expected) // 1000)
    assert f"probe requests kept {len(expected):,}" in " ".join(out.split())

    # the heartbeat: the file mode's minutes exactly, and zeros for every quiet minute between
    by_file, by_stream = heartbeats(workspace / "file"), heartbeats(workspace / "stream")
    assert {m: c for m, c in by_stream.items() if c != (0, 0, 0)} == by_file
    assert set(by_stream) == set(range(min(by_file), max(by_file) + 1))
    macs, ssids = _macs_and_ssids(path)
    assert_nothing_leaks(workspace / "stream", out + err, macs, ssids, path)
    if capture == "synthetic":
        assert ssids, "directed probes: SSIDs that must not leak"
        quiet = set(by_stream) - set(by_file)
        assert len(quiet) > 30, "the night has quiet minutes, written as zeros"
        assert sum(frames for frames, _, _ in by_file.values()) > sum(probes for _, probes, _ in by_file.values())


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_stream_keeps_everything_received_and_exits_0(
    workspace: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    header, records = pcap_records(BRNO)
    received = header + b"".join(records[: len(records) * 3 // 5])
    prefix = tmp_path / "received.pcap"
    prefix.write_bytes(received)
    assert run_footfall("collect", prefix, *STORE, "--data", "file", cwd=workspace).returncode == 0

    stream = Collecting(workspace, *STORE, "--data", "stream", "--roll-rows", "2000")
    stream.write(received)  # the sender stays connected: the stream is not over
    stream.process.send_signal(stop)
    code, out, err = stream.wait()
    assert code == 0, err
    assert "Traceback" not in err
    assert f"stopped by {stop.name}" in out

    assert sightings(workspace / "stream") == sightings(workspace / "file")
    for part in visible_parts(workspace / "stream"):
        pq.read_table(part)  # every file readable
    assert not list((workspace / "stream").rglob("*.tmp"))
    assert stream.process.stdin is not None
    stream.process.stdin.close()


def test_kill_9_loses_at_most_the_open_part_and_leaves_no_half_file(workspace: Path) -> None:
    header, records = pcap_records(BRNO)
    roll = 1_500
    stream = Collecting(workspace, *STORE, "--data", "stream", "--roll-rows", str(roll), "--roll-seconds", "3600")
    stream.write(header + b"".join(records[:10_000]))  # every record is a probe request
    deadline = time.monotonic() + 60
    while len(visible_parts(workspace / "stream" / "sightings")) < 10_000 // roll and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the last 1,000 frames wait in the open part
    stream.process.kill()
    stream.wait()
    assert stream.process.returncode == -signal.SIGKILL

    parts = visible_parts(workspace / "stream")
    assert parts, "parts were published before the kill"
    kept = 0
    for part in parts:
        table = pq.read_table(part)  # never a half file
        kept += table.num_rows if "sightings" in part.parts else 0
    # what is on disk is exactly the stream's first frames: only the open part was lost
    assert run_footfall("collect", BRNO, *STORE, "--data", "file", cwd=workspace).returncode == 0
    ordered = duckdb.sql(
        f"select epoch_us(ts), seq, device from read_parquet('{workspace}/file/sightings/**/*.parquet')"
    ).fetchall()
    stream_order = sorted(ordered, key=lambda row: row[0])  # the Brno capture is in time order
    on_disk = duckdb.sql(
        f"select epoch_us(ts), seq, device from read_parquet('{workspace}/stream/sightings/**/*.parquet')"
    ).fetchall()
    assert sorted(on_disk) == sorted(stream_order[:kept])
    assert kept == 10_000 // roll * roll, "only the open part (< --roll-rows) was lost"

    # the next run starts cleanly and removes what the killed one left behind
    dead = workspace / "stream" / "sightings" / "store=lab" / "date=2022-10-25"
    planted = dead / f".part-{stream.process.pid}-0123456789ab.parquet.tmp"
    planted.write_bytes(b"PAR1 half a file")
    again = Collecting(workspace, *STORE, "--data", "stream")
    again.write(header + b"".join(records[10_000:]))
    code, _, err = again.finish()
    assert code == 0, err
    assert not planted.exists()
    assert not list((workspace / "stream").rglob("*.tmp"))


def test_a_stream_sent_twice_is_counted_once(workspace: Path) -> None:
    """A whole stream is a capture: already collected (as a file here), its parts are withdrawn."""
    assert run_footfall("collect", PCAPNG, *STORE, cwd=workspace).returncode == 0
    first = sightings(workspace / "data")
    again = Collecting(workspace, *STORE, "--roll-rows", "5")
    again.write(PCAPNG.read_bytes())
    code, out, _ = again.finish()
    assert code == 0
    assert "duplicate" in out and "withdrawn" in " ".join(out.split())
    assert sightings(workspace / "data") == first


def test_stream_flags_are_checked(workspace: Path) -> None:
    for args, message in [
        (("collect", "-", "--roll-rows", "0"), "--roll-rows"),
        (("collect", "-", "--channel", "6"), "--channel: only with --live"),
        (("collect", "--live", "wlan0", "--channel", "6", "--hop", "1,6"), "--hop"),
        (("collect", "--live", "wlan0", "--hop", "1,600"), "not a Wi-Fi channel"),
        (("collect", "-", PCAPNG), "on its own"),
        (("collect",), "--live IFACE"),
    ]:
        run = run_footfall(*args, *STORE, cwd=workspace, stdin=b"")
        assert run.returncode == 1, args
        assert run.stderr.startswith("footfall: error:") and message in run.stderr, (args, run.stderr)
        assert "Traceback" not in run.output
    (workspace / "footfall.toml").write_text("[collector]\nroll_rows = -5\n")
    run = run_footfall("collect", "-", *STORE, cwd=workspace, stdin=b"")
    assert run.returncode == 1 and "collector.roll_rows" in run.stderr


def test_a_fifo_is_collected_as_a_stream(workspace: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "sensor.fifo"
    os.mkfifo(fifo)
    process = subprocess.Popen(
        [str(FOOTFALL), "collect", str(fifo), *STORE, "--roll-rows", "3"],
        cwd=workspace,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    with open(fifo, "wb") as writer:  # opens once the collector listens
        writer.write(PCAPNG.read_bytes())
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "collecting" in err.decode() and "probe requests kept 12" in " ".join(out.decode().split())
    assert len(visible_parts(workspace / "data" / "sightings")) >= 4  # 12 sightings, a part per 3


def test_the_pipeline_reads_a_running_sensors_parts_and_older_heartbeats(workspace: Path, synthetic_day: Path) -> None:
    """Sensor health from the stream's heartbeat: every minute of the span, the quiet ones
    as suppressed zeros (not missing); a heartbeat file of an earlier collector (without
    the newer columns) is read beside them."""
    args = ("--config", synthetic_day / "footfall.toml", "--store", "synthetic", "--sensor", "s1", "--data", "data")
    stream = Collecting(workspace, *args)
    stream.write((synthetic_day / "s1.pcap").read_bytes())
    assert stream.finish()[0] == 0
    minutes = heartbeats(workspace / "data")
    first = min(minutes)
    old = workspace / "data" / "heartbeats" / "store=synthetic" / "date=2024-05-14" / "part-older-0.parquet"
    minute = datetime.fromtimestamp((first + 600) * 60, UTC)
    pq.write_table(pa.table({"minute": [minute], "sensor": ["s0"], "frames": [100], "probes": [9]}), old)

    run = run_footfall("run", *args[:-4], "--data", "data", cwd=workspace)
    assert run.returncode == 0, run.output
    health = duckdb.sql(
        "select sensor, epoch_us(minute) // 60000000, frames, probes, suppressed, continuous from "
        f"read_parquet('{workspace}/data/marts/sensor_health/**/*.parquet')"
    ).fetchall()
    ours = {m: (f, p, s) for sensor, m, f, p, s, _ in health if sensor == "s1"}
    assert set(ours) == set(minutes)
    quiet = [m for m, counts in minutes.items() if counts == (0, 0, 0)]
    assert quiet and all(ours[m] == (None, None, True) for m in quiet)
    assert [(f, p) for sensor, _, f, p, _, _ in health if sensor == "s0"] == [(100, 9)]
    continuous = {sensor: c for sensor, *_, c in health}
    assert continuous == {"s1": True, "s0": False}, "a stream says its quiet minutes; the older file did not"
