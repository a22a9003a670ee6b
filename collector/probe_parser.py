"""Probe requests from a capture byte stream, as numpy columns.

A thin layer over the C walker in `_probes.c` (pcap and pcapng, radiotap / PPI /
Prism / AVS / bare 802.11). The raw MAC column exists only in these batches, in
memory; the anonymiser replaces it before anything is written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from footfall.collector import _probes

SUPPORTED_LINKTYPES = {105: "802.11", 119: "Prism", 127: "radiotap", 163: "AVS", 192: "PPI"}

# the order of the C counters
COUNTER_NAMES = (
    "frames",
    "probes",
    "probes_bad_ies",
    "bad_radio_header",
    "short_frame",
    "bad_fcs",
    "bad_80211_version",
    "unsupported_link",
    "no_timestamp",
    "other_blocks",
    "bad_timestamp",
    "oversized",
)
MALFORMED = {
    "bad_radio_header": "radio header length past the frame or inconsistent",
    "short_frame": "frame shorter than its 802.11 header",
    "bad_fcs": "frame check sequence failed",
    "bad_80211_version": "not 802.11 protocol version 0",
    "bad_timestamp": "timestamp before 1970 or after 2199",
    "oversized": "record longer than any 802.11 frame (256 KiB)",
}

_MANAGEMENT = {
    0: "association request",
    1: "association response",
    2: "reassociation request",
    3: "reassociation response",
    5: "probe response",
    6: "timing advertisement",
    8: "beacon",
    9: "ATIM",
    10: "disassociation",
    11: "authentication",
    12: "deauthentication",
    13: "action",
    14: "action no-ack",
}
_TYPES = {1: "control", 2: "data", 3: "extension"}

F_HAS_RSSI = 0x01
F_DIRECTED = 0x02
F_BAD_IES = 0x04

STATUS_NEED_MORE, STATUS_FULL, STATUS_FATAL = 0, 1, 2

MINUTE_RUN = np.dtype(
    {
        "names": ["minute", "frames", "probes", "malformed"],
        "formats": ["<i8", "<u4", "<u4", "<u4"],
        "offsets": [0, 8, 12, 16],
        "itemsize": 24,
    }
)

# The smallest record that can hold a probe request: a 16-byte pcap record header
# and a 24-byte 802.11 header. Sizing the output by it means one call per buffer.
_MIN_PROBE_RECORD = 40


def kind_name(index: int) -> str:
    frame_type, subtype = divmod(index, 16)
    if frame_type == 0:
        return _MANAGEMENT.get(subtype, "other management")
    return _TYPES[frame_type]


@dataclass
class ProbeBatch:
    """One row per probe request. `mac` holds raw addresses: memory only."""

    ts_us: np.ndarray  # int64, UTC microseconds
    mac: np.ndarray  # uint64, the 48-bit transmitter address
    rssi: np.ndarray  # int8 dBm, valid where has_rssi
    freq: np.ndarray  # uint16 MHz, 0 where the radio header has no channel
    seq: np.ndarray  # uint16, 802.11 sequence number
    flags: np.ndarray  # uint8, F_* bits
    layout: np.ndarray  # uint64, unkeyed signature of the element layout: memory only

    def __len__(self) -> int:
        return len(self.ts_us)

    @property
    def has_rssi(self) -> np.ndarray:
        return (self.flags & F_HAS_RSSI) != 0

    @property
    def directed(self) -> np.ndarray:
        return (self.flags & F_DIRECTED) != 0

    @property
    def randomized(self) -> np.ndarray:
        """The locally-administered bit of the first octet."""
        return ((self.mac >> np.uint64(41)) & np.uint64(1)).astype(bool)

    def take(self, rows: np.ndarray) -> ProbeBatch:
        return ProbeBatch(*(getattr(self, name)[rows] for name in self.__dataclass_fields__))


@dataclass(frozen=True)
class ParseResult:
    consumed: int
    batch: ProbeBatch
    status: int


class ProbeParser:
    """Incremental parser for one capture stream; feed it the stream in order."""

    def __init__(self) -> None:
        self._parser = _probes.Parser()

    def parse(self, data: bytes | bytearray | memoryview, max_rows: int | None = None) -> ParseResult:
        """Parses the whole records at the start of `data` (the stream continuing
        where the last call stopped); returns how many bytes it used."""
        capacity = max(len(data) // _MIN_PROBE_RECORD + 1, 1)
        if max_rows is not None:
            capacity = min(capacity, max_rows)
        columns = (
            np.empty(capacity, np.int64),
            np.empty(capacity, np.uint64),
            np.empty(capacity, np.int8),
            np.empty(capacity, np.uint16),
            np.empty(capacity, np.uint16),
            np.empty(capacity, np.uint8),
            np.empty(capacity, np.uint64),
        )
        consumed, rows, status = self._parser.parse(data, *columns)
        batch = ProbeBatch(*(column[:rows] for column in columns))
        return ParseResult(consumed, batch, status)

    @property
    def error(self) -> str | None:
        return self._parser.error

    @property
    def format(self) -> str:
        return self._parser.format

    @property
    def linktypes(self) -> tuple[int, ...]:
        return self._parser.linktypes

    @property
    def unsupported_linktype(self) -> int | None:
        return self._parser.unsupported_linktype

    @property
    def offset(self) -> int:
        return self._parser.offset

    def take_minutes(self) -> np.ndarray:
        """Frames, probe requests and malformed frames per UTC minute (minute = ts_us //
        60e6) parsed since the last call: the sensor's heartbeat. A minute may appear
        more than once."""
        return np.frombuffer(self._parser.take_minutes(), dtype=MINUTE_RUN)

    def counters(self) -> dict[str, int]:
        return dict(zip(COUNTER_NAMES, self._parser.counters(), strict=True))

    def skipped_by_kind(self) -> Counter[str]:
        kinds: Counter[str] = Counter()
        for index, count in enumerate(self._parser.kinds()):
            if count:
                kinds[kind_name(index)] += count
        return kinds
