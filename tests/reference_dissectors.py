"""The independent readings the parser's output is compared with: tshark's field
extraction and scapy's dissector, and the parser under test read the same way
(RefProbe for all three)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path


@dataclass(frozen=True)
class RefProbe:
    """A probe request as an independent dissector reads it."""

    ts_us: int
    mac: int
    rssi: int | None
    freq: int | None
    seq: int
    directed: bool


# --- tshark ------------------------------------------------------------------------


def tshark_path() -> str:
    path = shutil.which("tshark")
    assert path, "tshark is needed as the reference dissector; `make test` installs it (apt-get install tshark)"
    return path


_TSHARK_FIELDS = [
    "frame.time_epoch",
    "wlan.sa",
    "radiotap.dbm_antsignal",
    "ppi.80211-common.dbm.antsignal",
    "wlancap.dbm_antsignal",
    "prism.did.signal",
    "prism.did.channel",
    "wlan.seq",
    "wlan_radio.frequency",
    "wlan.tag.number",
    "wlan.tag.length",
]


def tshark_fields(path: Path, fields: list[str], display_filter: str | None = None) -> list[list[str]]:
    """tshark's field extraction: one list of values per frame (repeated values joined by ',')."""
    command = [tshark_path(), "-r", str(path), "-T", "fields", "-E", "separator=|", "-E", "occurrence=a"]
    command += ["-E", "aggregator=,", *(["-Y", display_filter] if display_filter else [])]
    for field in fields:
        command += ["-e", field]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return [line.split("|") for line in out.splitlines()]


def tshark_probes(path: Path) -> list[RefProbe]:
    """Probe requests as tshark dissects them (bad-FCS frames excluded, as the collector does)."""
    rows = tshark_fields(path, _TSHARK_FIELDS, "wlan.fc.type_subtype == 4 && !(radiotap.flags.badfcs == 1)")
    probes = []
    for row in rows:
        values = dict(zip(_TSHARK_FIELDS, row, strict=True))
        rssi = next(
            (
                _first_int(values[field])
                for field in ("radiotap.dbm_antsignal", "ppi.80211-common.dbm.antsignal", "wlancap.dbm_antsignal")
                if values[field]
            ),
            None,
        )
        if rssi is None and values["prism.did.signal"]:
            signal = _first_int(values["prism.did.signal"])
            rssi = signal if signal is not None and -128 <= signal <= 0 else None  # others are not dBm
        freq = _first_int(values["wlan_radio.frequency"])
        if freq is None and values["prism.did.channel"]:
            freq = _channel_mhz(int(values["prism.did.channel"]))
        numbers = [int(n) for n in values["wlan.tag.number"].split(",") if n]
        lengths = [int(n) for n in values["wlan.tag.length"].split(",") if n]
        directed = bool(numbers) and numbers[0] == 0 and lengths[0] > 0
        probes.append(
            RefProbe(
                ts_us=_epoch_us(values["frame.time_epoch"]),
                mac=int(values["wlan.sa"].replace(":", ""), 16),
                rssi=rssi,
                freq=freq,
                seq=int(values["wlan.seq"]),
                directed=directed,
            )
        )
    return probes


def _first_int(text: str) -> int | None:
    first = text.split(",")[0]
    return int(first) if first else None


def _epoch_us(text: str) -> int:
    """'1615149648.087906546' -> microseconds, truncated like the collector (no float)."""
    seconds, _, fraction = text.partition(".")
    return int(seconds) * 1_000_000 + int((fraction + "000000")[:6])


# --- scapy -----------------------------------------------------------------------------


def scapy_probes(path: Path) -> list[RefProbe]:
    """Probe requests as scapy dissects them (slow: small files only)."""
    from scapy.layers.dot11 import Dot11, Dot11Elt, PrismHeader, RadioTap
    from scapy.utils import PcapReader

    probes = []
    with PcapReader(str(path)) as reader:
        for packet in reader:
            if not packet.haslayer(Dot11):
                continue
            frame = packet[Dot11]
            if frame.type != 0 or frame.subtype != 4:
                continue
            rssi = freq = None
            if packet.haslayer(RadioTap):
                radio = packet[RadioTap]
                rssi = radio.dBm_AntSignal
                freq = radio.ChannelFrequency
            elif packet.haslayer(PrismHeader):
                prism = packet[PrismHeader]
                signal = prism.signal - (1 << 32) if prism.signal >= 1 << 31 else prism.signal
                rssi = signal if prism.signal_status == 0 and -128 <= signal <= 0 else None
                freq = _channel_mhz(prism.channel) if prism.channel_status == 0 else None
            else:
                from scapy.contrib.ppi_cace import PPI_Dot11Common

                if packet.haslayer(PPI_Dot11Common):
                    common = packet[PPI_Dot11Common]
                    rssi = common.Antsignal if common.Antsignal != -128 else None
                    freq = common.Ch_Freq or None
            ssid = packet.getlayer(Dot11Elt, ID=0)
            probes.append(
                RefProbe(
                    ts_us=int(Decimal(str(packet.time)) * 1_000_000),
                    mac=int(frame.addr2.replace(":", ""), 16),
                    rssi=rssi,
                    freq=freq,
                    seq=frame.SC >> 4,
                    directed=ssid is not None and len(ssid.info) > 0,
                )
            )
    return probes


def _channel_mhz(channel: int) -> int | None:
    if channel == 14:
        return 2484
    if 1 <= channel < 14:
        return 2407 + 5 * channel
    if 15 <= channel <= 196:
        return 5000 + 5 * channel
    return None


# --- the parser under test, read the same way ----------------------------------------------


def parsed_probes(path: Path) -> list[RefProbe]:
    from footfall.collector.capture_sources import CaptureReader, CaptureSource
    from footfall.collector.probe_parser import STATUS_FULL, ProbeParser

    parser = ProbeParser()
    probes: list[RefProbe] = []
    with CaptureReader(CaptureSource(str(path), path)) as reader:
        data = b"".join(bytes(chunk) for chunk in reader.chunks())
    pos = 0
    while True:
        result = parser.parse(memoryview(data)[pos:])
        pos += result.consumed
        batch = result.batch
        for i in range(len(batch)):
            probes.append(
                RefProbe(
                    ts_us=int(batch.ts_us[i]),
                    mac=int(batch.mac[i]),
                    rssi=int(batch.rssi[i]) if batch.has_rssi[i] else None,
                    freq=int(batch.freq[i]) or None,
                    seq=int(batch.seq[i]),
                    directed=bool(batch.directed[i]),
                )
            )
        if result.status != STATUS_FULL:
            return probes
