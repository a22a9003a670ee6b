"""Recognising personal data in bytes: MAC addresses in any spelling, their raw
bytes, unkeyed hashes of them, and network names (SSIDs).

Without a capture to compare with, only what is MAC-like by its form can be found:
an address written with separators (`aa:bb:cc:dd:ee:ff`, `AA-BB-...`,
`aabb.ccdd.eeff`) or as a lone 12-hex-digit word with at least one letter. With the
addresses and SSIDs of the captures the operator passes (`--against`), every
spelling of those addresses is found, inside longer hex runs too, as are their raw 6
bytes, their SHA-256 / SHA-1 / MD5 (of the bytes or of the usual text spellings),
whole or truncated to as little as 6 bytes, the SSIDs, and (in logs) 4 or 5 bytes of
an address printed as a number. Nothing here keeps or
returns a matched value: callers get rule names and counts only.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable

import numpy as np

from footfall.privacy.capture_secrets import NOBODY, CaptureSecrets

MAC_TEXT = "mac-text"
MAC_BYTES = "mac-bytes"
MAC_NUMBER = "mac-number"
SSID = "ssid"
UNKEYED = "unkeyed-hash"

DIGESTS = ("sha256", "sha1", "md5")
MIN_DIGEST_BYTES = 6  # a truncated hash shorter than this matches by chance
SMALLEST_MAC_INTEGER = 1 << 32  # below, a MAC read as an integer is a plausible count or time
# 4 or 5 bytes of an address printed as a number (a "length" read from inside a frame):
# below 2^24 (a zero byte first) such a window is a plausible count, so it is not looked for
SMALLEST_WINDOW_NUMBER = 1 << 24
_DECIMAL = re.compile(rb"(?<![0-9A-Za-z])[0-9]{8,13}(?![0-9A-Za-z])")  # 2^24 has 8 digits, 2^40 13
_HEX_NUMBER = re.compile(rb"(?<![0-9A-Za-z])(0[xX])?([0-9A-Fa-f]{1,10})(?![0-9A-Za-z])")

_SEPARATED = re.compile(
    rb"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}(?P<sep>[:-])(?:[0-9A-Fa-f]{2}(?P=sep)){4}[0-9A-Fa-f]{2}"
    rb"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})(?![0-9A-Fa-f])"
)
_LONE_HEX = re.compile(rb"(?<![0-9A-Za-z])[0-9A-Fa-f]{12}(?![0-9A-Za-z])")
_HEX_RUN = re.compile(rb"[0-9A-Fa-f]{12,}")
_NOT_TELLING = re.compile(rb"[0-9A-Fa-f\W_]*")  # hex digits and punctuation: found in any hash

# Words the system itself writes (column names, labels, record keys): an SSID inside
# one of them cannot be told apart from it, so it is not searched.
_WORDS = """
sightings heartbeats visits marts daily hourly dwell occupancy sensor_health store date ts sensor
device randomized rssi freq_mhz seq directed ie_hash epoch device_key first_seen last_seen dwell_s
peak_rssi class visitor passerby passersby staff estimated visitors arrivals capture_rate
dwell_p50_s dwell_p90_s hour bucket <5m 5-20m 20-60m 1-6h 6h+ present suppressed minute frames
probes store_days collected_at dates fingerprint sha256 status duplicate failed time clean findings
by_rule files_scanned captures_against partitions_deleted deleted salts_destroyed dataset
destroyed_at epoch_start epoch_end last_used true false null none part parquet
"""
VOCABULARY = tuple(_WORDS.split())


def mac_spellings(mac: bytes) -> list[bytes]:
    """The raw bytes and the usual text spellings of an address (what a careless
    program would hash)."""
    plain = mac.hex()
    spellings = [
        plain,
        ":".join(plain[i : i + 2] for i in range(0, 12, 2)),
        "-".join(plain[i : i + 2] for i in range(0, 12, 2)),
    ]
    return [mac, *(s.encode() for s in spellings), *(s.upper().encode() for s in spellings)]


class LeakMatcher:
    """Counts, per rule, the leaks in a blob of bytes."""

    def __init__(
        self, secrets: CaptureSecrets | None = None, vocabulary: Iterable[str] = (), not_ssids: Iterable[str] = ()
    ) -> None:
        """`vocabulary`: the operator's words (store and sensor names), which an SSID may
        share; `not_ssids`: texts where an SSID is no leak (the captures' file names,
        which a log prints), blanked out before SSIDs are counted."""
        secrets = secrets or CaptureSecrets()
        self.not_ssids = sorted({name.lower().encode() for name in not_ssids}, key=len, reverse=True)
        self.macs = frozenset(secrets.macs - NOBODY)
        self.mac_array = _sorted_u64(int.from_bytes(m, "big") for m in self.macs)
        words = [w.lower().encode() for w in (*VOCABULARY, *vocabulary)]
        self.ssids = sorted({s.lower() for s in secrets.ssids if _telling(s.lower(), words)})
        digests = [
            hashlib.new(name, message).digest()
            for mac in sorted(self.macs)
            for message in mac_spellings(mac)
            for name in DIGESTS
        ]
        self.digests: dict[bytes, list[bytes]] = {}
        for digest in digests:
            self.digests.setdefault(digest[:MIN_DIGEST_BYTES], []).append(digest)
        heads = b"".join(digest[:8] for digest in digests)
        as_integers = [np.frombuffer(heads, order).astype(np.uint64) for order in (">u8", "<u8")]
        self.digest_keys = np.unique(as_integers[0] >> np.uint64(16))  # the first 6 bytes, big-endian
        self.unkeyed_uint64 = np.unique(np.concatenate(as_integers))
        self.unkeyed_int64 = np.unique(self.unkeyed_uint64.view(np.int64))
        mac_ints = [int.from_bytes(m, "big") for m in self.macs]
        self.mac_integers = np.array(sorted({v for v in mac_ints if v >= SMALLEST_MAC_INTEGER}), np.int64)
        self.window_numbers = frozenset(
            value for mac in self.macs for value in _window_numbers(mac) if value >= SMALLEST_WINDOW_NUMBER
        )

    @property
    def knows_captures(self) -> bool:
        return bool(self.macs)

    def scan(self, blob: bytes) -> Counter[str]:
        """Occurrences of each kind of leak in the blob (text and bytes alike)."""
        found: Counter[str] = Counter()
        spelled: set[int] = set()  # where an address is spelled out, counted once
        for match in _SEPARATED.finditer(blob):
            if _hex_bytes(match.group()) not in NOBODY:
                spelled.add(match.start())
        for match in _LONE_HEX.finditer(blob):
            word = match.group()
            if not word.isdigit() and bytes.fromhex(word.decode()) not in NOBODY:
                spelled.add(match.start())
        if self.knows_captures:
            for match in _HEX_RUN.finditer(blob):
                run = match.group().decode()
                for parity in range(2):  # what the hex digits say, from an even and an odd digit
                    usable = (len(run) - parity) // 2 * 2
                    decoded = bytes.fromhex(run[parity : parity + usable])
                    offsets = _window_offsets(decoded, self.mac_array)
                    spelled.update(match.start() + parity + 2 * int(offset) for offset in offsets)
                    found[UNKEYED] += self._digests_in(decoded)
            found[MAC_BYTES] += _windows_in(blob, self.mac_array)
            found[UNKEYED] += self._digests_in(blob)
            lowered = blob.lower()
            for name in self.not_ssids:
                lowered = lowered.replace(name, b"\n")
            for ssid in self.ssids:
                found[SSID] += lowered.count(ssid)
        found[MAC_TEXT] += len(spelled)
        return +found

    def scan_numbers(self, blob: bytes) -> Counter[str]:
        """Numbers in text (a log line) that are 4 or 5 consecutive bytes of a capture's
        address, read in either byte order, printed in decimal or in hex (with 0x, or
        with a hex letter): what a program prints when it takes bytes of a frame for a
        length or a counter."""
        found: Counter[str] = Counter()
        if not self.window_numbers:
            return found
        for match in _DECIMAL.finditer(blob):
            found[MAC_NUMBER] += int(match.group()) in self.window_numbers
        for match in _HEX_NUMBER.finditer(blob):
            prefixed, digits = match.group(1), match.group(2)
            if (prefixed or not digits.isdigit()) and len(digits) >= 6:
                found[MAC_NUMBER] += int(digits, 16) in self.window_numbers
        return +found

    def is_mac_like_value(self, value: bytes) -> bool:
        """A binary value of exactly 6 bytes is an address until shown otherwise."""
        return len(value) == 6 and value not in NOBODY

    def _digests_in(self, blob: bytes) -> int:
        """Unkeyed digests (whole, or their first 6+ bytes) at any offset of the blob."""
        hits = 0
        for offset in _window_offsets(blob, self.digest_keys):
            for digest in self.digests[blob[offset : offset + MIN_DIGEST_BYTES]]:
                width = min(len(digest), len(blob) - offset)
                if blob[offset : offset + width] == digest[:width]:
                    hits += 1
                    break
        return hits


def _window_numbers(mac: bytes) -> set[int]:
    """Every 4- and 5-byte window of an address as an integer, big- and little-endian."""
    found = set()
    for width in (4, 5):
        for start in range(len(mac) - width + 1):
            window = mac[start : start + width]
            found |= {int.from_bytes(window, "big"), int.from_bytes(window, "little")}
    return found


def _telling(ssid: bytes, words: list[bytes]) -> bool:
    """Whether finding this SSID would mean something: not made of hex digits and
    punctuation only (any hash holds those), not part of the system's own words."""
    return not _NOT_TELLING.fullmatch(ssid) and not any(ssid in word for word in words)


def _hex_bytes(text: bytes) -> bytes:
    return bytes.fromhex(re.sub(rb"[:.-]", b"", text).decode())


def _sorted_u64(values: Iterable[int]) -> np.ndarray:
    return np.array(sorted(set(values)), np.uint64)


def member(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """np.isin for keys sorted and unique once: a binary search, not a sort per call."""
    if len(keys) == 0:
        return np.zeros(len(values), bool)
    positions = np.minimum(np.searchsorted(keys, values), len(keys) - 1)
    return keys[positions] == values


def _six_byte_windows(blob: bytes) -> np.ndarray:
    data = np.frombuffer(blob, np.uint8).astype(np.uint64)
    windows = np.zeros(len(blob) - 5, np.uint64)
    for i in range(6):
        windows = (windows << np.uint64(8)) | data[i : len(blob) - 5 + i]
    return windows


def _window_offsets(blob: bytes, keys: np.ndarray) -> np.ndarray:
    """Offsets where the 6 bytes starting there are one of the keys (48-bit, sorted)."""
    if len(blob) < 6 or len(keys) == 0:
        return np.zeros(0, np.int64)
    return np.flatnonzero(member(_six_byte_windows(blob), keys))


def _windows_in(blob: bytes, keys: np.ndarray) -> int:
    return len(_window_offsets(blob, keys))
