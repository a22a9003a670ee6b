"""A running collector's clock: salt rotation at local midnight while it runs, the old
salt destroyed after the grace, quiet minutes written while nothing arrives.

The collector's clock is injected (it is the SaltStore's), and a writer thread moves
it forward as it writes the stream into a real OS pipe, a minute of capture at a
time: an hour crossing midnight runs in seconds, through the same loop, parser,
anonymiser and sinks as `footfall collect -`."""

from __future__ import annotations

import array
import fcntl
import json
import os
import termios
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from Crypto.Hash import HMAC, SHA256

from footfall.collector.collect import Collector
from footfall.collector.stream_collect import RollPolicy, StopSignals, StreamCollector, run_stream
from footfall.collector.stream_sources import PipeSource
from footfall.config import load_settings

from capture_builder import midnight_capture

START = datetime(2024, 5, 14, 21, 40, tzinfo=UTC)  # 23:40 in Prague (CEST)
MIDNIGHT = datetime(2024, 5, 14, 22, 0, tzinfo=UTC)
GRACE = timedelta(minutes=15)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def settings(tmp_path: Path):
    config = tmp_path / "footfall.toml"
    config.write_text(
        f'[privacy]\nsalt_grace_hours = {GRACE.total_seconds() / 3600}\n[stores.shop]\ntimezone = "Europe/Prague"\n'
    )
    return load_settings(config)


def pcap_minutes(path: Path) -> tuple[bytes, dict[int, bytes]]:
    """The pcap header, and its records grouped by the UTC minute they fall in."""
    import struct

    data = path.read_bytes()
    minutes: dict[int, bytes] = {}
    pos = 24
    while pos < len(data):
        seconds, _, length = struct.unpack_from("<III", data, pos)
        minutes[seconds // 60] = minutes.get(seconds // 60, b"") + data[pos : pos + 16 + length]
        pos += 16 + length
    return data[:24], minutes


def waiting(fd: int) -> int:
    buffer = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, buffer, True)
    return buffer[0]


def replay(path: Path, clock: Clock, read_end: int, write_end: int, idle_minutes: int = 0, probe=None) -> None:
    """Writes the capture a minute at a time, the clock at the end of that minute, and
    waits until the collector has read it; then lets the clock run on idle."""
    header, minutes = pcap_minutes(path)
    os.write(write_end, header)
    first, last = min(minutes), max(minutes)
    for minute in range(first, last + 1):
        clock.now = datetime.fromtimestamp((minute + 1) * 60, UTC)
        os.write(write_end, minutes.get(minute, b""))
        while waiting(read_end):
            time.sleep(0.002)
        time.sleep(0.01)
    for _ in range(idle_minutes):
        clock.now += timedelta(minutes=1)
        time.sleep(0.6)  # the collector's read times out and it looks at the clock
    if probe is not None:
        probe()
    os.close(write_end)


def collect_through_pipe(tmp_path: Path, capture: Path, clock: Clock, idle_minutes: int = 0, probe=None):
    logs: list[str] = []
    with Collector(settings(tmp_path), "shop", "s1", clock=clock) as collector, StopSignals() as stop:
        read_end, write_end = os.pipe()
        source = PipeSource(read_end, "<pipe>", stop.fileno)
        engine = StreamCollector(collector, "<pipe>", RollPolicy(seconds=60, rows=100_000), log=logs.append)
        writer = threading.Thread(
            target=replay, args=(capture, clock, read_end, write_end, idle_minutes, probe), daemon=True
        )
        writer.start()
        report = run_stream(engine, source, stop)
        writer.join(10)
        source.close()
        in_use = collector.anonymiser.epochs_in_use()
    return report, logs, in_use


def test_a_stream_across_midnight_gets_two_epochs_and_the_old_salt_dies_while_it_runs(tmp_path: Path) -> None:
    capture = tmp_path / "midnight.pcap"
    probes = midnight_capture(capture, int(START.timestamp() * 1e6), minutes=60)
    clock = Clock(START)
    report, logs, in_use = collect_through_pipe(tmp_path, capture, clock)
    assert report.status == "ok", report.error
    data, salts = tmp_path / "data", tmp_path / "secrets" / "salts" / "shop"

    rows = duckdb.sql(
        "select epoch_us(ts), device, epoch, date::varchar, directed from "
        f"read_parquet('{data}/sightings/**/*.parquet', hive_partitioning=true) order by 1"
    ).fetchall()
    # no frame lost around midnight: every probe, in the epoch and local date of its own time
    assert [row[0] for row in rows] == [p.ts_us for p in probes]
    midnight_us = int(MIDNIGHT.timestamp() * 1e6)
    for ts, _, epoch, date, _ in rows:
        expected = "2024-05-14" if ts < midnight_us else "2024-05-15"
        assert epoch == date == expected
    assert [row[4] for row in rows] == [bool(p.ssid) for p in probes]

    # two salts: the new day's computes its pseudonyms (checked with the public HMAC) ...
    assert not (salts / "2024-05-14.salt").exists()
    new_salt = (salts / "2024-05-15.salt").read_bytes()
    for (_, device, epoch, _, _), probe in zip(rows, probes, strict=True):
        if epoch == "2024-05-15":
            digest = HMAC.new(new_salt, bytes.fromhex(probe.mac.replace(":", "")), SHA256).digest()
            assert device == int.from_bytes(digest[:8], "big", signed=True)
    # ... and the phone seen on both sides of midnight is two unlinkable pseudonyms
    phone = {
        epoch: {d for (_, d, e, _, _), p in zip(rows, probes, strict=True) if e == epoch and p.mac.startswith("3c")}
        for epoch in ("2024-05-14", "2024-05-15")
    }
    assert len(phone["2024-05-14"]) == len(phone["2024-05-15"]) == 1 and phone["2024-05-14"] != phone["2024-05-15"]

    # the old salt was destroyed while the stream ran: after midnight + grace, before its end
    destroyed = [json.loads(line) for line in (salts / "destroyed.jsonl").read_text().splitlines()]
    assert [entry["epoch"] for entry in destroyed] == ["2024-05-14"]
    when = datetime.fromisoformat(destroyed[0]["destroyed_at"])
    assert MIDNIGHT + GRACE < when < datetime.fromtimestamp(probes[-1].ts_us / 1e6, UTC)
    assert any("epoch 2024-05-14 is over" in line for line in logs)
    assert any("epoch 2024-05-14 destroyed" in line for line in logs)
    assert in_use == ["2024-05-15"], "the old epoch's key and caches left memory"
    assert report.devices == 2 + 60 - 5  # the phone twice (two epochs) and one random address a minute


def test_quiet_minutes_are_written_while_nothing_arrives(tmp_path: Path) -> None:
    """Nobody came for five minutes: the heartbeat says so (zeros) while the collector
    runs, not only when it stops; a minute with no row would mean the sensor was down."""
    capture = tmp_path / "short.pcap"
    start = datetime(2024, 5, 14, 10, 0, tzinfo=UTC)
    midnight_capture(capture, int(start.timestamp() * 1e6), minutes=3, quiet=(0, 0))
    seen_while_running: dict[int, tuple] = {}
    first = int(start.timestamp()) // 60

    def look() -> None:
        """While the stream is still open. The collector looks at the clock every 0.25 s;
        on a loaded machine its thread can miss the 1.2 s the replay leaves after the
        clock passed first + 6: look again (for up to 30 s) until the quiet minutes are out."""
        deadline = time.monotonic() + 30
        while True:
            rows = duckdb.sql(
                "select epoch_us(minute) // 60000000, sum(frames), sum(probes), count(drops) from "
                f"read_parquet('{tmp_path}/data/heartbeats/**/*.parquet') group by 1"
            ).fetchall()
            seen_while_running.update({int(m): (int(f), int(p), int(d)) for m, f, p, d in rows})
            if {first + 3, first + 4, first + 5} <= set(seen_while_running) or time.monotonic() > deadline:
                return
            time.sleep(0.1)

    report, _, _ = collect_through_pipe(tmp_path, capture, Clock(start), idle_minutes=5, probe=look)
    assert report.status == "ok", report.error
    heard = {m: v for m, v in seen_while_running.items() if m < first + 3}
    assert heard == {first + i: (7, 5, 0) for i in range(3)}  # 3 + 2 probes and 2 beacons a minute
    quiet = {m: v for m, v in seen_while_running.items() if m >= first + 3}
    assert set(quiet) >= {first + 3, first + 4, first + 5}, "quiet minutes published while running"
    assert all(value == (0, 0, 0) for value in quiet.values()), "zero counts, drops unknown (null) for a pipe"
