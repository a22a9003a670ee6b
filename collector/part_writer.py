"""The open part of one capture: its sightings, split by the store's local date, and
its sensor's heartbeat minutes, published together.

A file is one part, published when it has been read whole; a stream publishes a
part at every roll, and keeps its heartbeats in one file per local date, replaced
at each roll (HeartbeatDaySink). commit() is the one place a part becomes visible:
the sinks finish hidden temporary files, a `before` hook learns their final names
(a stream records them with its progress, so that a crash between two renames can
be told later), then the heartbeats and last the sightings are renamed into place.
abort() leaves nothing; withdraw() removes what a stream published, when the whole
stream turns out to have been collected before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from footfall.collector.anonymiser import Sightings
from footfall.collector.heartbeats import MinuteCounts
from footfall.collector.parquet_sink import (
    HEARTBEATS_WRITE_SCHEMA,
    HeartbeatDaySink,
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
        session: str | None = None,
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
        self._heartbeats: PartitionedSink | HeartbeatDaySink = (
            HeartbeatDaySink(data_dir, store, session, sensor, channels)
            if session
            else PartitionedSink(data_dir, "heartbeats", store, HEARTBEATS_WRITE_SCHEMA)
        )

    def write(self, sightings: Sightings) -> None:
        self._sightings.write(sightings)
        self.pending_rows += len(sightings)

    def commit(
        self, part_id: str, offset: int | None = None, before: Callable[[Published], None] | None = None
    ) -> Published:
        """Publishes the open part: sightings and the heartbeat minutes counted so far
        (`offset`: the stream's bytes they hold). `before` is told the final names
        before the first rename."""
        self._append_heartbeats()
        self.dates["sightings"].update(self._sightings.dates())
        self.dates["heartbeats"].update(self._heartbeats.dates())
        sightings = self._sightings.stage(part_id)
        if isinstance(self._heartbeats, HeartbeatDaySink):
            heartbeats = self._heartbeats.stage(offset)
        else:
            heartbeats = self._heartbeats.stage(part_id)
        if before is not None:
            before(Published(sightings.finals, heartbeats.finals))
        heartbeat_files = self._heartbeats.publish(heartbeats)  # first: a stream's progress relies on the order
        published = Published(self._sightings.publish(sightings), heartbeat_files)
        self.pending_rows = 0
        return published

    def abort(self) -> None:
        """Drops the open part's temporary files."""
        self._sightings.abort()
        self._heartbeats.abort()
        self.pending_rows = 0

    def discard_sightings(self) -> int:
        """Drops the sightings written since the last commit; returns how many."""
        dropped = self.pending_rows
        self._sightings.abort()
        self.pending_rows = 0
        return dropped

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
            day = rows.take(dates.codes == code)
            if isinstance(self._heartbeats, HeartbeatDaySink):
                self._heartbeats.add(label, day)
            else:
                self._heartbeats.append(label, heartbeat_table(day, self.sensor, self._channels))
