"""Probe requests as a monitor-mode sensor records them: radiotap + 802.11 frames in a
classic pcap file. Shared by the synthetic generators (synthetic_store.py, the simple
rule-checking store, and synthetic_shop.py, the realistic shop on a street).

Only the standard library: the bench and the tests use it in any environment.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 127)
_RECORD = struct.Struct("<IIII")


def channel_freq(channel: int) -> int:
    """Centre frequency (MHz) of a 2.4 GHz (1-14) or 5 GHz channel."""
    if channel == 14:
        return 2484
    if 1 <= channel <= 13:
        return 2407 + 5 * channel
    return 5000 + 5 * channel


# radiotap: flags, channel (freq, flags), dBm antenna signal, antenna
_RT_PRESENT = (1 << 1) | (1 << 3) | (1 << 5) | (1 << 11)
_RT = struct.Struct("<BBHIBxHHbB")  # version, pad, len, present, flags, pad, freq, chan flags, signal, antenna
RT_LEN = _RT.size
_CHANNEL_FLAGS_2GHZ = 0x00A0  # 2 GHz, CCK/OFDM
_CHANNEL_FLAGS_5GHZ = 0x0140  # 5 GHz, OFDM

# Supported rates of an 802.11b/g radio, split the usual way over elements 1 and 50.
RATES = bytes([0x02, 0x04, 0x0B, 0x16, 0x0C, 0x12, 0x18, 0x24])
EXT_RATES = bytes([0x30, 0x48, 0x60, 0x6C])

Elements = list[tuple[int, bytes]]


def radiotap(freq: int, rssi: int) -> bytes:
    flags = _CHANNEL_FLAGS_2GHZ if freq < 3000 else _CHANNEL_FLAGS_5GHZ
    return _RT.pack(0, 0, RT_LEN, _RT_PRESENT, 0, freq, flags, rssi, 0)


def encode_elements(elements: Elements) -> bytes:
    """The information elements as they follow the SSID element in a probe body."""
    return b"".join(bytes([element_id, len(value)]) + value for element_id, value in elements)


def ssid_element(ssid: bytes = b"") -> bytes:
    """Element 0: empty for a wildcard probe, the network's name for a directed one."""
    return bytes([0, len(ssid)]) + ssid


def probe_request(mac: bytes, seq: int, body: bytes, rssi: int, freq: int) -> bytes:
    """A broadcast probe request from `mac` with its element body (SSID element first)."""
    header = b"\x40\x00\x00\x00" + b"\xff" * 6 + mac + b"\xff" * 6 + struct.pack("<H", (seq % 4096) << 4)
    return radiotap(freq, rssi) + header + body


def beacon(ap: bytes, ssid: bytes, rssi: int, freq: int) -> bytes:
    header = b"\x80\x00\x00\x00" + b"\xff" * 6 + ap + ap + b"\x00\x00"
    body = bytes(8) + b"\x64\x00\x11\x04" + ssid_element(ssid) + bytes([1, len(RATES)]) + RATES
    return radiotap(freq, rssi) + header + body


VENDOR_OUIS = [b"\x00\x17\xf2", b"\xa4\x83\xe7", b"\x3c\x28\x6d", b"\xf0\x18\x98", b"\x8c\x85\x90", b"\xdc\xa6\x32"]


def oui_mac(rng: random.Random) -> bytes:
    """A global (vendor-assigned) address."""
    return rng.choice(VENDOR_OUIS) + bytes(rng.randrange(256) for _ in range(3))


def random_mac(rng: random.Random) -> bytes:
    """A random, locally administered unicast address, as a randomising phone draws."""
    first = (rng.randrange(256) & 0xFC) | 0x02
    return bytes([first] + [rng.randrange(256) for _ in range(5)])


def write_pcap(path: Path, frames: Iterable[tuple[float, bytes]]) -> int:
    """Writes (UTC seconds, frame) records in the given order; returns how many."""
    count = 0
    with open(path, "wb") as out:
        out.write(PCAP_HEADER)
        chunk: list[bytes] = []
        for when, frame in frames:
            micros = round(when * 1e6)
            chunk.append(_RECORD.pack(micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)))
            chunk.append(frame)
            count += 1
            if len(chunk) >= 20000:
                out.write(b"".join(chunk))
                chunk.clear()
        out.write(b"".join(chunk))
    return count


class StoreThresholds(Protocol):
    """What a generator's spec says about the store and its thresholds."""

    @property
    def store(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def sensors(self) -> tuple[str, ...]: ...
    @property
    def gap_min(self) -> float: ...
    @property
    def min_dwell_min(self) -> float: ...
    @property
    def rssi_threshold_dbm(self) -> float: ...
    @property
    def staff_daily_hours(self) -> float: ...


def write_store_config(path: Path, spec: StoreThresholds, opening: str, closing: str, written_by: str) -> None:
    """The store's footfall.toml, with DESIGN.md's keys only."""
    tables = "".join(f"\n[stores.{spec.store}.sensors.{s}]\n" for s in spec.sensors)
    path.write_text(
        f"""# written by {written_by}
[visits]
gap_min = {spec.gap_min}
min_dwell_min = {spec.min_dwell_min}
rssi_threshold_dbm = {spec.rssi_threshold_dbm}
staff_daily_hours = {spec.staff_daily_hours}

[stores.{spec.store}]
timezone = "{spec.timezone}"
opening_hours = "{opening}-{closing}"
{tables}"""
    )
