"""One capture through the collector: bytes in, parts out, one report at the end.

A file (collect.py) and a stream or a live interface (stream_collect.py) drive the
same engine; only when they feed it, roll it and finish it differs:

    feed(bytes)   parse the whole records (a record cut at the end waits for the
                  rest), pseudonymise the probe requests, write them to the open part
                  and count the heartbeat minutes; a rolling capture publishes a part
                  whenever it holds its row limit
    roll()        a rolling capture (a stream) publishes its open part now
    finish(end)   judge the outcome once; a capture already collected (by content) is
                  withdrawn, anything else is published and, when whole, entered in
                  the ingest ledger; returns the report

Its collaborators do one thing each: the SaltKeeper holds the keys (salts,
anonymiser), the PartWriter the open part, the IngestLedger what was collected,
the StreamClock the stream's own time; the report is built from immutable counts
at the end (capture_report.py). Each batch of probe requests passes through
_write(), each part through _publish(), each ledger entry through _record(): one
place each.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from footfall.collector.capture_report import (
    CaptureReport,
    Parsed,
    Span,
    already_collected,
    cut_short,
    damaged,
    failure,
    unsupported,
)
from footfall.collector.ingest_ledger import IngestLedger
from footfall.collector.part_writer import PartWriter
from footfall.collector.probe_parser import STATUS_FATAL, STATUS_FULL, SUPPORTED_LINKTYPES, ProbeBatch, ProbeParser
from footfall.collector.salt_keeper import SaltKeeper
from footfall.epochs import utc_us
from footfall.errors import CaptureError

BATCH_ROWS = 1 << 18  # probe requests parsed, pseudonymised and written at a time
MINUTE_US = 60_000_000
QUIET_START_SECONDS = 60.0  # before a stream's first frame, quiet minutes count only after this

Step = Callable[[int], None]


@dataclass(frozen=True)
class RollPolicy:
    """When a running capture's open part is published: whichever comes first."""

    seconds: float = 60.0
    rows: int = 500_000


@dataclass(frozen=True)
class Ending:
    """How a capture ended, as its driver saw it."""

    content_hash: str  # SHA-256 of the capture's (decompressed) bytes, as far as they were read
    compression: str | None = None
    fingerprint: str | None = None  # a regular file's quick fingerprint (capture_sources)
    problem: str | None = None  # why the source ended early (damaged compressed data)
    stopped_by: str | None = None  # the signal that stopped a stream
    error: str | None = None  # why the reading stopped (CaptureError)

    @property
    def whole(self) -> bool:
        """The capture was read to its end (a stopped or failed stream was not)."""
        return self.stopped_by is None and self.error is None


class StreamClock:
    """The capture's own time. A replayed or remote stream has its own clock: its time
    now is its latest frame's minute plus the time since that frame came."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.now = clock
        self.started = clock()
        self._frame_us: int | None = None
        self._frame_at: datetime | None = None

    def heard(self, frame_us: int) -> None:
        self._frame_us = frame_us
        self._frame_at = self.now()

    def now_us(self, now: datetime) -> int:
        """The stream's time now; before any frame, the clock's."""
        if self._frame_us is not None and self._frame_at is not None:
            return self._frame_us + utc_us(now) - utc_us(self._frame_at)
        return utc_us(now)

    def listening_until(self, now: datetime) -> int | None:
        """As now_us, but before the first frame only once a start-up minute has passed
        quietly (a replay's first frames may be years from the clock)."""
        if self._frame_us is None and (now - self.started).total_seconds() < QUIET_START_SECONDS:
            return None
        return self.now_us(now)


class DeviceTally:
    """Distinct pseudonyms of one capture, per epoch. A pseudonym belongs to one epoch,
    so the capture's count is the sum of the epochs'; an epoch that is over is reduced
    to its count, so a stream's memory stays flat over months."""

    COMPACT_ARRAYS = 256  # batches kept before they are merged into one distinct array

    def __init__(self) -> None:
        self._open: dict[str, list[np.ndarray]] = {}
        self._closed = 0

    def add(self, per_epoch: dict[str, np.ndarray]) -> None:
        for label, devices in per_epoch.items():
            arrays = self._open.setdefault(label, [])
            arrays.append(devices)
            if len(arrays) >= self.COMPACT_ARRAYS:
                arrays[:] = [np.unique(np.concatenate(arrays))]

    def close(self, label: str) -> None:
        self._closed += _distinct(self._open.pop(label, []))

    @property
    def count(self) -> int:
        return self._closed + sum(_distinct(arrays) for arrays in self._open.values())


class CaptureEngine:
    """One capture or stream, for one store and sensor (made by Collector.engine())."""

    def __init__(
        self,
        name: str,
        *,
        keys: SaltKeeper,
        writer: PartWriter,
        ledger: IngestLedger,
        force: bool = False,
        rolling: RollPolicy | None = None,
    ) -> None:
        self.name = name
        self.clock = StreamClock(keys.now)
        self.session = f"{self.clock.started:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}" if rolling else None
        """A rolling capture's parts are named after its session and roll number; a
        file's after its content hash (collecting it again replaces them)."""
        self.committed_at = self.clock.started
        self._keys = keys
        self._writer = writer
        self._ledger = ledger
        self._force = force
        self._part_rows = rolling.rows if rolling else None
        self._parser = ProbeParser()
        self._tail = b""
        self._fatal = False
        self._span = Span()
        self._devices = DeviceTally()
        self._filtered_before = keys.filtered
        self._rolls = 0
        self._part_count = 0
        self._recorded_dates: set[str] = set()
        self._wall_start = time.perf_counter()

    # --- bytes in ---------------------------------------------------------------------------

    def feed(self, data: bytes | memoryview, step: Step | None = None) -> bool:
        """The capture's next bytes, cut anywhere. `step` is called after each batch with
        the parser's offset in the capture. Returns False once the capture cannot be read
        on (bytes that are not a capture: the parser's error is in `unreadable`)."""
        if self._fatal:
            return False
        if not len(data):
            return True
        view = memoryview(self._tail + bytes(data)) if self._tail else memoryview(data)
        pos = 0
        try:
            while True:
                result = self._parser.parse(view[pos:], max_rows=self._room())
                pos += result.consumed
                self._check_linktype()
                self._count_minutes()
                if len(result.batch):
                    self._write(result.batch)
                if step is not None:
                    step(self._parser.offset)
                if result.status == STATUS_FATAL:
                    self._fatal = True
                    return False
                if result.status != STATUS_FULL:
                    return True
        finally:
            self._tail = b"" if self._fatal else bytes(view[pos:])
            view.release()

    @property
    def unreadable(self) -> str | None:
        """Why the parser stopped, once it has."""
        return self._parser.error if self._fatal else None

    def add_drops(self, count: int) -> None:
        """Frames the capture dropped, counted in the stream's current minute."""
        self._writer.minutes.add_drops(self.clock.now_us(self.clock.now()) // MINUTE_US, count)

    def cover_until(self, stream_us: int) -> None:
        """The capture was listening up to this time: quiet minutes get zero heartbeats."""
        self._writer.minutes.cover_until(stream_us // MINUTE_US)

    def retire_ended(self, stream_us: int, after: timedelta) -> list[str]:
        """Epochs over at this stream time leave memory (SaltKeeper.retire_ended)."""
        retired = self._keys.retire_ended(stream_us, after)
        for label in retired:
            self._devices.close(label)
        return retired

    def _room(self) -> int:
        """Rows the next batch may hold: a rolling capture's parts hold at most its limit."""
        if self._part_rows is None:
            return BATCH_ROWS
        return max(1, min(BATCH_ROWS, self._part_rows - self._writer.pending_rows))

    def _check_linktype(self) -> None:
        """A pcap has one link type, known from its header: stop at once if it is not 802.11."""
        if self._parser.format == "pcap":
            (linktype,) = self._parser.linktypes
            if linktype not in SUPPORTED_LINKTYPES:
                raise CaptureError(f"{self.name}: {unsupported(linktype)}")

    def _count_minutes(self) -> None:
        runs = self._parser.take_minutes()
        if len(runs):
            self._writer.minutes.add_runs(runs)
            self.clock.heard(int(runs["minute"][-1]) * MINUTE_US)

    def _write(self, batch: ProbeBatch) -> None:
        sightings = self._keys.pseudonymise(batch)
        self._writer.write(sightings)
        self._devices.add(sightings.distinct_devices)
        self._span = self._span.including(batch.ts_us)
        if self._part_rows is not None and self._writer.pending_rows >= self._part_rows:
            self.roll()

    # --- parts out ----------------------------------------------------------------------------

    def roll(self) -> None:
        """Publishes a rolling capture's open part, if it holds anything."""
        assert self.session is not None, "a file is published whole, when it ends"
        self._publish(f"{self.session}-{self._rolls:06d}")

    def _publish(self, part_id: str) -> list[Path]:
        published = self._writer.commit(part_id)
        if published:
            self._rolls += 1
        self._part_count += len(published.sightings)
        self.committed_at = self.clock.now()
        if self.session is not None:
            self._record_new_dates()
        return published.sightings

    def _record_new_dates(self) -> None:
        """A running capture's ledger entry comes at its end: meanwhile, each new local
        date it wrote is recorded, so that retention knows who wrote it and when."""
        dates = set().union(*self._writer.dates.values()) - self._recorded_dates
        if dates:
            self._ledger.record_dates(self._writer.sensor, sorted(dates))
            self._recorded_dates |= dates

    def abort(self) -> None:
        """Drops the open part's temporary files (after an unexpected error)."""
        self._writer.abort()

    def finish(self, ending: Ending) -> CaptureReport:
        """Publishes what is open (or withdraws a capture collected before) and says what
        the capture gave."""
        parsed = Parsed.of(self._parser)
        error = failure(
            self.name, parsed, error=ending.error, stopped=ending.stopped_by is not None, problem=ending.problem
        )
        status = "ok" if error is None else "failed"
        warnings, notes = self._remarks(ending, parsed, error)
        filtered = self._keys.filtered - self._filtered_before
        recordable = self._recordable(ending, parsed, status)
        earlier = None if self._force or not recordable else self._ledger.find(ending.content_hash)
        if earlier is not None:
            self._withdraw()
            status, parts, dates = "duplicate", [], ()
            warnings.append(already_collected(self._ledger.store, earlier, withdrawn=self.session is not None))
        else:
            parts = self._publish(self._part_id(ending))
            dates = tuple(sorted(self._writer.dates["sightings"]))
            if recordable:
                self._record(ending, parsed, status, parsed.probes - filtered.total)
        return CaptureReport(
            source=self.name,
            status=status,
            error=error,
            warnings=tuple(warnings),
            notes=tuple(notes),
            compression=ending.compression,
            parsed=parsed,
            filtered=filtered,
            devices=self._devices.count,
            span=self._span,
            content_hash=ending.content_hash,
            dates=dates,
            parts=parts,
            part_count=self._part_count,
            seconds=time.perf_counter() - self._wall_start,
        )

    def _part_id(self, ending: Ending) -> str:
        return f"{self.session}-{self._rolls:06d}" if self.session else ending.content_hash[:16]

    def _remarks(self, ending: Ending, parsed: Parsed, error: str | None) -> tuple[list[str], list[str]]:
        warnings, notes = [], []
        if self._tail and ending.stopped_by is None:
            warnings.append(cut_short("stream" if self.session else "capture", len(self._tail)))
        if ending.problem and not (error and ending.problem in error):  # not said twice
            warnings.append(damaged(ending.problem, parsed.frames))
        if ending.stopped_by:
            notes.append(f"stopped by {ending.stopped_by}: every whole frame received was written")
        return warnings, notes

    def _recordable(self, ending: Ending, parsed: Parsed, status: str) -> bool:
        """A capture read whole that gave something goes into the ledger (a failed one
        too if it wrote sightings before the failure). A capture without a single frame
        whose quiet minutes are its heartbeat (a stream's) is not: another quiet stream
        has the same bytes, and its heartbeats must stay."""
        gave = status == "ok" or self._part_count > 0 or self._writer.pending_rows > 0
        quiet = parsed.frames == 0 and self._writer.minutes.fill_gaps
        return ending.whole and gave and not quiet

    def _withdraw(self) -> None:
        """Nothing of a capture collected before stays: the open part is dropped, and a
        stream's parts published while it ran are deleted."""
        self.abort()
        if self.session is not None:
            self._writer.withdraw(self.session)
        self._part_count = 0

    def _record(self, ending: Ending, parsed: Parsed, status: str, kept: int) -> None:
        self._ledger.record_capture(
            ending.content_hash,
            fingerprint=ending.fingerprint,
            sensor=self._writer.sensor,
            frames=parsed.frames,
            sightings=kept,
            dates=sorted(self._writer.dates["sightings"]),
            heartbeat_dates=sorted(self._writer.dates["heartbeats"]),
            status=status,
        )


def _distinct(arrays: list[np.ndarray]) -> int:
    return len(np.unique(np.concatenate(arrays))) if arrays else 0
