"""The Parquet sink: the contract's schema, Hive layout, atomic and replaceable parts."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from footfall.collector.capture_sources import CaptureSource
from footfall.collector.collect import Collector
from footfall.config import load_settings

from conftest import CONTRACT_COLUMNS, SHARED_CAPTURES

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
    from footfall.collector import sightings_sink

    calls = {"n": 0}
    real = sightings_sink.SightingsSink.write

    def failing(self, sightings):
        calls["n"] += 1
        real(self, sightings)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sightings_sink.SightingsSink, "write", failing)
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
    assert len(list((tmp_path / "data").rglob("*.parquet"))) == 1
