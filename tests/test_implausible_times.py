"""A frame whose time cannot be true is not written: one flipped bit turns 2024 into
2092, a sensor without a clock writes 1990. Such a frame would make a partition and a
salt that retention never reaches (a day in 2092 is never old), so the collector keeps
neither: more than a day ahead of its clock or before 2000, the frame is counted as
"implausible time" in the summary, and nothing else of the capture is lost."""

from __future__ import annotations

import struct
from pathlib import Path

import duckdb
import pytest

from capture_builder import Probe, Record, dot11_probe, radiotap, write_pcap
from footfall_command import run_footfall

START_US = 1_710_496_800_000_000  # 2024-03-15 10:00 UTC
TOP_BIT = 1 << 31
MAC = "02:11:22:33:44:{:02x}"


def _capture(path: Path) -> Path:
    """Ten probe requests a second apart; record 3's seconds get their top bit set
    (2024 -> 2092), record 6 is from 1990. Built whole, then the bit is flipped in
    the bytes, as a damaged capture has it."""
    probes = [Probe(START_US + i * 1_000_000, MAC.format(i), -50, 2437, i) for i in range(10)]
    probes[6] = Probe(644_198_400_000_000, MAC.format(6), -50, 2437, 6)  # 1990-06-01
    write_pcap(path, 127, [Record(p.ts_us, radiotap(p, dot11_probe(p))) for p in probes])
    data = bytearray(path.read_bytes())
    position = 24
    for _ in range(3):
        position += 16 + struct.unpack_from("<I", data, position + 8)[0]
    (seconds,) = struct.unpack_from("<I", data, position)
    struct.pack_into("<I", data, position, seconds | TOP_BIT)
    path.write_bytes(bytes(data))
    return path


def _dates(data: Path, dataset: str) -> set[str]:
    return {p.name for p in (data / dataset / "store=lab").glob("date=*")}


@pytest.mark.parametrize("mode", ["file", "stream"])
def test_frames_from_2092_and_1990_are_counted_and_not_written(workspace: Path, tmp_path: Path, mode: str) -> None:
    capture = _capture(tmp_path / "flipped.pcap")
    args = ("--store", "lab", "--sensor", "s1", "--config", "none.toml")
    (workspace / "none.toml").write_text('[stores.lab]\ntimezone = "UTC"\n')
    if mode == "file":
        run = run_footfall("collect", capture, *args, cwd=workspace)
    else:
        run = run_footfall("collect", "-", *args, cwd=workspace, stdin=capture.read_bytes())
    assert run.returncode == 0, run.output
    summary = " ".join(run.stdout.split())
    assert "2 frames with an implausible time" in summary and "(2 of them probe requests)" in summary
    assert "probe requests kept 8" in summary and "frames 10" in summary
    assert "time span: 2024-03-15 10:00:00 → 10:00:09 UTC" in summary, "the span is the plausible frames'"

    data = workspace / "data"
    assert _dates(data, "sightings") == _dates(data, "heartbeats") == {"date=2024-03-15"}
    salts = sorted(p.name for p in (workspace / "secrets" / "salts" / "lab").glob("*.salt"))
    assert salts == ["2024-03-15.salt"]
    rows = duckdb.sql(
        f"select epoch_us(ts), seq from read_parquet('{data}/sightings/**/*.parquet') order by seq"
    ).fetchall()
    assert rows == [(START_US + i * 1_000_000, i) for i in range(10) if i not in (3, 6)]
    minutes = duckdb.sql(f"select sum(frames), sum(probes) from read_parquet('{data}/heartbeats/**/*.parquet')")
    assert minutes.fetchall() == [(8, 8)]


def test_a_frame_a_day_ahead_of_the_clock_is_kept_and_two_days_ahead_is_not(tmp_path: Path) -> None:
    """The limit is the collector's clock plus a day (a test, or a replayed stream, sets it)."""
    from datetime import UTC, datetime, timedelta

    from footfall.collector.capture_sources import CaptureSource
    from footfall.collector.collect import Collector
    from footfall.config import load_settings

    now = datetime(2024, 3, 13, 10, 0, 30, tzinfo=UTC)
    day = 86_400_000_000
    probes = [
        Probe(START_US - 2 * day, MAC.format(1), -50, 2437, 1),  # 2024-03-13 10:00: 30 s ago, kept
        Probe(START_US - day + 1, MAC.format(2), -50, 2437, 2),  # 23 h 59 min 30 s ahead: kept
        Probe(START_US - day + 60_000_000, MAC.format(3), -50, 2437, 3),  # a day and 30 s ahead: not
        Probe(START_US + 120_000_000, MAC.format(4), -50, 2437, 4),  # two days ahead: not
    ]
    capture = write_pcap(tmp_path / "ahead.pcap", 127, [Record(p.ts_us, radiotap(p, dot11_probe(p))) for p in probes])
    config = tmp_path / "footfall.toml"
    config.write_text(f'data_dir = "{tmp_path}/data"\n[stores.lab]\ntimezone = "UTC"\n')
    with Collector(load_settings(config), "lab", "s1", clock=lambda: now) as collector:
        report = collector.collect(CaptureSource(str(capture), capture))
    assert (report.kept, report.withheld.implausible_frames, report.withheld.implausible_probes) == (2, 2, 2)
    assert report.span.last == now + timedelta(hours=23, minutes=59, seconds=30, microseconds=1)
    assert report.dates == ("2024-03-13", "2024-03-14")


def test_a_running_stream_says_so_in_its_log(tmp_path: Path) -> None:
    """A sensor whose clock went wrong is named while it runs, not only at its end."""
    from datetime import UTC, datetime, timedelta

    from footfall.collector.collect import Collector
    from footfall.collector.stream_collect import RollPolicy, StreamCollector
    from footfall.config import load_settings

    clock = [datetime(2024, 3, 15, 10, 1, tzinfo=UTC)]
    config = tmp_path / "footfall.toml"
    config.write_text(f'data_dir = "{tmp_path}/data"\n[stores.lab]\ntimezone = "UTC"\n')
    logs: list[str] = []
    with Collector(load_settings(config), "lab", "s1", clock=lambda: clock[0]) as collector:
        stream = StreamCollector(collector, "<pipe>", RollPolicy(), log=logs.append)
        stream.feed(_capture(tmp_path / "flipped.pcap").read_bytes())
        stream.tick()
        assert not [line for line in logs if "implausible" in line], "said at most once a minute"
        clock[0] += timedelta(seconds=61)
        stream.tick()
        stream.abort()
    assert [line for line in logs if "implausible" in line] == [
        "2 more frames with an implausible time (more than a day ahead of this clock, or before 2000) were not written"
    ]
