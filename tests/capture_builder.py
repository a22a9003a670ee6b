"""Small captures with known content, for the parser's tests.

Frames are built with scapy's layers (RadioTap, PPI, PrismHeader, Dot11) where scapy
has them, by hand from the specifications where it has not (AVS, radiotap vendor
namespaces); files are written in every container variant the collector must read
(pcap in both byte orders, microsecond / nanosecond / modified-pcap records, pcapng
with several interfaces, link types and timestamp resolutions). Each builder
returns the truth it wrote, so a test compares the parser with what went in, and
with scapy's and tshark's reading of the same file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from scapy.layers.dot11 import Dot11, Dot11Elt, Dot11ProbeReq, Dot11ProbeResp, RadioTap
from scapy.packet import Raw


@dataclass(frozen=True)
class Probe:
    """What a probe request carries, as the collector should read it."""

    ts_us: int
    mac: str
    rssi: int | None
    freq: int | None
    seq: int
    ssid: bytes = b""

    @property
    def mac_int(self) -> int:
        return int(self.mac.replace(":", ""), 16)


def dot11_probe(probe: Probe, extra_elements: bytes = b"") -> bytes:
    """The bare 802.11 probe request (no FCS)."""
    frame = (
        Dot11(
            type=0, subtype=4, addr1="ff:ff:ff:ff:ff:ff", addr2=probe.mac, addr3="ff:ff:ff:ff:ff:ff", SC=probe.seq << 4
        )
        / Dot11ProbeReq()
        / Dot11Elt(ID=0, info=probe.ssid)
        / Dot11Elt(ID=1, info=b"\x02\x04\x0b\x16")
        / Dot11Elt(ID=50, info=b"\x0c\x12\x18\x24")
    )
    return bytes(frame) + extra_elements


def dot11_beacon(mac: str = "00:11:22:33:44:55") -> bytes:
    return bytes(
        Dot11(type=0, subtype=8, addr1="ff:ff:ff:ff:ff:ff", addr2=mac, addr3=mac)
        / Raw(bytes(12))
        / Dot11Elt(ID=0, info=b"shop")
    )


def dot11_probe_response(mac: str = "00:11:22:33:44:55") -> bytes:
    return bytes(Dot11(type=0, subtype=5, addr1="02:00:00:00:00:01", addr2=mac, addr3=mac) / Dot11ProbeResp())


def fcs(frame: bytes) -> bytes:
    import zlib

    return struct.pack("<I", zlib.crc32(frame) & 0xFFFFFFFF)


# --- radio headers -----------------------------------------------------------


def radiotap(probe: Probe, frame: bytes, with_fcs: bool = False) -> bytes:
    fields = {"present": "Flags"}
    kwargs: dict = {"Flags": "FCS" if with_fcs else 0}
    if probe.freq is not None:
        fields["present"] += "+Channel"
        kwargs.update(ChannelFrequency=probe.freq, ChannelFlags="2GHz+CCK")
    if probe.rssi is not None:
        fields["present"] += "+dBm_AntSignal"
        kwargs["dBm_AntSignal"] = probe.rssi
    header = RadioTap(present=fields["present"], **kwargs)
    return bytes(header) + frame + (fcs(frame) if with_fcs else b"")


def radiotap_extended(probe: Probe, frame: bytes) -> bytes:
    """Radiotap with TSFT (8-byte alignment), three presence words (radiotap
    namespace again twice, per-antenna signals after the combined one) and a vendor
    namespace with data to skip, built by hand from radiotap.org's rules."""
    assert probe.rssi is not None and probe.freq is not None
    ext, rt_ns, vendor_ns = 1 << 31, 1 << 29, 1 << 30
    word0 = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 5) | rt_ns | ext  # TSFT, flags, channel, signal
    word1 = (1 << 5) | (1 << 11) | vendor_ns | ext  # antenna 0: signal, antenna
    word2 = (1 << 5) | (1 << 11) | rt_ns  # (vendor namespace word) then radiotap again... see below
    word3 = (1 << 5) | (1 << 11)  # antenna 1: signal, antenna
    words = [word0, word1, word2 | ext, word3]
    body = b""
    offset = 4 + 4 * len(words)

    def pad(align: int) -> None:
        nonlocal body
        while (offset + len(body)) % align:
            body += b"\x00"

    pad(8)
    body += struct.pack("<Q", 123456789)  # TSFT
    body += struct.pack("<B", 0)  # flags
    pad(2)
    body += struct.pack("<HH", probe.freq, 0x00A0)  # channel
    body += struct.pack("<b", probe.rssi)  # the combined signal: the one to take
    # word1 (radiotap namespace, reset): antenna 0 signal and antenna index
    body += struct.pack("<bB", probe.rssi - 7, 0)
    # word1's vendor namespace bit: OUI, sub namespace, skip length, then the data
    pad(2)
    vendor_data = b"\x99" * 5
    body += bytes([0x00, 0x11, 0x22, 0x01]) + struct.pack("<H", len(vendor_data)) + vendor_data
    # word2 is in the vendor namespace (its bits mean nothing to us); bit 29 returns
    # to the radiotap namespace for word3: antenna 1 signal and index
    body += struct.pack("<bB", probe.rssi - 9, 1)
    header = struct.pack("<BBH", 0, 0, 4 + 4 * len(words) + len(body)) + b"".join(struct.pack("<I", w) for w in words)
    return header + body + frame


def ppi(probe: Probe, frame: bytes, with_fcs: bool = False) -> bytes:
    from scapy.contrib.ppi_cace import PPI_Dot11Common
    from scapy.layers.ppi import PPI, PPI_Hdr

    common = PPI_Dot11Common(
        Pkt_Flags=1 if with_fcs else 0,
        Ch_Freq=probe.freq or 0,
        Ch_Flags=0x00A0,
        Antsignal=probe.rssi if probe.rssi is not None else -128,
        Antnoise=-95,
    )
    header = bytes(PPI(dlt=105, headers=[PPI_Hdr(pfh_type=2) / common]))
    return header + frame + (fcs(frame) if with_fcs else b"")


def prism(probe: Probe, frame: bytes) -> bytes:
    from scapy.layers.dot11 import PrismHeader

    channel = _channel(probe.freq)
    # DIDs of the "type 1" Prism items (as the linux-wlan-ng drivers wrote them);
    # status 0 means "supplied"
    header = PrismHeader(
        dev=b"wlan0",
        channel_did=0x00030044,
        channel_len=4,
        channel=channel,
        channel_status=0 if probe.freq is not None else 1,
        signal_did=0x00060044,
        signal_len=4,
        signal=probe.rssi if probe.rssi is not None else 0,
        signal_status=0 if probe.rssi is not None else 1,
        noise_did=0x00070044,
        noise_len=4,
        noise=-95 & 0xFFFFFFFF,
        frmlen_did=0x000A0044,
        frmlen_len=4,
        frmlen=len(frame),
    )
    return bytes(header)[: len(header) - len(header.payload)] + frame


def avs(probe: Probe, frame: bytes) -> bytes:
    """AVS capture header v1 (64 bytes, big endian), per the AVS/wlan-ng specification."""
    ssi_type = 2 if probe.rssi is not None else 0
    header = struct.pack(
        ">IIQQIIIIIIiiII",
        0x80211001,
        64,
        0,
        0,
        7 if (probe.freq or 0) >= 5000 else 6,  # phytype: OFDM (802.11a) or ERP (802.11g)
        _channel(probe.freq),
        110,
        0,
        0,
        ssi_type,
        probe.rssi if probe.rssi is not None else 0,
        -95,
        0,
        0,
    )
    return header + frame


def _channel(freq: int | None) -> int:
    if freq is None:
        return 0
    if freq == 2484:
        return 14
    return (freq - 2407) // 5 if freq < 5000 else (freq - 5000) // 5


# --- containers ----------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    ts_us: int
    data: bytes
    interface: int = 0


def write_pcap(
    path: Path,
    linktype: int,
    records: list[Record],
    *,
    big_endian: bool = False,
    nanoseconds: bool = False,
    modified: bool = False,
    network_extra: int = 0,
) -> Path:
    order = ">" if big_endian else "<"
    magic = 0xA1B2CD34 if modified else (0xA1B23C4D if nanoseconds else 0xA1B2C3D4)
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype | network_extra)]
    for record in records:
        seconds, micros = divmod(record.ts_us, 1_000_000)
        fraction = micros * 1000 if nanoseconds else micros
        out.append(struct.pack(order + "IIII", seconds, fraction, len(record.data), len(record.data)))
        if modified:
            out.append(struct.pack(order + "IHBB", 1, 0, 0, 0))
        out.append(record.data)
    path.write_bytes(b"".join(out))
    return path


@dataclass(frozen=True)
class Interface:
    linktype: int
    tsresol: int | None = None  # the if_tsresol option byte; None: default microseconds
    tsoffset: int = 0  # seconds


def write_pcapng(
    path: Path,
    interfaces: list[Interface],
    records: list[Record],
    *,
    big_endian: bool = False,
    extra_blocks: bool = True,
) -> Path:
    order = ">" if big_endian else "<"

    def block(kind: int, body: bytes) -> bytes:
        body += b"\x00" * (-len(body) % 4)
        length = 12 + len(body)
        return struct.pack(order + "II", kind, length) + body + struct.pack(order + "I", length)

    def option(code: int, value: bytes) -> bytes:
        return struct.pack(order + "HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)

    out = [block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1) + option(0, b""))]
    for interface in interfaces:
        options = b""
        if interface.tsresol is not None:
            options += option(9, bytes([interface.tsresol]))
        if interface.tsoffset:
            options += option(14, struct.pack(order + "q", interface.tsoffset))
        out.append(block(1, struct.pack(order + "HHI", interface.linktype, 0, 262144) + options + option(0, b"")))
    if extra_blocks:  # a name resolution block: nothing to read, must be skipped
        out.append(block(4, struct.pack(order + "HH", 0, 0)))
    for record in records:
        interface = interfaces[record.interface]
        units = _to_units(record.ts_us - interface.tsoffset * 1_000_000, interface.tsresol)
        body = (
            struct.pack(
                order + "IIIII", record.interface, units >> 32, units & 0xFFFFFFFF, len(record.data), len(record.data)
            )
            + record.data
        )
        out.append(block(6, body))
    path.write_bytes(b"".join(out))
    return path


def _to_units(ts_us: int, tsresol: int | None) -> int:
    if tsresol is None:
        return ts_us
    if tsresol & 0x80:
        return (ts_us << (tsresol & 0x7F)) // 1_000_000
    exponent = tsresol
    return ts_us * 10**exponent // 1_000_000


# --- every link type and container, for the fuzzers ----------------------------------------

# every link type, with and without FCS: link type number and how a frame is wrapped
LINK_TYPES = {
    "radiotap": (127, lambda p, f: radiotap(p, f)),
    "radiotap+fcs": (127, lambda p, f: radiotap(p, f, with_fcs=True)),
    "radiotap-extended": (127, radiotap_extended),
    "ppi": (192, lambda p, f: ppi(p, f)),
    "ppi+fcs": (192, lambda p, f: ppi(p, f, with_fcs=True)),
    "prism": (119, prism),
    "avs": (163, avs),
    "802.11": (105, lambda p, f: f),
    "802.11+fcs": (105, lambda p, f: f + fcs(f)),
}
CONTAINERS = {
    "pcap": {},
    "pcap-be-ns": {"big_endian": True, "nanoseconds": True},
    "pcap-modified": {"modified": True},
    "pcapng": None,
}


def link_records(name: str, probes: list[Probe]) -> list[Record]:
    """Each probe wrapped for the link type, with a beacon or probe response after it."""
    _, wrap = LINK_TYPES[name]
    records = []
    for i, probe in enumerate(probes):
        records.append(Record(probe.ts_us, wrap(probe, dot11_probe(probe))))
        other = dot11_beacon() if i % 2 else dot11_probe_response()
        records.append(Record(probe.ts_us + 10, wrap(probe, other)))
    return records


def every_link_type(folder: Path, probes: list[Probe]) -> dict[str, Path]:
    """A capture of the probes for every link type in every container, by name."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for name, (linktype, _) in LINK_TYPES.items():
        records = link_records(name, probes)
        for container, options in CONTAINERS.items():
            path = folder / f"{name}.{container}"
            if options is None:
                interface = Interface(linktype, tsresol=9 if "fcs" in name else None)
                made[path.name] = write_pcapng(path, [interface], records)
            else:
                made[path.name] = write_pcap(path, linktype, records, **options)
    return made


# --- a stream across local midnight -------------------------------------------------------


def midnight_capture(path: Path, start_us: int, minutes: int = 60, quiet: tuple[int, int] = (10, 15)) -> list[Probe]:
    """A radiotap pcap of `minutes` minutes from start_us: one phone with a global
    address probing every 20 s throughout, a new random (locally administered) address
    probing twice every minute, a beacon every 30 s, and nothing at all in the minutes
    quiet[0] <= m < quiet[1]. Returns the probes written, in time order."""
    probes: list[Probe] = []
    records: list[Record] = []
    for minute in range(minutes):
        if quiet[0] <= minute < quiet[1]:
            continue
        base = start_us + minute * 60_000_000
        for second in (0, 20, 40):
            probes.append(
                Probe(base + second * 1_000_000 + 1234, "3c:5a:10:00:00:01", -55, 2437, (minute * 3 + second) % 4096)
            )
        random_mac = f"da:00:00:00:{minute // 256:02x}:{minute % 256:02x}"
        for repeat in range(2):
            probes.append(Probe(base + 5_000_000 + repeat * 20_000, random_mac, -60, 2437, repeat, b"HomeNet-42"))
        for second in (10, 40):
            beacon = Probe(base + second * 1_000_000 + 500, "00:11:22:33:44:55", -70, 2437, 0)
            records.append(Record(beacon.ts_us, radiotap(beacon, dot11_beacon())))
    records += [Record(p.ts_us, radiotap(p, dot11_probe(p))) for p in probes]
    write_pcap(path, 127, sorted(records, key=lambda r: r.ts_us))
    return sorted(probes, key=lambda p: p.ts_us)
