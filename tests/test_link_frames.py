"""Literal frames, one small case per link-type feature, written out byte by byte.

Beside the tshark comparison on every real capture (test_probe_parser.py), these
read like the frames they test, as dpkt's tests do: each byte group is named after
its field, and what the collector must read from the frame is written by hand from
the specifications, not from the parser's output:

  802.11     IEEE 802.11-2020, 9.2.4 (frame control, sequence control), 9.3.3.10
             (probe request: SSID, supported rates, ...), 9.2.4.8 (FCS: CRC-32)
  radiotap   radiotap.org: header, presence words (bit 31: another word; bit 29:
             radiotap namespace again; bit 30: vendor namespace), field sizes and
             natural alignment, flags 0x10 (FCS at end) and 0x40 (bad FCS)
  PPI        the CACE PPI specification 1.0.10, 802.11-Common field (type 2)
  Prism      the linux-wlan-ng capture header: device name, DID items (host order)
  AVS        the AVS capture header v1 (wlan-ng, big endian)

Each expectation is then checked against three readers: footfall's parser, scapy's
dissector and tshark, except where a reader cannot tell (said at the case).
"""

from __future__ import annotations

import importlib
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from footfall.collector.probe_parser import ProbeParser

from capture_builder import Record, write_pcap
from reference_dissectors import RefProbe, parsed_probes, scapy_probes, tshark_probes

h = bytes.fromhex
for _module in ("scapy.layers.ppi", "scapy.contrib.ppi_cace"):  # scapy reads link type 192 once they are loaded
    importlib.import_module(_module)
TS_US = 1_710_505_811_000_123  # 2024-03-15 12:30:11.000123 UTC, in each record header

# --- 802.11 probe requests --------------------------------------------------------------

DIRECTED = b"".join(
    [
        h("40 00"),  # frame control: version 0, type 0 (management), subtype 4 (probe request); no flags
        h("00 00"),  # duration
        h("ff ff ff ff ff ff"),  # address 1, receiver: broadcast
        h("da a1 19 00 00 07"),  # address 2, transmitter: 0xda has bit 1 set, a random (local) address
        h("ff ff ff ff ff ff"),  # address 3, BSSID: wildcard
        h("50 3c"),  # sequence control, little endian 0x3c50: fragment 0, sequence number 0x3c5 = 965
        h("00 04") + b"Shop",  # element 0, SSID, 4 bytes: a directed probe (names a network)
        h("01 04 82 84 8b 96"),  # element 1, supported rates: 1, 2, 5.5, 11 Mb/s (basic)
    ]
)
DIRECTED_FCS = h("b6 9d b0 86")  # CRC-32 of the 36 bytes above, little endian

WILDCARD = b"".join(
    [
        h("40 00"),  # probe request, no flags
        h("00 00"),  # duration
        h("ff ff ff ff ff ff"),  # receiver: broadcast
        h("3c 5a b4 12 34 56"),  # transmitter: 0x3c has bit 1 clear, a global (vendor) address
        h("ff ff ff ff ff ff"),  # BSSID: wildcard
        h("10 00"),  # sequence control 0x0010: sequence number 1
        h("00 00"),  # SSID, 0 bytes: the wildcard SSID (any network)
        h("01 08 02 04 0b 16 0c 12 18 24"),  # supported rates, 8 of them
        h("32 04 30 48 60 6c"),  # element 50, extended supported rates: 24, 36, 48, 54 Mb/s
    ]
)
WILDCARD_FCS = h("41 fe c6 87")  # CRC-32 of the 42 bytes above, little endian

PHONE, PHONE_SEQ = 0xDAA119000007, 965
VENDOR_PHONE, VENDOR_PHONE_SEQ = 0x3C5AB4123456, 1


def test_the_literal_frame_check_sequences_are_the_crc32_of_their_frames() -> None:
    """The FCS bytes above were written out by hand: check them with an independent CRC."""
    assert zlib.crc32(DIRECTED) == int.from_bytes(DIRECTED_FCS, "little")
    assert zlib.crc32(WILDCARD) == int.from_bytes(WILDCARD_FCS, "little")


# --- radio headers ------------------------------------------------------------------------------

RADIOTAP = b"".join(
    [
        h("00"),  # it_version 0
        h("00"),  # it_pad
        h("0f 00"),  # it_len: 15 bytes, little endian
        h("2a 00 00 00"),  # it_present: flags (bit 1), channel (bit 3), dBm antenna signal (bit 5)
        h("00"),  # @8 flags: none (no FCS at the end)
        h("00"),  # @9 padding: the channel field is aligned to 2 bytes
        h("85 09 a0 00"),  # @10 channel: 0x0985 = 2437 MHz (channel 6), flags 0x00a0 (CCK, 2 GHz)
        h("d1"),  # @14 antenna signal: 0xd1 = -47 dBm
    ]
)

RADIOTAP_EXTENDED_FCS = b"".join(
    [
        h("00 00"),  # version, pad
        h("21 00"),  # it_len: 33 bytes
        h("2b 00 00 a0"),  # presence word 0: TSFT (0), flags (1), channel (3), antenna signal (5),
        #                    radiotap namespace next (29), another word follows (31)
        h("20 08 00 00"),  # presence word 1 (radiotap namespace again): antenna signal (5), antenna (11)
        h("00 00 00 00"),  # @12 padding: TSFT is aligned to 8 bytes
        h("78 56 34 12 00 00 00 00"),  # @16 TSFT: the radio's microsecond timer (not the capture time)
        h("10"),  # @24 flags: 0x10, the frame ends with its FCS
        h("00"),  # @25 padding for the channel
        h("3c 14 40 01"),  # @26 channel: 0x143c = 5180 MHz (channel 36), flags 0x0140 (OFDM, 5 GHz)
        h("cc"),  # @30 antenna signal: -52 dBm, the combined one (the first): this is the RSSI
        h("c9"),  # @31 word 1, antenna signal: -55 dBm at ...
        h("00"),  # @32 ... antenna 0
    ]
)

RADIOTAP_VENDOR_NAMESPACE = b"".join(
    [
        h("00 00"),  # version, pad
        h("20 00"),  # it_len: 32 bytes
        h("0a 00 00 c0"),  # word 0: flags (1), channel (3), vendor namespace (30), another word (31)
        h("01 00 00 a0"),  # word 1, the vendor's bits: its field 0; radiotap namespace next (29), more (31)
        h("20 00 00 00"),  # word 2, radiotap namespace: antenna signal (5)
        h("00"),  # @16 flags: none
        h("00"),  # @17 padding
        h("6c 09 a0 00"),  # @18 channel: 0x096c = 2412 MHz (channel 1), CCK, 2 GHz
        h("00 11 22"),  # @22 vendor namespace: OUI 00:11:22 ...
        h("00"),  # @25 ... sub-namespace 0 ...
        h("03 00"),  # @26 ... skip length: 3 bytes of vendor data follow
        h("99 99 99"),  # @28 the vendor's field 0 (word 1), skipped as a whole
        h("ba"),  # @31 word 2, antenna signal: 0xba = -70 dBm
    ]
)

RADIOTAP_BAD_FCS = b"".join(
    [
        h("00 00"),  # version, pad
        h("09 00"),  # it_len: 9 bytes
        h("02 00 00 00"),  # it_present: flags only
        h("50"),  # @8 flags: 0x10 (FCS at the end) | 0x40 (the FCS failed): a damaged frame
    ]
)

PPI = b"".join(
    [
        h("00"),  # pph_version 0
        h("00"),  # pph_flags: fields not 4-byte aligned
        h("20 00"),  # pph_len: 32 bytes
        h("69 00 00 00"),  # pph_dlt: 105, an 802.11 frame follows
        h("02 00"),  # field type 2: 802.11-Common
        h("14 00"),  # field length: 20 bytes
        h("00 00 00 00 00 00 00 00"),  # TSF timer
        h("01 00"),  # flags: 0x0001, the frame ends with its FCS
        h("02 00"),  # rate: 2 x 500 kb/s
        h("6c 09"),  # channel frequency: 2412 MHz
        h("a0 00"),  # channel flags: CCK, 2 GHz
        h("00"),  # FHSS hopset
        h("00"),  # FHSS pattern
        h("c3"),  # dBm antenna signal: 0xc3 = -61 dBm
        h("a1"),  # dBm antenna noise: -95 dBm
    ]
)

PPI_NO_SIGNAL = b"".join(
    [
        h("00 00 20 00 69 00 00 00"),  # version 0, flags 0, 32 bytes, 802.11 follows
        h("02 00 14 00"),  # 802.11-Common, 20 bytes
        h("00 00 00 00 00 00 00 00"),  # TSF timer
        h("00 00"),  # flags: no FCS
        h("0c 00"),  # rate: 6 Mb/s
        h("71 16"),  # channel frequency: 0x1671 = 5745 MHz (channel 149)
        h("40 01"),  # channel flags: OFDM, 5 GHz
        h("00 00"),  # FHSS hopset, pattern
        h("80"),  # dBm antenna signal: -128, the PPI specification's "invalid value": no RSSI
        h("80"),  # dBm antenna noise: invalid
    ]
)


def _prism_item(number: int, value: int) -> bytes:
    """One DID item, little endian (the capturing host's order): DID 0x000N0044, status 0
    (supplied), length 4, the value."""
    return (0x0044 | number << 16).to_bytes(4, "little") + h("00 00 04 00") + value.to_bytes(4, "little", signed=True)


PRISM = b"".join(
    [
        h("44 00 00 00"),  # msgcode 0x44: a received frame (lnxind_wlansniffrm)
        h("90 00 00 00"),  # msglen: 144 bytes
        b"wlan0".ljust(16, b"\0"),  # device name, 16 bytes
        _prism_item(1, 0),  # hosttime
        _prism_item(2, 0),  # mactime
        _prism_item(3, 11),  # channel: 11, so 2407 + 5 x 11 = 2462 MHz
        _prism_item(4, 0),  # rssi (the driver's scale, not dBm)
        _prism_item(5, 0),  # signal quality
        _prism_item(6, -58),  # signal: -58 dBm
        _prism_item(7, -95),  # noise: -95 dBm
        _prism_item(8, 2),  # rate: 2 x 500 kb/s
        _prism_item(9, 0),  # istx: received
        _prism_item(10, len(DIRECTED)),  # frame length: 36 bytes
    ]
)

AVS = b"".join(
    [
        h("80 21 10 01"),  # version: 0x80211001, AVS header v1 (big endian from here)
        h("00 00 00 40"),  # length: 64 bytes
        h("00 00 00 00 00 00 00 00"),  # mactime
        h("00 00 00 00 00 00 00 00"),  # hosttime
        h("00 00 00 08"),  # phytype 8: OFDM (802.11a)
        h("00 00 00 24"),  # channel: 36, so 5000 + 5 x 36 = 5180 MHz
        h("00 00 00 3c"),  # data rate: 60 x 100 kb/s
        h("00 00 00 00"),  # antenna
        h("00 00 00 00"),  # priority
        h("00 00 00 02"),  # SSI type 2: the signal is in dBm
        h("ff ff ff c4"),  # SSI signal: -60 dBm
        h("ff ff ff a1"),  # SSI noise: -95 dBm
        h("00 00 00 02"),  # preamble: long
        h("00 00 00 01"),  # encoding: CCK
    ]
)

AVS_NORMALISED_SIGNAL = b"".join(
    [
        h("80 21 10 01 00 00 00 40"),  # AVS v1, 64 bytes
        h("00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"),  # mactime, hosttime
        h("00 00 00 04"),  # phytype 4: DSSS (802.11b)
        h("00 00 00 01"),  # channel 1: 2412 MHz
        h("00 00 00 0a 00 00 00 00 00 00 00 00"),  # data rate 1 Mb/s, antenna, priority
        h("00 00 00 01"),  # SSI type 1: normalised RSSI (0-1000), not dBm: no RSSI to keep
        h("00 00 01 2c"),  # SSI signal: 300 (of 1000)
        h("00 00 00 00 00 00 00 00 00 00 00 00"),  # noise, preamble, encoding
    ]
)


# --- the cases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    linktype: int
    data: bytes
    expected: RefProbe | None  # None: not a sighting
    scapy: bool = True  # scapy can tell
    tshark: bool = True  # tshark can tell


def _probe(mac: int, seq: int, rssi: int | None, freq: int | None, directed: bool) -> RefProbe:
    return RefProbe(TS_US, mac, rssi, freq, seq, directed)


CASES = {
    "radiotap": Case(127, RADIOTAP + DIRECTED, _probe(PHONE, PHONE_SEQ, -47, 2437, True)),
    "radiotap, extended presence, TSFT, FCS": Case(
        127, RADIOTAP_EXTENDED_FCS + WILDCARD + WILDCARD_FCS, _probe(VENDOR_PHONE, VENDOR_PHONE_SEQ, -52, 5180, False)
    ),
    # scapy decodes the fields of the first namespace only
    "radiotap, vendor namespace": Case(
        127, RADIOTAP_VENDOR_NAMESPACE + DIRECTED, _probe(PHONE, PHONE_SEQ, -70, 2412, True), scapy=False
    ),
    # scapy does not check the FCS flags
    "radiotap, bad FCS": Case(127, RADIOTAP_BAD_FCS + DIRECTED + h("00 00 00 00"), None, scapy=False),
    "PPI, FCS": Case(192, PPI + DIRECTED + DIRECTED_FCS, _probe(PHONE, PHONE_SEQ, -61, 2412, True)),
    # tshark shows PPI's invalid signal value (-128) as a reading
    "PPI, no signal": Case(
        192, PPI_NO_SIGNAL + WILDCARD, _probe(VENDOR_PHONE, VENDOR_PHONE_SEQ, None, 5745, False), tshark=False
    ),
    "Prism": Case(119, PRISM + DIRECTED, _probe(PHONE, PHONE_SEQ, -58, 2462, True)),
    # scapy has no AVS dissector
    "AVS": Case(163, AVS + WILDCARD, _probe(VENDOR_PHONE, VENDOR_PHONE_SEQ, -60, 5180, False), scapy=False),
    "AVS, normalised signal": Case(
        163, AVS_NORMALISED_SIGNAL + DIRECTED, _probe(PHONE, PHONE_SEQ, None, 2412, True), scapy=False
    ),
    "802.11": Case(105, WILDCARD, _probe(VENDOR_PHONE, VENDOR_PHONE_SEQ, None, None, False)),
    "802.11, FCS": Case(105, DIRECTED + DIRECTED_FCS, _probe(PHONE, PHONE_SEQ, None, None, True)),
}


def _capture(tmp_path: Path, case: Case) -> Path:
    return write_pcap(tmp_path / "frame.pcap", case.linktype, [Record(TS_US, case.data)])


@pytest.mark.parametrize("name", CASES)
def test_the_parser_reads_what_the_specifications_say(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    assert parsed_probes(_capture(tmp_path, case)) == ([case.expected] if case.expected else [])


@pytest.mark.parametrize("name", [name for name, case in CASES.items() if case.scapy])
def test_scapy_reads_the_same(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    assert scapy_probes(_capture(tmp_path, case)) == ([case.expected] if case.expected else [])


@pytest.mark.parametrize("name", [name for name, case in CASES.items() if case.tshark])
def test_tshark_reads_the_same(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    assert tshark_probes(_capture(tmp_path, case)) == ([case.expected] if case.expected else [])


@pytest.mark.parametrize("name", CASES)
def test_each_frame_is_whole_and_counted_once(name: str) -> None:
    """Each element list ends exactly where the frame (or its FCS) does; the damaged
    frame is counted as such and nothing else."""
    case = CASES[name]
    seconds, micros = divmod(TS_US, 1_000_000)
    capture = b"".join(
        [
            h("d4 c3 b2 a1"),  # pcap magic, little endian, microseconds
            h("02 00 04 00"),  # version 2.4
            h("00 00 00 00 00 00 00 00"),  # time zone, accuracy
            h("00 00 04 00"),  # snapshot length 262144
            case.linktype.to_bytes(4, "little"),
            seconds.to_bytes(4, "little"),  # the record: time ...
            micros.to_bytes(4, "little"),
            len(case.data).to_bytes(4, "little"),  # ... bytes captured ...
            len(case.data).to_bytes(4, "little"),  # ... bytes on the air
            case.data,
        ]
    )
    parser = ProbeParser()
    parser.parse(capture)
    counters = parser.counters()
    assert counters["frames"] == 1
    assert counters["probes"] == (1 if case.expected else 0)
    assert counters["probes_bad_ies"] == 0
    assert counters["bad_fcs"] == (0 if case.expected else 1)
