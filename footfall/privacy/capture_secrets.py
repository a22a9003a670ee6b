"""What a capture holds that must never reach an output: every device address (in
any role: transmitter, receiver, BSSID) and every network name (SSID).

`footfall privacy audit --against CAPTURE` reads these, in memory only, to look for
them in the outputs, with their unkeyed hashes. scapy reads the pcap / pcapng
records (gzip, bzip2 and xz are opened here); the 802.11 header is walked by hand
because only its addresses and the SSID element are needed, and dissecting every
frame with scapy would cost a hundred times more.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

from footfall import storage
from footfall.errors import CaptureError

# Addresses that name nobody.
NOBODY = {b"\xff" * 6, b"\x00" * 6}
# SSIDs shorter than this turn up inside any text by chance ("home", "wifi" are kept).
MIN_SSID_BYTES = 4

_OPENERS: dict[str, Callable[..., Any]] = {"gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}
# control frames that carry a transmitter address (addr2) besides the receiver's
_CONTROL_WITH_TA = {4, 5, 8, 9, 10, 11, 14, 15}
# management frames with an SSID element: subtype -> offset of the elements in the body
_SSID_BODY_OFFSET = {0: 4, 2: 10, 4: 0, 5: 12, 8: 12}


@dataclass
class CaptureSecrets:
    macs: set[bytes] = field(default_factory=set)
    ssids: set[bytes] = field(default_factory=set)
    frames: int = 0

    def update(self, other: CaptureSecrets) -> None:
        self.macs |= other.macs
        self.ssids |= other.ssids
        self.frames += other.frames


def read_capture(path: Path) -> CaptureSecrets:
    """The addresses and SSIDs of one capture (a clear error if it is not one)."""
    from scapy.error import Scapy_Exception

    found = CaptureSecrets()
    try:
        with _open(path) as handle:
            for linktype, frame in _frames(handle):
                found.frames += 1
                _walk(_strip_radio_header(linktype, frame), found)
    except (Scapy_Exception, EOFError, OSError, ValueError, lzma.LZMAError) as exc:
        if isinstance(exc, OSError) and exc.filename:
            raise CaptureError(f"{path}: cannot read: {exc.strerror}") from None
        if found.frames == 0:
            raise CaptureError(f"{path}: not a readable pcap or pcapng capture") from None
        # a truncated capture: the frames before the cut were read
    found.macs -= NOBODY
    found.ssids = {ssid for ssid in found.ssids if len(ssid) >= MIN_SSID_BYTES}
    return found


def read_captures(paths: list[Path]) -> CaptureSecrets:
    found = CaptureSecrets()
    for path in paths:
        found.update(read_capture(path))
    return found


def _open(path: Path) -> BinaryIO:
    with open(path, "rb") as probe:
        head = probe.read(6)
    opener = _OPENERS.get(storage.compression_of(head) or "", open)
    return cast(BinaryIO, opener(path, "rb"))


def _frames(handle: BinaryIO) -> Iterator[tuple[int, bytes]]:
    from scapy.utils import RawPcapNgReader, RawPcapReader

    reader = RawPcapReader(cast(Any, handle))  # a pcapng file comes back as a RawPcapNgReader
    fixed = None if isinstance(reader, RawPcapNgReader) else reader.linktype
    for data, meta in reader:
        yield (fixed if fixed is not None else getattr(meta, "linktype", 105)), data


def _strip_radio_header(linktype: int, frame: bytes) -> bytes:
    """The 802.11 frame behind the radio header (radiotap, PPI, Prism, AVS or none)."""
    if linktype in (127, 192) and len(frame) >= 4:  # radiotap, PPI: little-endian length at 2
        return frame[struct.unpack_from("<H", frame, 2)[0] :]
    if linktype in (119, 163) and len(frame) >= 8:
        if struct.unpack_from(">I", frame, 0)[0] & 0xFFFFFFF0 == 0x80211000:  # AVS (also seen under 119)
            return frame[struct.unpack_from(">I", frame, 4)[0] :]
        return frame[struct.unpack_from("<I", frame, 4)[0] :]  # Prism: message length
    return frame


def _walk(frame: bytes, found: CaptureSecrets) -> None:
    if len(frame) < 10:
        return
    kind, subtype = (frame[0] >> 2) & 3, frame[0] >> 4
    flags = frame[1]
    addresses = [frame[4:10]]
    if kind == 1:  # control
        if subtype in _CONTROL_WITH_TA and len(frame) >= 16:
            addresses.append(frame[10:16])
    elif len(frame) >= 22:
        addresses += [frame[10:16], frame[16:22]]
        if kind == 2 and flags & 3 == 3 and len(frame) >= 30:  # to and from DS: a fourth address
            addresses.append(frame[24:30])
    found.macs.update(addresses)
    if kind == 0 and subtype in _SSID_BODY_OFFSET:
        start = 24 + (4 if flags & 0x80 else 0) + _SSID_BODY_OFFSET[subtype]  # +HT control
        ssid = _element(frame, start, 0)
        if ssid:
            found.ssids.add(ssid)


def _element(frame: bytes, position: int, wanted: int) -> bytes | None:
    while position + 2 <= len(frame):
        number, length = frame[position], frame[position + 1]
        if number == wanted:
            return frame[position + 2 : position + 2 + length]
        position += 2 + length
    return None
