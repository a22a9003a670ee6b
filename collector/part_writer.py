"""The open part of one capture: its sightings, split by the store's local date, and
its sensor's heartbeat minutes, published together.

A file is one part, published when it has been read whole; a stream publishes a
part at every roll. commit() is the one place a part becomes visible (the sinks
write hidden temporary files and rename them into place); abort() leaves nothing;
withdraw() removes what a stream published, when the whole stream turns out to
have been collected before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from footfall.collector.anonymiser import Sightings
from footfall.collector.heartbeats import MinuteCounts
from footfall.collector.parquet_sink import (
    HEARTBEATS_WRITE_SCHEMA,
    PartitionedSink,
    SightingsSink,
    dataset_dir,
    heartbeat_table,
)
from footfall.epochs import StoreCalendar

DATASETS = ("sightings", "heartbeats")


@dataclass(frozen=True)
class Published:
    """What one commit renamed into place."""

    sightings: list[Path] = field(default_factory=list)
    heartbeats: list[Path] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.sightings or self.heartbeats)


class PartWriter:
    def __init__(
        self,
        data_dir: Path,
        store: str,
        sensor: str,
        calendar: StoreCalendar,
        minutes: MinuteCounts,
        channels: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.store = store
        self.sensor = sensor
        self.minutes = minutes
        """The heartbeat minutes counted since the last commit."""
        self.pending_rows = 0
        """Sightings written since the last commit."""
        self.dates: dict[str, set[str]] = {dataset: set() for dataset in DATASETS}
        """Local dates that received rows, per dataset, over every commit."""
        self._calendar = calendar
        self._channels = channels
        self._sightings = SightingsSink(data_dir, store, sensor)
        self._heartbeats = PartitionedSink(data_dir, "heartbeats", store, HEARTBEATS_WRITE_SCHEMA)

    def write(self, sightings: Sightings) -> None:
        self._sightings.write(sightings)
        self.pending_rows += len(sightings)

    def commit(self, part_id: str) -> Published:
        """Publishes the open part: sightings and the heartbeat minutes counted so far."""
        self._append_heartbeats()
        self.dates["sightings"].update(self._sightings.dates())
        self.dates["heartbeats"].update(self._heartbeats.dates())
        sightings = self._sightings.commit(part_id)
        heartbeats = self._heartbeats.commit(part_id)
        self.pending_rows = 0
        return Published(sightings, heartbeats)

    def abort(self) -> None:
        """Drops the open part's temporary files."""
        self._sightings.abort()
        self._heartbeats.abort()
        self.pending_rows = 0

    def withdraw(self, part_prefix: str) -> None:
        """Deletes the published parts whose names start with the prefix (a stream's session)."""
        for dataset, dates in self.dates.items():
            for date in dates:
                folder = dataset_dir(self.data_dir, dataset, self.store, date)
                for part in folder.glob(f"part-{part_prefix}-*.parquet"):
                    part.unlink(missing_ok=True)

    def _append_heartbeats(self) -> None:
        """The minutes counted so far into the heartbeat sink, split by the store's local date."""
        rows = self.minutes.take()
        if len(rows) == 0:
            return
        dates = self._calendar.local_dates(rows.minute * 60_000_000)
        for code, label in enumerate(dates.labels):
            table = heartbeat_table(rows.take(dates.codes == code), self.sensor, self._channels)
            self._heartbeats.append(label, table)
