"""Writes the collector's datasets as Hive-partitioned Parquet:

    DATA/sightings/store=S/date=D/part-ID-N.parquet    one row per probe request
    DATA/heartbeats/store=S/date=D/part-ID-N.parquet   what each sensor heard per minute

Each part is written under a hidden temporary name in its final folder and renamed
into place when the capture is done (a stream or live capture: at every roll), so
readers (and a crash) never see half a file. Part names derive from the capture's
content hash: collecting the same capture again replaces its parts instead of adding
copies; a stream's parts are named after its session and roll number. The store and date live in the path,
not in the file, as Hive readers (DuckDB, pandas, Spark) expect.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from footfall import key_spaces, leftovers, outputs, storage
from footfall.collector.anonymiser import Sightings
from footfall.collector.heartbeats import MinuteRows
from footfall.errors import writing

# The contract's columns (footfall.outputs). Readers see plain strings for sensor and
# epoch; the writer gets them dictionary-encoded (WRITE_SCHEMA) and stores no Arrow
# schema, so Parquet's own dictionary pages carry the encoding and every reader agrees
# on the types. Heartbeats: what each sensor heard per minute (collector/heartbeats.py).
SIGHTINGS_SCHEMA = outputs.SIGHTINGS.schema()
HEARTBEATS_SCHEMA = outputs.HEARTBEATS.schema()


def _write_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema(
        [
            column.with_type(pa.dictionary(pa.int32(), pa.string())) if column.type == pa.string() else column
            for column in schema
        ]
    )


WRITE_SCHEMA = _write_schema(SIGHTINGS_SCHEMA)
HEARTBEATS_WRITE_SCHEMA = _write_schema(HEARTBEATS_SCHEMA)

ROW_GROUP_ROWS = 1 << 20
PENDING_ROWS = 2 * ROW_GROUP_ROWS  # rows held in memory across all dates of a capture
PART_ROWS = 1 << 24
TEMP_PREFIX = ".part-"
TEMP_SUFFIX = ".parquet.tmp"


def dataset_dir(data_dir: Path, dataset: str, store: str, date: str | None = None) -> Path:
    """A store's folder of the dataset, or with a date its partition (see footfall.storage)."""
    return storage.partition(data_dir, dataset, store, date) if date else storage.store_folder(data_dir, dataset, store)


# Arrow arrays straight from numpy buffers: pa.array() would import pandas (a third
# of a second) to check what it was given, on every collect.
def _numeric(values: np.ndarray, arrow_type: pa.DataType, valid: np.ndarray | None = None) -> pa.Array:
    values = np.ascontiguousarray(values)
    if valid is None or valid.all():
        return pa.Array.from_buffers(arrow_type, len(values), [None, pa.py_buffer(values)])
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        arrow_type, len(values), [bitmap, pa.py_buffer(values)], null_count=int((~valid).sum())
    )


def _bools(values: np.ndarray) -> pa.Array:
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(np.packbits(values, bitorder="little"))])


def _strings(labels: list[str]) -> pa.Array:
    encoded = [label.encode() for label in labels]
    offsets = np.zeros(len(encoded) + 1, np.int32)
    offsets[1:] = np.cumsum([len(e) for e in encoded], dtype=np.int64)
    return pa.Array.from_buffers(
        pa.string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    )


def _dictionary(codes: np.ndarray, labels: list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(_numeric(codes.astype(np.int32), pa.int32()), _strings(labels))


def heartbeat_table(rows: MinuteRows, sensor: str, channels: str | None = None) -> pa.Table:
    n = len(rows)
    unknown = np.zeros(n, bool)  # validity of a column the source cannot fill
    drops = rows.drops if rows.drops is not None else np.zeros(n, np.int64)
    channel_codes = _numeric(np.zeros(n, np.int32), pa.int32(), valid=None if channels else unknown)
    columns = [
        _numeric(rows.minute * 60_000_000, pa.timestamp("us", tz="UTC")),
        _dictionary(np.zeros(n, np.int32), [sensor]),
        _numeric(rows.frames.astype(np.int64), pa.int64()),
        _numeric(rows.probes.astype(np.int64), pa.int64()),
        _numeric(rows.malformed.astype(np.int64), pa.int64()),
        _numeric(drops.astype(np.int64), pa.int64(), valid=None if rows.drops is not None else unknown),
        pa.DictionaryArray.from_arrays(channel_codes, _strings([channels or ""])),
    ]
    return pa.Table.from_arrays(columns, schema=HEARTBEATS_WRITE_SCHEMA)


def to_table(sightings: Sightings, sensor: str, rows: np.ndarray | slice = slice(None)) -> pa.Table:
    n = len(sightings.ts_us[rows])
    freq = sightings.freq[rows]
    columns = [
        _numeric(sightings.ts_us[rows], pa.timestamp("us", tz="UTC")),
        _dictionary(np.zeros(n, np.int32), [sensor]),
        _numeric(sightings.device[rows], pa.int64()),
        _bools(sightings.randomized[rows]),
        _numeric(sightings.rssi[rows], pa.int8(), valid=sightings.has_rssi[rows]),
        _numeric(freq.astype(np.int16), pa.int16(), valid=freq != 0),
        _numeric(sightings.seq[rows].astype(np.int16), pa.int16()),
        _bools(sightings.directed[rows]),
        _numeric(sightings.ie_hash[rows], pa.int64()),
        _dictionary(sightings.epoch.codes[rows], sightings.epoch.labels),
    ]
    return pa.Table.from_arrays(columns, schema=WRITE_SCHEMA)


@dataclass
class _OpenPart:
    temp: Path
    writer: pq.ParquetWriter
    rows: int = 0


@dataclass
class _DatePartition:
    folder: Path
    pending: list[pa.Table] = field(default_factory=list)
    pending_rows: int = 0
    part: _OpenPart | None = None
    finished: list[Path] = field(default_factory=list)
    key_ids: dict[str, str] = field(default_factory=dict)  # sightings: epoch -> key id, into each footer


class PartitionedSink:
    """The parts of one capture in one dataset, for one store; commit() publishes them all."""

    def __init__(self, data_dir: Path, dataset: str, store: str, schema: pa.Schema) -> None:
        self.data_dir = data_dir
        self.dataset = dataset
        self.store = store
        self.schema = schema
        self._dates: dict[str, _DatePartition] = {}

    def append(self, label: str, table: pa.Table, key_ids: dict[str, str] | None = None) -> None:
        """Adds rows of one local date (and, for sightings, the key ids of their epochs)."""
        if table.num_rows:
            self._append(label, table, key_ids or {})

    def dates(self) -> list[str]:
        return sorted(self._dates)

    def commit(self, part_id: str) -> list[Path]:
        """Flushes and renames every part into place; removes earlier parts of the
        same capture that this run did not rewrite."""
        published = []
        for _, partition in sorted(self._dates.items()):
            self._flush(partition, final=True)
            names = []
            for index, temp in enumerate(partition.finished):
                final = partition.folder / f"part-{part_id}-{index}.parquet"
                storage.replace(temp, final)
                names.append(final.name)
                published.append(final)
            for stale in partition.folder.glob(f"part-{part_id}-*.parquet"):
                if stale.name not in names:
                    stale.unlink()
        self._dates.clear()
        return published

    def abort(self) -> None:
        for partition in self._dates.values():
            if partition.part is not None:
                with contextlib.suppress(OSError):  # the close may fail again (a full disk)
                    partition.part.writer.close()
                partition.finished.append(partition.part.temp)
            for temp in partition.finished:
                temp.unlink(missing_ok=True)
        self._dates.clear()

    def _append(self, label: str, table: pa.Table, key_ids: dict[str, str]) -> None:
        partition = self._dates.get(label)
        if partition is None:
            folder = dataset_dir(self.data_dir, self.dataset, self.store, label)
            folder.mkdir(parents=True, exist_ok=True)
            partition = self._dates[label] = _DatePartition(folder)
        partition.key_ids.update(key_ids)
        partition.pending.append(table)
        partition.pending_rows += table.num_rows
        if partition.pending_rows >= ROW_GROUP_ROWS:
            self._flush(partition, final=False)
        # a capture spanning many days must not hold a row group per day in memory
        while sum(p.pending_rows for p in self._dates.values()) > PENDING_ROWS:
            self._flush(max(self._dates.values(), key=lambda p: p.pending_rows), final=False)

    def _flush(self, partition: _DatePartition, final: bool) -> None:
        if partition.pending:
            table = pa.concat_tables(partition.pending).unify_dictionaries()
            partition.pending, partition.pending_rows = [], 0
            part = partition.part
            if part is None:
                # 8 hex digits of token: 12 would read as an address to the audit
                temp = partition.folder / f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"
                with writing(temp):
                    part = partition.part = _OpenPart(temp, _writer(temp, self.schema))
            with writing(part.temp):
                part.writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            part.rows += table.num_rows
            if part.rows >= PART_ROWS:
                self._close_part(partition)
        if final and partition.part is not None:
            self._close_part(partition)

    def _close_part(self, partition: _DatePartition) -> None:
        part = partition.part
        assert part is not None
        with writing(part.temp):
            if partition.key_ids:
                part.writer.add_key_value_metadata(key_spaces.metadata(partition.key_ids))
            part.writer.close()
            with open(part.temp, "rb") as handle:
                os.fsync(handle.fileno())
        partition.finished.append(part.temp)
        partition.part = None


def _writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """zstd, dictionaries only where values repeat, deltas for the time-ordered
    columns: smaller and faster than dictionary-encoding everything."""
    if schema is not WRITE_SCHEMA:
        return pq.ParquetWriter(path, schema, compression="zstd", store_schema=False)
    return pq.ParquetWriter(
        path,
        schema,
        compression="zstd",
        use_dictionary=["sensor", "epoch", "ie_hash", "rssi", "freq_mhz"],
        column_encoding={"ts": "DELTA_BINARY_PACKED", "seq": "DELTA_BINARY_PACKED"},
        store_schema=False,
    )


def remove_stale_temporaries(data_dir: Path, store: str) -> int:
    """Deletes temporary parts left by collectors that died (their process is gone)."""
    return len(leftovers.remove(leftovers.collector_parts(data_dir, store)))


class SightingsSink(PartitionedSink):
    """Sightings of one capture, split by the store's local date."""

    def __init__(self, data_dir: Path, store: str, sensor: str) -> None:
        super().__init__(data_dir, "sightings", store, WRITE_SCHEMA)
        self.sensor = sensor
        self._checked: set[tuple[str, str]] = set()

    def write(self, sightings: Sightings) -> None:
        dates = sightings.date
        for code, label in enumerate(dates.labels):
            rows = slice(None) if len(dates.labels) == 1 else np.flatnonzero(dates.codes == code)
            epochs = {sightings.epoch.labels[c] for c in np.unique(sightings.epoch.codes[rows]).tolist()}
            key_ids = {epoch: sightings.key_ids[epoch] for epoch in epochs if epoch in sightings.key_ids}
            self._check_key_space(label, key_ids)
            self.append(label, to_table(sightings, self.sensor, rows), key_ids)

    def _check_key_space(self, label: str, key_ids: dict[str, str]) -> None:
        """Once per date and epoch: the date's published sightings of the epoch, if any,
        were keyed with the same salt (collector/key_spaces.py)."""
        for epoch, own in key_ids.items():
            if (label, epoch) not in self._checked:
                key_spaces.check_partition(
                    dataset_dir(self.data_dir, self.dataset, self.store, label), self.store, epoch, own
                )
                self._checked.add((label, epoch))
