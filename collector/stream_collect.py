"""A collector that runs for months: a pcap stream or a live interface in, rolling parts out.

One code path for both: the source hands over capture bytes (a pcap stream as it
comes, or the packets of a live interface written as pcapng), and StreamCollector
feeds them to the same engine as the file mode (engine.py: the C parser, the
anonymiser, the parts), rolling: a part every `roll_seconds` or `roll_rows`
sightings, each written whole and renamed into place, so the pipeline can run
while capture goes on and a crash loses at most the open part.

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
import signal
import stat
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from footfall.collector.capture_report import CaptureReport
from footfall.collector.capture_sources import CaptureSource
from footfall.collector.collect import Collector
from footfall.collector.engine import Ending, RollPolicy
from footfall.collector.stream_sources import PipeSource
from footfall.errors import CaptureError

TICK_SECONDS = 0.25  # the longest a wait for bytes lasts before the clock is looked at
HOUSEKEEPING_SECONDS = 60.0  # salts touched and expired ones destroyed this often
RETIRE_AFTER = timedelta(minutes=2)  # late frames of an epoch (buffering senders) still find its key

Log = Callable[[str], None]


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
    """Drives the collector's engine (engine.py) through one endless capture stream: the
    bytes as they come (hashed: a whole stream is a capture like a file), the clock
    between reads (quiet minutes, epochs that are over, rolls, salts), and the end."""

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
        self.name = name
        self.policy = policy
        self.log = log or (lambda message: None)
        self.keys = collector.keys
        self.engine = collector.engine(name, rolling=policy, channels=channels, reports_drops=reports_drops)
        self.clock = self.engine.clock
        self.last_housekeeping = self.clock.started
        self._hash = hashlib.sha256()
        self.log(
            f"collecting {name} for store {collector.store!r}, sensor {collector.sensor!r} into "
            f"{collector.settings.data_dir} (a part every {policy.seconds:g} s or {policy.rows:,} sightings); "
            "stop with Ctrl-C or SIGTERM"
        )

    def feed(self, data: bytes) -> None:
        """The next bytes of the stream, cut anywhere."""
        self._hash.update(data)
        if not self.engine.feed(data):
            raise CaptureError(f"{self.name}: {self.engine.unreadable}")

    def add_drops(self, count: int | None) -> None:
        """Frames the capture dropped (None: the source cannot tell)."""
        if count:
            self.engine.add_drops(count)

    def tick(self) -> None:
        """Called between reads: quiet minutes, epochs that are over, rolls, salts."""
        now = self.clock.now()
        stream_us = self.clock.listening_until(now)
        if stream_us is not None:
            self.engine.cover_until(stream_us)
            for label in self.engine.retire_ended(stream_us, RETIRE_AFTER):
                grace = self.keys.salts.grace.total_seconds() / 3600
                self.log(f"epoch {label} is over: its key left memory; its salt is destroyed {grace:g} h from now")
        if (now - self.engine.committed_at).total_seconds() >= self.policy.seconds:
            self.engine.roll()
        if (now - self.last_housekeeping).total_seconds() >= HOUSEKEEPING_SECONDS:
            self._housekeeping(now)

    def _housekeeping(self, now: datetime) -> None:
        self.last_housekeeping = now
        for state in self.keys.housekeeping(now):
            self.log(f"salt of store {state.store!r}, epoch {state.epoch} destroyed")

    def abort(self) -> None:
        """Drops the open part's temporary files (after an unexpected error)."""
        self.engine.abort()

    def finish(self, *, stopped_by: str | None, error: str | None, source: ByteSource) -> CaptureReport:
        """Publishes what is open and says what the stream gave."""
        stream_us = self.clock.listening_until(self.clock.now())
        if stream_us is not None:
            self.engine.cover_until(stream_us)
        ending = Ending(
            self._hash.hexdigest(),
            compression=source.compression,
            problem=source.problem(),
            stopped_by=stopped_by,
            error=error,
        )
        return self.engine.finish(ending)


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


def run_stream(engine: StreamCollector, source: ByteSource, stop: StopSignals) -> CaptureReport:
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
) -> CaptureReport:
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
