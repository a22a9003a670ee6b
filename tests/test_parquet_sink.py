"""The Parquet sink: the contract's schema, Hive layout, atomic and replaceable parts, heartbeats."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from footfall.collector.capture_sources import CaptureSource
from footfall.collector.collect import Collector
from footfall.config import load_settings

from capture_files import CONTRACT_COLUMNS, SHARED_CAPTURES

CAPTURE = SHARED_CAPTURES / "brno" / "position_1_2024-03-15.pcap"


def _collect(data: Path, capture: Path = CAPTURE, **kwargs):
    with Collector(load_settings(data_dir=data), "demo", "s1", **kwargs) as collector:
        return collector.collect(CaptureSource(str(capture), capture))


def test_schema_is_the_contract(tmp_path: Path) -> None:
    report = _collect(tmp_path / "data")
    (part,) = report.parts
    schema = pq.read_schema(part)
    assert schema.names == CONTRACT_COLUMNS
    assert schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert schema.field("sensor").type == pa.string() and schema.field("epoch").type == pa.string()
    assert schema.field("device").type == pa.int64() and schema.field("ie_hash").type == pa.int64()
    assert schema.field("rssi").type == pa.int8() and schema.field("freq_mhz").type == pa.int16()
    assert part.parent.name == "date=2024-03-15" and part.parent.parent.name == "store=demo"
    assert pq.read_metadata(part).num_rows == report.kept == 4926


def test_a_failure_mid_capture_leaves_no_file(tmp_path: Path, monkeypatch) -> None:
    from footfall.collector import parquet_sink

    calls = {"n": 0}
    real = parquet_sink.SightingsSink.write

    def failing(self, sightings):
        calls["n"] += 1
        real(self, sightings)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(parquet_sink.SightingsSink, "write", failing)
    with pytest.raises(OSError):
        _collect(tmp_path / "data")
    assert calls["n"] == 1
    assert [p for p in (tmp_path / "data").rglob("*") if p.is_file() and "_ingest" not in p.parts] == []


def test_temporary_parts_of_dead_collectors_are_cleaned_up(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "sightings" / "store=demo" / "date=2024-03-15"
    folder.mkdir(parents=True)
    dead = folder / ".part-999999999-abc.parquet.tmp"
    dead.write_bytes(b"half a file")
    _collect(tmp_path / "data")
    assert not dead.exists()


def test_recollecting_with_force_replaces_the_parts(tmp_path: Path) -> None:
    first = _collect(tmp_path / "data")
    again = _collect(tmp_path / "data")
    assert again.status == "duplicate" and again.parts == []
    forced = _collect(tmp_path / "data", force=True)
    assert forced.parts == first.parts
    assert len(list((tmp_path / "data" / "sightings").rglob("*.parquet"))) == 1


def test_heartbeats_count_every_frame_per_minute(tmp_path: Path) -> None:
    """The sensor's heartbeat from a capture with beacons around the probes, against tshark."""
    from reference_dissectors import tshark_fields

    capture = SHARED_CAPTURES / "formats" / "iot_indoor_location_irt_test.pcapng"
    _collect(tmp_path / "data", capture)
    table = pq.read_table(tmp_path / "data" / "heartbeats").to_pylist()
    frames: dict[int, int] = {}
    probes: dict[int, int] = {}
    for epoch, subtype in tshark_fields(capture, ["frame.time_epoch", "wlan.fc.type_subtype"]):
        minute = int(epoch.split(".")[0]) // 60
        frames[minute] = frames.get(minute, 0) + 1
        probes[minute] = probes.get(minute, 0) + (subtype == "0x0004")
    got = {int(row["minute"].timestamp()) // 60: (row["frames"], row["probes"]) for row in table}
    assert got == {minute: (frames[minute], probes[minute]) for minute in frames}
    assert {row["sensor"] for row in table} == {"s1"}
