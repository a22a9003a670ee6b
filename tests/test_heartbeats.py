"""The heartbeat's per-minute accounting: sums, quiet minutes filled with zeros, bounds."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from footfall.collector.capture_sources import CaptureSource
from footfall.collector.collect import Collector
from footfall.collector.heartbeats import MAX_FILL_MINUTES, MinuteCounts
from footfall.collector.probe_parser import MINUTE_RUN
from footfall.config import load_settings

from capture_builder import Probe, Record, dot11_beacon, dot11_probe, radiotap, write_pcap


def runs(*rows: tuple[int, int, int, int]) -> np.ndarray:
    out = np.zeros(len(rows), MINUTE_RUN)
    for i, (minute, frames, probes, malformed) in enumerate(rows):
        out[i] = (minute, frames, probes, malformed)
    return out


def as_dict(counts: MinuteCounts) -> dict[int, tuple]:
    rows = counts.take()
    drops = rows.drops if rows.drops is not None else [None] * len(rows)
    return {
        int(m): (int(f), int(p), int(x), None if d is None else int(d))
        for m, f, p, x, d in zip(rows.minute, rows.frames, rows.probes, rows.malformed, drops, strict=True)
    }


def test_file_mode_sums_split_runs_and_writes_no_quiet_minutes() -> None:
    counts = MinuteCounts()
    counts.add_runs(runs((10, 5, 2, 1), (12, 3, 3, 0)))
    counts.add_runs(runs((12, 4, 1, 2)))  # the same minute, cut by a batch boundary
    assert as_dict(counts) == {10: (5, 2, 1, None), 12: (7, 4, 2, None)}
    assert len(counts.take()) == 0, "take() empties it"


def test_stream_mode_fills_the_quiet_minutes_between_frames_across_takes() -> None:
    counts = MinuteCounts(fill_gaps=True, reports_drops=True)
    counts.add_runs(runs((100, 1, 1, 0), (103, 2, 0, 0)))
    first = as_dict(counts)
    assert first == {100: (1, 1, 0, 0), 101: (0, 0, 0, 0), 102: (0, 0, 0, 0), 103: (2, 0, 0, 0)}
    counts.add_runs(runs((106, 1, 1, 0)))  # the gap spans two takes (two rolling parts)
    counts.add_drops(106, 7)
    assert as_dict(counts) == {104: (0, 0, 0, 0), 105: (0, 0, 0, 0), 106: (1, 1, 0, 7)}


def test_idle_minutes_are_covered_up_to_now_and_a_late_frame_adds_to_its_minute() -> None:
    counts = MinuteCounts(fill_gaps=True)
    counts.add_runs(runs((50, 3, 1, 0)))
    counts.cover_until(53)  # nothing arrived for three minutes
    counts.cover_until(52)  # the clock never moves a cover back
    counts.add_runs(runs((53, 1, 1, 0)))  # a late frame of a minute already covered: summed
    assert as_dict(counts) == {50: (3, 1, 0, None), 51: (0,) * 3 + (None,), 52: (0,) * 3 + (None,), 53: (1, 1, 0, None)}


def test_a_clock_jump_is_not_filled_and_a_jump_back_restarts_from_there() -> None:
    counts = MinuteCounts(fill_gaps=True)
    far = 1_000 + MAX_FILL_MINUTES + 1
    counts.add_runs(runs((1_000, 1, 1, 0), (far, 1, 1, 0), (1_001, 1, 0, 0), (1_003, 1, 0, 0)))
    got = as_dict(counts)
    assert sorted(got) == [1_000, 1_001, 1_002, 1_003, far]
    assert got[1_002] == (0, 0, 0, None)


def test_malformed_frames_are_counted_in_their_minute(tmp_path: Path) -> None:
    """Hand-built: minute 0 has a good probe and one whose radio header runs past the
    frame; minute 1 a frame shorter than its 802.11 header, a probe with a damaged
    element list (kept: its address is intact) and a beacon."""
    probe = Probe(1_700_000_040_000_000, "3c:5a:00:00:00:01", -50, 2437, 1)  # 22:14:00 UTC
    good = radiotap(probe, dot11_probe(probe))
    past_frame = good[:2] + struct.pack("<H", len(good) + 50) + good[4:]
    short = radiotap(probe, dot11_probe(probe)[:16])
    bad_elements = radiotap(probe, dot11_probe(probe) + b"\xdd\xff\x00")
    beacon = radiotap(probe, dot11_beacon())
    minute = 60_000_000
    frames = [(0, good), (1, past_frame), (minute, short), (minute + 1, bad_elements), (minute + 2, beacon)]
    path = write_pcap(tmp_path / "odd.pcap", 127, [Record(probe.ts_us + at, data) for at, data in frames])
    (tmp_path / "footfall.toml").write_text("")  # data and secrets beside it
    settings = load_settings(tmp_path / "footfall.toml")
    with Collector(settings, "s", "x") as collector:
        assert collector.collect(CaptureSource(str(path), path)).status == "ok"
    rows = pq.read_table(tmp_path / "data" / "heartbeats").to_pylist()
    got = {int(r["minute"].timestamp()) // 60: (r["frames"], r["probes"], r["malformed"], r["drops"]) for r in rows}
    first = probe.ts_us // minute
    assert got == {first: (2, 1, 1, None), first + 1: (3, 1, 1, None)}


def test_a_quiet_sensor_keeps_one_heartbeat_file_a_day_and_every_minute_once(tmp_path: Path, monkeypatch) -> None:
    """A stream rolling every minute used to leave 1,440 heartbeat files a day. Now each
    day is one file, replaced whole at each roll: after every roll a reader sees every
    minute heard so far exactly once; a late frame reopens its day (read back from disk
    once that day has left memory) and adds to its minute."""
    from datetime import UTC, datetime, timedelta

    import duckdb

    from footfall.collector import parquet_sink
    from footfall.collector.stream_collect import RollPolicy, StreamCollector

    monkeypatch.setattr(parquet_sink.HeartbeatDaySink, "OPEN_DAYS", 1)
    clock = [datetime(2024, 5, 14, 22, 0, tzinfo=UTC)]
    config = tmp_path / "footfall.toml"
    config.write_text(f'data_dir = "{tmp_path}/data"\n[stores.lab]\ntimezone = "UTC"\n')

    def frame(at: datetime, seq: int) -> bytes:
        probe = Probe(int(at.timestamp() * 1_000_000), "02:00:00:00:00:09", -50, 2437, seq)
        return write_pcap(
            tmp_path / "one.pcap", 127, [Record(probe.ts_us, radiotap(probe, dot11_probe(probe)))]
        ).read_bytes()

    def published() -> list[tuple[int, int]]:
        return duckdb.sql(
            "select epoch_us(minute) // 60000000, frames from "
            f"read_parquet('{tmp_path}/data/heartbeats/**/*.parquet') order by 1"
        ).fetchall()

    with Collector(load_settings(config), "lab", "s1", clock=lambda: clock[0]) as collector:
        stream = StreamCollector(collector, "<pipe>", RollPolicy(seconds=60))
        stream.feed(frame(clock[0] + timedelta(seconds=5), 0))  # the header and one frame at 22:00:05
        for minute in range(1, 181):  # three hours across midnight, a roll a minute
            clock[0] += timedelta(minutes=1)
            if minute == 121:  # 00:01: a buffering sender's frame of 23:59:30
                stream.feed(frame(datetime(2024, 5, 14, 23, 59, 30, tzinfo=UTC), 1)[24:])
            stream.tick()
            minutes = [m for m, _ in published()]
            assert len(minutes) == len(set(minutes)), f"a minute counted twice after roll {minute}"
        stream.finish(
            stopped_by=None, error=None, source=type("S", (), {"compression": None, "problem": lambda s: None})()
        )

    files = sorted(
        p.relative_to(tmp_path / "data" / "heartbeats") for p in (tmp_path / "data" / "heartbeats").rglob("*")
    )
    days = [f for f in files if f.suffix == ".parquet"]
    assert [f.parent.name for f in days] == ["date=2024-05-14", "date=2024-05-15"], files
    rows = dict(published())
    first = int(datetime(2024, 5, 14, 22, 0, tzinfo=UTC).timestamp()) // 60
    # the late frame set the stream's clock back 90 s (its own time): it listened until 00:58
    assert sorted(rows) == list(range(first, first + 179)), "every minute listened, once"
    assert {m: f for m, f in rows.items() if f} == {first: 1, first + 119: 1}
