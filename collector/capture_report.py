"""What one capture (a file, or a stream for as long as it ran) gave: built once, at its end.

While a capture runs, the engine (engine.py) keeps only counters that cannot
disagree with each other: the parser's own, the anonymiser's drops before and
after, the span of capture times, the distinct pseudonyms per epoch. At the end
they are read once into immutable values (Parsed, Filtered, Span), the outcome is
judged once (`failure`), and the report is made from them, never changed
afterwards. The CLI renders it (footfall/collect_summary.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from footfall.collector.anonymiser import Filtered
from footfall.collector.probe_parser import MALFORMED, SUPPORTED_LINKTYPES, ProbeParser
from footfall.epochs import utc_datetime


@dataclass(frozen=True)
class Parsed:
    """What the parser made of the capture's bytes: a snapshot of its counters."""

    format: str | None = None  # pcap | pcapng; None: not recognised (yet)
    linktypes: tuple[str, ...] = ()
    frames: int = 0
    probes: int = 0
    probes_bad_ies: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # by frame kind
    malformed: Counter[str] = field(default_factory=Counter)  # by reason
    error: str | None = None  # why the parser could not go on, if it could not
    unsupported_linktype: int | None = None

    @classmethod
    def of(cls, parser: ProbeParser) -> Parsed:
        counters = parser.counters()
        skipped = parser.skipped_by_kind()
        for key in ("unsupported_link", "no_timestamp"):
            if counters[key]:
                skipped[key.replace("_", " ")] += counters[key]
        return cls(
            format=parser.format if parser.format != "unknown" else None,
            linktypes=tuple(sorted({SUPPORTED_LINKTYPES.get(lt, str(lt)) for lt in parser.linktypes})),
            frames=counters["frames"],
            probes=counters["probes"],
            probes_bad_ies=counters["probes_bad_ies"],
            skipped=skipped,
            malformed=Counter({MALFORMED[key]: counters[key] for key in MALFORMED if counters[key]}),
            error=parser.error,
            unsupported_linktype=parser.unsupported_linktype,
        )


@dataclass(frozen=True)
class Span:
    """The capture times of the first and the last probe request, in UTC microseconds."""

    first_us: int | None = None
    last_us: int | None = None

    def including(self, ts_us: np.ndarray) -> Span:
        low, high = int(ts_us.min()), int(ts_us.max())
        if self.first_us is None or self.last_us is None:
            return Span(low, high)
        return Span(min(self.first_us, low), max(self.last_us, high))

    @property
    def first(self) -> datetime | None:
        return utc_datetime(self.first_us)

    @property
    def last(self) -> datetime | None:
        return utc_datetime(self.last_us)


@dataclass(frozen=True)
class CaptureReport:
    """One capture's result; rendered by the CLI, also handy for tests."""

    source: str
    status: str = "ok"  # ok | duplicate | failed
    error: str | None = None
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    compression: str | None = None
    parsed: Parsed = field(default_factory=Parsed)
    filtered: Filtered = field(default_factory=Filtered)
    devices: int = 0  # distinct pseudonyms (each epoch's count its own)
    span: Span = field(default_factory=Span)
    content_hash: str | None = None
    dates: tuple[str, ...] = ()  # local dates that received sightings
    parts: list[Path] = field(default_factory=list)  # the sightings parts of the last commit (a file's: all)
    part_count: int = 0  # every sightings part published (a stream publishes one or more a roll)
    seconds: float = 0.0

    @property
    def frames(self) -> int:
        return self.parsed.frames

    @property
    def kept(self) -> int:
        """Sightings written: probe requests minus opted-out devices and listed equipment."""
        return self.parsed.probes - self.filtered.total

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def failure(
    name: str, parsed: Parsed, *, error: str | None = None, stopped: bool = False, problem: str | None = None
) -> str | None:
    """Why the capture failed, or None: an error that stopped the reading, bytes that
    are not a capture, nothing at all (unless a stop came before the first byte; when
    compressed data was damaged before the first frame, that is what is said), or
    frames of a link type footfall does not read."""
    if error:
        return error
    if stopped and parsed.format is None:
        return None
    if parsed.error:
        kept = f"; the {parsed.frames:,} frames before it were read" if parsed.frames else ""
        return f"{name}: {parsed.error}{kept}"
    if parsed.format is None:
        return f"{name}: {damaged(problem, 0)}" if problem else f"{name}: empty, or too short to be a capture"
    if parsed.frames and parsed.skipped.get("unsupported link") == parsed.frames:
        return f"{name}: {unsupported(parsed.unsupported_linktype or 0)}"
    return None


def unsupported(linktype: int) -> str:
    known = ", ".join(f"{number} ({name})" for number, name in sorted(SUPPORTED_LINKTYPES.items()))
    return f"unsupported link type {linktype}: footfall reads 802.11 captures with link types {known}"


def cut_short(kind: str, cut: int) -> str:
    return f"the {kind} ends inside a record ({cut} bytes cut off); every whole frame before it was kept"


def damaged(problem: str, frames: int) -> str:
    """What a damaged compressed capture gave: the frames before the damage, or none."""
    if frames:
        return f"{problem}; the {frames:,} frames before the damage were kept"
    return f"{problem}, before its first whole frame"


def already_collected(store: str, earlier: dict[str, Any], *, withdrawn: bool) -> str:
    when = earlier.get("collected_at", "earlier")
    if withdrawn:
        return f"already collected for store {store!r} ({when}); its parts were withdrawn (use --force to keep them)"
    return f"already collected for store {store!r} ({when}); skipped (use --force to redo)"
