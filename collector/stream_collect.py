"""A collector that runs for months: a pcap stream or a live interface in, rolling parts out.

One code path for both: the source hands over capture bytes (a pcap stream as it
comes, or the packets of a live interface written as pcapng), and StreamCollector
parses them with the same C parser as the file mode, pseudonymises them, and
publishes rolling parts into the same Hive layout: a part every `roll_seconds` or
`roll_rows` sightings, each written whole and renamed into place, so the pipeline
can run while capture goes on and a crash loses at most the open part.

While it runs it also keeps:
- the heartbeat: frames, probe requests, malformed frames (and drops, where the OS
  reports them) per minute, with zeros for the minutes it heard nothing;
- the salts: an epoch that is over leaves memory (key and pseudonym caches: memory
  stays flat over days), its salt is marked used one last time and is destroyed one
  grace period later, while the collector goes on;
- the stop: SIGINT / SIGTERM end the loop, the bytes already waiting are collected,
  the open part is published, and the exit is clean.

Its clock (the SaltStore's) can be replaced, so a test drives days in seconds.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from footfall.collector.capture_sources import CaptureSource, damage_note
from footfall.collector.collect import (
    BATCH_ROWS,
    Collector,
    FileReport,
    account,
    append_heartbeats,
    check_linktype,
    check_outcome,
)
from footfall.collector.heartbeats import MinuteCounts
from footfall.collector.parquet_sink import (
    HEARTBEATS_WRITE_SCHEMA,
    PartitionedSink,
    SightingsSink,
    dataset_dir,
)
from footfall.collector.probe_parser import STATUS_FATAL, STATUS_FULL, ProbeBatch, ProbeParser
from footfall.collector.stream_sources import PipeSource
from footfall.errors import CaptureError

TICK_SECONDS = 0.25  # the longest a wait for bytes lasts before the clock is looked at
HOUSEKEEPING_SECONDS = 60.0  # salts touched and expired ones destroyed this often
RETIRE_AFTER = timedelta(minutes=2)  # late frames of an epoch (buffering senders) still find its key
QUIET_START_SECONDS = 60.0  # before the first frame, quiet minutes count only after this
MINUTE_US = 60_000_000

Log = Callable[[str], None]


@dataclass(frozen=True)
class RollPolicy:
    """When the open part is published: whichever comes first."""

    seconds: float = 60.0
    rows: int = 500_000


class ByteSource(Protocol):
    """What the loop reads: a pipe (stream_sources.PipeSource) or an interface (live_capture)."""

    name: str

    @property
    def compression(self) -> str | None: ...

    def read(self, timeout: float) -> bytes | None:
        """Capture bytes that arrived within `timeout` (b"" if none); None at the end."""

    def drain(self) -> bytes:
        """The bytes already received, on a stop request."""

    def drops(self) -> int | None:
        """Frames the capture dropped since the last call; None if the source cannot tell."""

    def problem(self) -> str | None:
        """Why the source ended early (damaged compressed data), if it did."""


class StreamCollector:
    """Parses, pseudonymises and publishes one endless capture stream."""

    def __init__(
        self,
        collector: Collector,
        name: str,
        policy: RollPolicy,
        *,
        channels: str | None = None,
        reports_drops: bool = False,
        log: Log | None = None,
    ) -> None:
        self.collector = collector
        self.name = name
        self.policy = policy
        self.channels = channels
        self.log = log or (lambda message: None)
        self.clock = collector.salts.now
        self.report = FileReport(name, published=0)
        self.parser = ProbeParser()
        data_dir, store = collector.settings.data_dir, collector.store
        self.sightings = SightingsSink(data_dir, store, collector.sensor)
        self.heartbeats = PartitionedSink(data_dir, "heartbeats", store, HEARTBEATS_WRITE_SCHEMA)
        self.minutes = MinuteCounts(fill_gaps=True, reports_drops=reports_drops)
        self.started = self.last_roll = self.last_housekeeping = self.clock()
        self.session = f"{self.started:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
        self.rolls = 0
        self.pending_rows = 0
        self.dates: dict[str, set[str]] = {"sightings": set(), "heartbeats": set()}
        self._recorded_dates: set[str] = set()  # dates whose provenance is in the ledger
        self._tail = b""
        self._hash = hashlib.sha256()
        self._stream_us: int | None = None  # capture time of the latest frame, in stream order
        self._stream_at: datetime | None = None  # and when it arrived, on the clock
        self._first_us: int | None = None
        self._last_us: int | None = None
        self._retired_devices = 0
        self._opted_out_before = collector.anonymiser.opted_out_frames
        self._equipment_before = collector.anonymiser.equipment_frames
        self._wall_start = time.perf_counter()
        self.log(
            f"collecting {name} for store {collector.store!r}, sensor {collector.sensor!r} into "
            f"{data_dir} (a part every {policy.seconds:g} s or {policy.rows:,} sightings); "
            "stop with Ctrl-C or SIGTERM"
        )

    # --- bytes in ---------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """The next bytes of the stream, cut anywhere: a record cut at the end waits for the rest."""
        if not data:
            return
        self._hash.update(data)
        view = memoryview(self._tail + data if self._tail else data)
        pos = 0
        try:
            while True:
                room = max(1, min(BATCH_ROWS, self.policy.rows - self.pending_rows))  # parts hold <= rows
                result = self.parser.parse(view[pos:], max_rows=room)
                pos += result.consumed
                check_linktype(self.parser, self.name)
                self._count_minutes()
                if len(result.batch):
                    self._write(result.batch)
                if result.status == STATUS_FATAL:
                    raise CaptureError(f"{self.name}: {self.parser.error}")
                if result.status != STATUS_FULL:
                    break
        finally:
            self._tail = bytes(view[pos:])
            view.release()

    def add_drops(self, count: int | None) -> None:
        """Frames the capture dropped (None: the source cannot tell), counted in the current minute."""
        if count:
            self.minutes.add_drops(self._now_us(self.clock()) // MINUTE_US, count)

    def _count_minutes(self) -> None:
        runs = self.parser.take_minutes()
        if len(runs):
            self.minutes.add_runs(runs)
            self._stream_us = int(runs["minute"][-1]) * MINUTE_US
            self._stream_at = self.clock()

    def _write(self, batch: ProbeBatch) -> None:
        sightings = self.collector.anonymiser.apply(batch)
        self.sightings.write(sightings)
        self.pending_rows += len(sightings)
        low, high = int(batch.ts_us.min()), int(batch.ts_us.max())
        self._first_us = low if self._first_us is None else min(self._first_us, low)
        self._last_us = high if self._last_us is None else max(self._last_us, high)
        if self.pending_rows >= self.policy.rows:
            self.roll()

    # --- the clock --------------------------------------------------------------------------

    def tick(self) -> None:
        """Called between reads: quiet minutes, epochs that are over, rolls, salts."""
        now = self.clock()
        stream_us = self._stream_now(now)
        if stream_us is not None:
            self.minutes.cover_until(stream_us // MINUTE_US)
            self._retire_epochs(stream_us)
        if (now - self.last_roll).total_seconds() >= self.policy.seconds:
            self.roll()
        if (now - self.last_housekeeping).total_seconds() >= HOUSEKEEPING_SECONDS:
            self._housekeeping(now)

    def _now_us(self, now: datetime) -> int:
        """The stream's own time now: its latest frame plus the time since it came (a
        replayed or remote stream has its own clock); before any frame, the clock."""
        if self._stream_us is not None and self._stream_at is not None:
            return self._stream_us + _us(now - self._stream_at)
        return _epoch_us(now)

    def _stream_now(self, now: datetime) -> int | None:
        """As _now_us, but before the first frame only once a start-up minute has passed
        quietly (a replay's first frames may be years from the clock)."""
        if self._stream_us is None and (now - self.started).total_seconds() < QUIET_START_SECONDS:
            return None
        return self._now_us(now)

    def _retire_epochs(self, stream_us: int) -> None:
        anonymiser = self.collector.anonymiser
        for label in anonymiser.epochs_in_use():
            epoch = anonymiser.calendar.epoch_of(label)
            if stream_us > _epoch_us(epoch.end + RETIRE_AFTER):
                self._retired_devices += anonymiser.retire(label)
                grace = self.collector.salts.grace.total_seconds() / 3600
                self.log(f"epoch {label} is over: its key left memory; its salt is destroyed {grace:g} h from now")

    def _housekeeping(self, now: datetime) -> None:
        self.last_housekeeping = now
        self.collector.anonymiser.touch_salts()
        for state in self.collector.salts.destroy_expired(now):
            self.log(f"salt of store {state.store!r}, epoch {state.epoch} destroyed")

    # --- parts out ----------------------------------------------------------------------------

    def roll(self) -> None:
        """Publishes the open part (sightings and heartbeats), if it holds anything."""
        collector = self.collector
        append_heartbeats(self.heartbeats, collector.calendar, self.minutes.take(), collector.sensor, self.channels)
        part_id = f"{self.session}-{self.rolls:06d}"
        self.dates["sightings"].update(self.sightings.dates())
        self.dates["heartbeats"].update(self.heartbeats.dates())
        published = self.sightings.commit(part_id)
        if published + self.heartbeats.commit(part_id):
            self.rolls += 1
        new_dates = (self.dates["sightings"] | self.dates["heartbeats"]) - self._recorded_dates
        if new_dates:
            collector.ledger.record_dates(collector.sensor, sorted(new_dates))
            self._recorded_dates |= new_dates
        self.report.published = (self.report.published or 0) + len(published)
        self.pending_rows = 0
        self.last_roll = self.clock()

    def abort(self) -> None:
        """Drops the open part's temporary files (after an unexpected error)."""
        self.sightings.abort()
        self.heartbeats.abort()

    def finish(self, *, stopped_by: str | None, error: str | None, source: ByteSource) -> FileReport:
        """Publishes what is open and says what the stream gave."""
        report = self.report
        stream_us = self._stream_now(self.clock())
        if stream_us is not None:
            self.minutes.cover_until(stream_us // MINUTE_US)
        self.roll()
        account(self.parser, report)
        report.compression = source.compression
        if error:
            report.status, report.error = "failed", error
        if not error and (stopped_by is None or self.parser.format != "unknown"):
            check_outcome(self.parser, report, source.problem())
        elif source.problem():
            report.warnings.append(damage_note(source.problem(), report.frames))
        if self._tail and stopped_by is None:
            cut = len(self._tail)
            report.warnings.append(f"the stream ends inside a record ({cut} bytes cut off); every whole frame was kept")
        if stopped_by:
            report.notes.append(f"stopped by {stopped_by}: every whole frame received was written")
        self._describe(report)
        if stopped_by is None and report.status == "ok":
            self._record(report)
        report.seconds = time.perf_counter() - self._wall_start
        return report

    def _describe(self, report: FileReport) -> None:
        anonymiser = self.collector.anonymiser
        report.opted_out = anonymiser.opted_out_frames - self._opted_out_before
        report.equipment = anonymiser.equipment_frames - self._equipment_before
        report.devices = self._retired_devices + sum(anonymiser.devices(e) for e in anonymiser.epochs_in_use())
        report.first_ts = _datetime(self._first_us)
        report.last_ts = _datetime(self._last_us)
        report.dates = sorted(self.dates["sightings"])

    def _record(self, report: FileReport) -> None:
        """A whole stream is a capture like a file: one already collected (as a file or
        a stream, by content) is withdrawn again, so sending it twice adds nothing."""
        if not report.frames:
            return  # a quiet stream (a capture header, no frame) is like any other: its heartbeats stay
        collector = self.collector
        content_hash = self._hash.hexdigest()
        report.content_hash = content_hash
        earlier = None if collector.force else collector.ledger.find(content_hash)
        if earlier is not None:
            self._withdraw()
            report.status, report.published, report.dates = "duplicate", 0, []
            when = earlier.get("collected_at", "earlier")
            report.warnings.append(
                f"already collected for store {collector.store!r} ({when}); its parts were withdrawn "
                "(use --force to keep them)"
            )
            return
        collector.ledger.record(
            {
                "sha256": content_hash,
                "fingerprint": None,
                "sensor": collector.sensor,
                "collected_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "frames": report.frames,
                "sightings": report.kept,
                "dates": report.dates,
                "status": report.status,
            }
        )

    def _withdraw(self) -> None:
        settings, store = self.collector.settings, self.collector.store
        for dataset, dates in self.dates.items():
            for date in dates:
                for part in dataset_dir(settings.data_dir, dataset, store, date).glob(f"part-{self.session}-*.parquet"):
                    part.unlink(missing_ok=True)


class StopSignals:
    """SIGINT and SIGTERM ask the loop to stop (they do not interrupt a write). The
    wake-up descriptor becomes readable on a signal, so a wait on input ends at once."""

    def __init__(self) -> None:
        self.received: str | None = None
        self.fileno: int | None = None
        self._previous: dict[int, object] = {}
        self._previous_wakeup = -1
        self._pipe: tuple[int, int] | None = None

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is not threading.main_thread():
            return self
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        os.set_blocking(write_end, False)
        self._pipe = (read_end, write_end)
        self.fileno = read_end
        self._previous_wakeup = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        for number in (signal.SIGINT, signal.SIGTERM):
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def _handle(self, number: int, frame: object) -> None:
        self.received = self.received or signal.Signals(number).name

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]
        if self._pipe is not None:
            signal.set_wakeup_fd(self._previous_wakeup)
            for fd in self._pipe:
                os.close(fd)


def run_stream(engine: StreamCollector, source: ByteSource, stop: StopSignals) -> FileReport:
    """Reads until the end of the stream or a stop signal; returns the report."""
    error = None
    try:
        while stop.received is None:
            data = source.read(TICK_SECONDS)
            if data is None:
                break
            engine.feed(data)
            engine.add_drops(source.drops())
            engine.tick()
        if stop.received is not None:
            engine.feed(source.drain())
            engine.add_drops(source.drops())
    except CaptureError as exc:
        error = str(exc)
    except BaseException:
        engine.abort()
        raise
    try:
        return engine.finish(stopped_by=stop.received, error=error, source=source)
    except BaseException:
        engine.abort()
        raise


def collect_stream(
    collector: Collector, source: CaptureSource, policy: RollPolicy, stop: StopSignals, log: Log | None = None
) -> FileReport:
    """Standard input or a FIFO, until its end or a stop signal."""
    if source.path is None:
        pipe = PipeSource(sys.stdin.fileno(), source.name, stop.fileno)
    else:
        pipe = PipeSource.open_fifo(source.path, source.name, stop.fileno)
    try:
        return run_stream(StreamCollector(collector, source.name, policy, log=log), pipe, stop)
    finally:
        pipe.close()


def is_stream(source: CaptureSource) -> bool:
    """Standard input, or a FIFO: read as an endless stream with rolling parts."""
    if source.path is None:
        return True
    try:
        return stat.S_ISFIFO(source.path.stat().st_mode)
    except OSError:
        return False


def _us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _epoch_us(moment: datetime) -> int:
    return _us(moment - datetime(1970, 1, 1, tzinfo=UTC))


def _datetime(ts_us: int | None) -> datetime | None:
    return None if ts_us is None else datetime.fromtimestamp(ts_us / 1e6, UTC)
