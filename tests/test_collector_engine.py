"""The collector's engine: one for files and streams, and a start-up that is a step.

Making a Collector must not touch anything (a salt past its grace, a dead
collector's temporary part and the process table stay as they are); start() does
the start-up work. The same capture, fed to the engine whole (a file) or in pieces
cut anywhere with rolling parts (a stream), gives the same sightings and the same
counts, across an epoch boundary."""

from __future__ import annotations

import hashlib
import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from footfall.collector.capture_sources import CaptureSource
from footfall.collector.collect import Collector
from footfall.collector.engine import Ending, RollPolicy
from footfall.collector.salts import SaltStore
from footfall.config import load_settings
from footfall.epochs import Epoch

from capture_builder import midnight_capture

START_US = 1_715_722_800_000_000  # 2024-05-14 21:40 UTC, 23:40 in Prague: the capture crosses local midnight


def _settings(tmp_path: Path, data: str = "data"):
    config = tmp_path / "footfall.toml"
    config.write_text('[stores.shop]\ntimezone = "Europe/Prague"\n')
    return load_settings(config, tmp_path / data)


def _helpers() -> set[int]:
    return {p.pid for p in multiprocessing.active_children() if p.name == "footfall-hmac"}


def test_making_a_collector_touches_nothing_and_start_does_the_start_up_work(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    long_ago = datetime(2020, 1, 2, tzinfo=UTC)
    epoch = Epoch("2020-01-01", long_ago - timedelta(days=1), long_ago)
    SaltStore(settings.secrets_dir, timedelta(hours=6), clock=lambda: long_ago).salt("shop", epoch)
    salt = settings.secrets_dir / "salts" / "shop" / "2020-01-01.salt"
    dead_part = settings.data_dir / "sightings" / "store=shop" / "date=2020-01-01" / ".part-999999999-ab.parquet.tmp"
    dead_part.parent.mkdir(parents=True)
    dead_part.write_bytes(b"half a part")
    before = _helpers()

    collector = Collector(settings, "shop", "s1")
    assert salt.exists() and dead_part.exists(), "construction destroys and deletes nothing"
    assert _helpers() == before, "construction forks no process"

    collector.start()
    try:
        assert not salt.exists(), "the expired salt is destroyed at start"
        assert not dead_part.exists(), "the dead collector's temporary part is removed at start"
        assert len(_helpers() - before) == 1, "the HMAC helper runs"
    finally:
        collector.close()
    assert _helpers() == before, "close() ends the helper"


def _rows(data: Path) -> list[tuple]:
    return duckdb.sql(
        "select epoch_us(ts), device, randomized, rssi, freq_mhz, seq, directed, ie_hash, epoch, date::varchar "
        f"from read_parquet('{data}/sightings/**/*.parquet', hive_partitioning=true) order by all"
    ).fetchall()


@pytest.mark.parametrize("piece", [7, 1000, 1 << 16])
def test_a_file_and_a_stream_cut_anywhere_give_the_same_sightings_and_counts(tmp_path: Path, piece: int) -> None:
    capture = tmp_path / "midnight.pcap"
    probes = midnight_capture(capture, START_US, minutes=30, quiet=(5, 8))
    data = capture.read_bytes()
    with Collector(_settings(tmp_path, "file"), "shop", "s1") as collector:
        whole = collector.collect(CaptureSource(str(capture), capture))
    with Collector(_settings(tmp_path, "stream"), "shop", "s1") as collector:
        engine = collector.engine("<pieces>", rolling=RollPolicy(seconds=3600, rows=11))
        for start in range(0, len(data), piece):
            assert engine.feed(data[start : start + piece])
        pieces = engine.finish(Ending(hashlib.sha256(data).hexdigest()))

    assert whole.status == pieces.status == "ok"
    assert _rows(tmp_path / "stream") == _rows(tmp_path / "file")
    assert len(_rows(tmp_path / "file")) == len(probes)
    assert {row[8] for row in _rows(tmp_path / "file")} == {"2024-05-14", "2024-05-15"}, "two epochs"
    for field in ("frames", "kept", "devices", "span", "dates", "parsed"):
        assert getattr(pieces, field) == getattr(whole, field), field
    # the phone with a global address (once per epoch) and one random address a minute it was heard
    assert whole.devices == 2 + (30 - 3)
    assert whole.part_count == len(whole.dates) == 2, "a file: one part per local date"
    rolled = sorted((tmp_path / "stream" / "sightings").rglob("part-*.parquet"))
    assert len(rolled) == pieces.part_count > 2
    assert all(pq.read_metadata(part).num_rows <= 11 for part in rolled), "a stream: parts of at most 11 rows"
