"""`footfall collect`: captures in, pseudonymous sightings out, one report per capture.

A Collector serves one store and sensor. Making one only reads the settings;
start() (or `with`) does the start-up work: the salt keeper's (expired salts
destroyed, the opt-out list read, core dumps off, the HMAC helper forked) and the
removal of temporary parts that dead collectors left. Each capture then goes
through an engine (engine.py): a file here, read whole (capture_sources) and
published as one part; a stream or a live interface in stream_collect.py. A bad
capture gets a report with its error and the batch goes on; frames read before a
cut or a corrupt record are kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from footfall.collector.anonymiser import Anonymiser
from footfall.collector.capture_report import CaptureReport, already_collected
from footfall.collector.capture_sources import CaptureReader, CaptureSource, full_hash, quick_fingerprint
from footfall.collector.engine import CaptureEngine, Ending, RollPolicy
from footfall.collector.heartbeats import MinuteCounts
from footfall.collector.ingest_ledger import IngestLedger
from footfall.collector.parquet_sink import remove_stale_temporaries
from footfall.collector.part_writer import PartWriter
from footfall.collector.salt_keeper import SaltKeeper
from footfall.config import Settings
from footfall.errors import CaptureError

Progress = Callable[[int], None]


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
        self.keys = SaltKeeper(settings, store, clock)
        self.note = settings.unlisted(store, sensor)
        self.ledger = IngestLedger(settings.data_dir, store)

    def start(self) -> Collector:
        try:
            self.keys.start()
            remove_stale_temporaries(self.settings.data_dir, self.store)
        except BaseException:
            self.close()
            raise
        return self

    def __enter__(self) -> Collector:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.keys.close()

    @property
    def anonymiser(self) -> Anonymiser:
        return self.keys.anonymiser

    def engine(
        self,
        name: str,
        *,
        rolling: RollPolicy | None = None,
        channels: str | None = None,
        reports_drops: bool = False,
    ) -> CaptureEngine:
        """An engine for one capture. A rolling one (a stream, a live interface) publishes
        a part every `rolling.rows` sightings and writes zero heartbeats for the minutes
        it heard nothing."""
        minutes = MinuteCounts(fill_gaps=rolling is not None, reports_drops=reports_drops)
        writer = PartWriter(self.settings.data_dir, self.store, self.sensor, self.keys.calendar, minutes, channels)
        return CaptureEngine(name, keys=self.keys, writer=writer, ledger=self.ledger, force=self.force, rolling=rolling)

    def collect(self, source: CaptureSource, progress: Progress | None = None) -> CaptureReport:
        """One capture file (or standard input read to its end), published as one part."""
        started = time.perf_counter()
        try:
            report = self._seen_before(source) or self._collect(source, progress)
        except CaptureError as exc:
            report = CaptureReport(source.name, status="failed", error=str(exc))
        return replace(report, seconds=time.perf_counter() - started)

    def _seen_before(self, source: CaptureSource) -> CaptureReport | None:
        """A regular file whose fingerprint is in the ledger is hashed whole first, so
        a repeat costs one read, not a parse."""
        if self.force or source.path is None:
            return None
        fingerprint = quick_fingerprint(source.path)
        if fingerprint is None or not self.ledger.knows_fingerprint(fingerprint):
            return None
        content_hash = full_hash(source.path)
        earlier = self.ledger.find(content_hash)
        if earlier is None:
            return None
        warning = already_collected(self.store, earlier, withdrawn=False)
        return CaptureReport(source.name, status="duplicate", warnings=(warning,), content_hash=content_hash)

    def _collect(self, source: CaptureSource, progress: Progress | None) -> CaptureReport:
        engine = self.engine(source.name)
        try:
            with CaptureReader(source) as reader:
                try:
                    _read(reader, engine, progress)
                except CaptureError as exc:  # not an 802.11 capture: nothing is published
                    engine.abort()
                    return CaptureReport(source.name, status="failed", error=str(exc), compression=reader.compression)
                content_hash = reader.content_hash()
                ending = Ending(
                    content_hash,
                    compression=reader.compression,
                    fingerprint=quick_fingerprint(source.path) if source.path else None,
                    problem=reader.damaged,
                )
            return engine.finish(ending)
        except BaseException:
            engine.abort()
            raise


def _read(reader: CaptureReader, engine: CaptureEngine, progress: Progress | None) -> None:
    """Every chunk of the capture into the engine; pages the parser is done with are
    released (a memory-mapped file), and the progress bar follows the file."""

    def step(offset: int) -> None:
        reader.consumed(offset)
        if progress is not None:
            done = reader.position()
            progress(offset if done < 0 else done)

    for chunk in reader.chunks():
        if not engine.feed(chunk, step):
            return
