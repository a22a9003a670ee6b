"""`footfall collect`: captures in, pseudonymous sightings out, one report per capture.

Per capture: read (capture_sources) -> parse (probe_parser) -> pseudonymise
(anonymiser) -> write (parquet_sink) -> publish and record (ingest_ledger). Each
capture also leaves its sensor's heartbeat: frames and probes per minute. A bad
capture gets a report with its error and the batch goes on; frames read before a
cut or a corrupt record are kept.
"""

from __future__ import annotations

import contextlib
import resource
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from footfall.collector.anonymiser import Anonymiser
from footfall.collector.capture_sources import (
    CaptureReader,
    CaptureSource,
    damage_note,
    full_hash,
    quick_fingerprint,
)
from footfall.collector.equipment import EquipmentList
from footfall.collector.heartbeats import MinuteCounts, MinuteRows
from footfall.collector.ingest_ledger import IngestLedger
from footfall.collector.keyed_hash import HashHelper
from footfall.collector.optout import OptOutList
from footfall.collector.parquet_sink import (
    HEARTBEATS_WRITE_SCHEMA,
    PartitionedSink,
    SightingsSink,
    heartbeat_table,
    remove_stale_temporaries,
)
from footfall.collector.probe_parser import (
    MALFORMED,
    STATUS_FATAL,
    STATUS_FULL,
    SUPPORTED_LINKTYPES,
    ProbeBatch,
    ProbeParser,
)
from footfall.collector.salts import SaltStore
from footfall.config import Settings
from footfall.epochs import StoreCalendar
from footfall.errors import CaptureError

BATCH_ROWS = 1 << 18
Progress = Callable[[int], None]


@dataclass
class FileReport:
    """What one capture gave; rendered by the CLI, also handy for tests."""

    source: str
    status: str = "ok"  # ok | duplicate | failed
    format: str | None = None
    compression: str | None = None
    linktypes: list[str] = field(default_factory=list)
    frames: int = 0
    probes: int = 0
    probes_bad_ies: int = 0
    opted_out: int = 0
    equipment: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    malformed: Counter[str] = field(default_factory=Counter)
    devices: int = 0
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    dates: list[str] = field(default_factory=list)
    parts: list[Path] = field(default_factory=list)
    published: int | None = None  # a stream's part count (its parts are not listed)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    content_hash: str | None = None
    seconds: float = 0.0

    @property
    def kept(self) -> int:
        """Sightings written: probe requests minus opted-out devices and listed equipment."""
        return self.probes - self.opted_out - self.equipment

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def part_count(self) -> int:
        return len(self.parts) if self.published is None else self.published


class Collector:
    """Collects captures for one store and sensor; use as a context manager."""

    def __init__(
        self,
        settings: Settings,
        store: str,
        sensor: str,
        *,
        force: bool = False,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.sensor = sensor
        self.force = force
        store_settings = settings.store(store)
        self.note = settings.unlisted(store, sensor)
        privacy = settings.privacy
        self.salts = SaltStore(settings.secrets_dir, timedelta(hours=privacy.salt_grace_hours), clock)
        self.salts.destroy_expired()
        self.calendar = StoreCalendar(store_settings.timezone, privacy.epoch)
        self.optout = OptOutList(settings.secrets_dir, settings.optout_path)
        _no_core_dumps()
        self.hash_helper = HashHelper()  # forked now, before any thread exists
        self.anonymiser = Anonymiser(
            store, self.calendar, self.salts, self.optout, self.hash_helper, EquipmentList(store_settings.equipment)
        )
        self.ledger = IngestLedger(settings.data_dir, store)
        remove_stale_temporaries(settings.data_dir, store)

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.hash_helper.close()
        self.anonymiser.touch_salts()
        self.salts.destroy_expired()

    def collect(self, source: CaptureSource, progress: Progress | None = None) -> FileReport:
        report = FileReport(source.name)
        started = time.perf_counter()
        try:
            if not self._seen_before(source, report):
                self._collect(source, report, progress)
        except CaptureError as exc:
            report.status, report.error = "failed", str(exc)
        report.seconds = time.perf_counter() - started
        return report

    def _seen_before(self, source: CaptureSource, report: FileReport) -> bool:
        """A regular file whose fingerprint is in the ledger is hashed whole first, so
        a repeat costs one read, not a parse."""
        if self.force or source.path is None:
            return False
        fingerprint = quick_fingerprint(source.path)
        if fingerprint is None or not self.ledger.knows_fingerprint(fingerprint):
            return False
        content_hash = full_hash(source.path)
        return self._mark_duplicate(report, content_hash)

    def _mark_duplicate(self, report: FileReport, content_hash: str) -> bool:
        entry = self.ledger.find(content_hash)
        if entry is None:
            return False
        report.status = "duplicate"
        report.content_hash = content_hash
        when = entry.get("collected_at", "earlier")
        report.warnings.append(f"already collected for store {self.store!r} ({when}); skipped (use --force to redo)")
        return True

    def _collect(self, source: CaptureSource, report: FileReport, progress: Progress | None) -> None:
        parser = ProbeParser()
        sink = SightingsSink(self.settings.data_dir, self.store, self.sensor)
        heartbeats = PartitionedSink(self.settings.data_dir, "heartbeats", self.store, HEARTBEATS_WRITE_SCHEMA)
        minutes = MinuteCounts()
        devices: list[np.ndarray] = []
        opted_out_before = self.anonymiser.opted_out_frames
        equipment_before = self.anonymiser.equipment_frames
        first = last = None
        try:
            with CaptureReader(source) as reader:
                report.compression = reader.compression
                for batch in self._batches(reader, parser, report, progress):
                    minutes.add_runs(parser.take_minutes())
                    if len(batch) == 0:
                        continue
                    sightings = self.anonymiser.apply(batch)
                    sink.write(sightings)
                    devices.append(sightings.distinct_devices)
                    lo, hi = int(batch.ts_us.min()), int(batch.ts_us.max())
                    first = lo if first is None else min(first, lo)
                    last = hi if last is None else max(last, hi)
                content_hash = reader.content_hash()
            account(parser, report)
            check_outcome(parser, report, reader.damaged)
            if not self.force and self._mark_duplicate(report, content_hash):
                sink.abort()
                return
            minutes.add_runs(parser.take_minutes())
            append_heartbeats(heartbeats, self.calendar, minutes.take(), self.sensor)
            report.content_hash = content_hash
            report.dates = sink.dates()
            heartbeat_dates = heartbeats.dates()
            report.parts = sink.commit(content_hash[:16])
            heartbeats.commit(content_hash[:16])
        except BaseException:
            sink.abort()
            heartbeats.abort()
            raise
        report.opted_out = self.anonymiser.opted_out_frames - opted_out_before
        report.equipment = self.anonymiser.equipment_frames - equipment_before
        report.devices = len(np.unique(np.concatenate(devices))) if devices else 0
        report.first_ts = _datetime(first)
        report.last_ts = _datetime(last)
        if report.status == "ok" or report.parts:  # a capture that gave nothing may be retried
            self.ledger.record(
                {
                    "sha256": content_hash,
                    "fingerprint": quick_fingerprint(source.path) if source.path else None,
                    "sensor": self.sensor,
                    "collected_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "frames": report.frames,
                    "sightings": report.kept,
                    "dates": report.dates,
                    "heartbeat_dates": heartbeat_dates,  # frames may fall on days without a probe
                    "status": report.status,
                }
            )

    def _batches(
        self, reader: CaptureReader, parser: ProbeParser, report: FileReport, progress: Progress | None
    ) -> Iterator[ProbeBatch]:
        """Whole records from the stream; a record cut by a chunk end waits for the next chunk."""
        tail = b""
        for chunk in reader.chunks():
            data = memoryview(tail + bytes(chunk)) if tail else memoryview(chunk)
            pos = 0
            while True:
                result = parser.parse(data[pos:], max_rows=BATCH_ROWS)
                pos += result.consumed
                reader.consumed(parser.offset)
                check_linktype(parser, reader.source.name)
                yield result.batch
                if progress is not None:
                    done = reader.position()
                    progress(parser.offset if done < 0 else done)
                if result.status == STATUS_FATAL:
                    data.release()
                    return
                if result.status != STATUS_FULL:
                    break
            tail = bytes(data[pos:])
            data.release()
        if tail:
            report.warnings.append(
                f"the capture ends inside a record ({len(tail)} bytes cut off); every whole frame before it was kept"
            )


def check_linktype(parser: ProbeParser, name: str) -> None:
    """A pcap stream has one link type, known from its header: stop at once if it is not 802.11."""
    if parser.format == "pcap":
        (linktype,) = parser.linktypes
        if linktype not in SUPPORTED_LINKTYPES:
            raise CaptureError(f"{name}: {unsupported(linktype)}")


def account(parser: ProbeParser, report: FileReport) -> None:
    """The parser's counts into the report."""
    counters = parser.counters()
    report.format = parser.format if parser.format != "unknown" else None
    report.linktypes = sorted({SUPPORTED_LINKTYPES.get(lt, str(lt)) for lt in parser.linktypes})
    report.frames = counters["frames"]
    report.probes = counters["probes"]
    report.probes_bad_ies = counters["probes_bad_ies"]
    report.skipped = parser.skipped_by_kind()
    for key in ("unsupported_link", "no_timestamp"):
        if counters[key]:
            report.skipped[key.replace("_", " ")] += counters[key]
    report.malformed = Counter({MALFORMED[key]: counters[key] for key in MALFORMED if counters[key]})


def check_outcome(parser: ProbeParser, report: FileReport, damaged: str | None = None) -> None:
    """Marks the report failed when the capture gave nothing usable, and says why; a
    damaged compressed capture is told with what it gave before the damage."""
    name = report.source
    if parser.error:
        kept = f"; the {report.frames:,} frames before it were read" if report.frames else ""
        report.status, report.error = "failed", f"{name}: {parser.error}{kept}"
    elif parser.format == "unknown":
        why = damage_note(damaged, 0) if damaged else "empty, or too short to be a capture"
        report.status, report.error = "failed", f"{name}: {why}"
        return
    elif report.frames and report.skipped.get("unsupported link") == report.frames:
        linktype = parser.unsupported_linktype
        report.status, report.error = "failed", f"{name}: {unsupported(linktype or 0)}"
    if damaged:
        report.warnings.append(damage_note(damaged, report.frames))


def append_heartbeats(
    sink: PartitionedSink, calendar: StoreCalendar, rows: MinuteRows, sensor: str, channels: str | None = None
) -> None:
    """Heartbeat rows into the sink, split by the store's local date."""
    if len(rows) == 0:
        return
    dates = calendar.local_dates(rows.minute * 60_000_000)
    for code, label in enumerate(dates.labels):
        sink.append(label, heartbeat_table(rows.take(dates.codes == code), sensor, channels))


def _no_core_dumps() -> None:
    """Raw addresses live in this process's memory: a crash must not write them to a core file."""
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def unsupported(linktype: int) -> str:
    known = ", ".join(f"{number} ({name})" for number, name in sorted(SUPPORTED_LINKTYPES.items()))
    return f"unsupported link type {linktype}: footfall reads 802.11 captures with link types {known}"


def _datetime(ts_us: int | None) -> datetime | None:
    return None if ts_us is None else datetime.fromtimestamp(ts_us / 1e6, UTC)
