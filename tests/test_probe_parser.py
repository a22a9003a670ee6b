"""The C probe parser against independent dissectors (tshark, scapy) and known truth."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from footfall.collector.probe_parser import ProbeParser

from capture_builder import (
    LINK_TYPES,
    Interface,
    Probe,
    Record,
    dot11_beacon,
    dot11_probe,
    dot11_probe_response,
    fcs,
    link_records,
    radiotap,
    write_pcap,
    write_pcapng,
)
from capture_files import SHARED_CAPTURES, real_captures
from reference_dissectors import RefProbe, parsed_probes, scapy_probes, tshark_probes

BASE_US = 1_700_000_000_123_456


def _probes(count: int = 12, *, rssi: bool = True, freq: bool = True) -> list[Probe]:
    return [
        Probe(
            ts_us=BASE_US + i * 1_234_567,
            mac=f"{0x02 if i % 2 else 0x3C:02x}:5a:{i:02x}:10:20:{(7 * i) % 256:02x}",
            rssi=(-40 - i) if rssi else None,
            freq=(2412, 2437, 2462, 5180)[i % 4] if freq else None,
            seq=(i * 389) % 4096,
            ssid=b"HomeNet-%d" % i if i % 3 == 0 else b"",
        )
        for i in range(count)
    ]


def _truth(probes: list[Probe], *, radio: bool = True) -> list[RefProbe]:
    return [
        RefProbe(p.ts_us, p.mac_int, p.rssi if radio else None, p.freq if radio else None, p.seq, bool(p.ssid))
        for p in probes
    ]


@pytest.mark.parametrize("capture", real_captures(), ids=lambda p: p.name)
def test_every_real_capture_matches_tshark_frame_by_frame(capture: Path) -> None:
    reference = tshark_probes(capture)
    assert parsed_probes(capture) == reference


SMALL_REAL = [p for p in real_captures() if p.stat().st_size < 300_000]


@pytest.mark.parametrize("capture", SMALL_REAL, ids=lambda p: p.name)
def test_small_real_captures_match_scapy(capture: Path) -> None:
    assert parsed_probes(capture) == scapy_probes(capture)


def test_real_captures_cover_what_the_issue_names() -> None:
    """The shared set holds pcap and pcapng, radiotap with extended bitmaps, bare
    802.11 and Prism: the generated cases below add PPI, AVS, FCS and byte orders."""
    names = {p.name for p in real_captures()}
    assert {"tcpdump_ieee802.11_exthdr.pcap", "iot_indoor_location_irt_test.pcapng", "aircrack-ng_n-02.cap"} <= names


@pytest.mark.parametrize("name", LINK_TYPES)
def test_link_type_against_truth_scapy_and_tshark(tmp_path: Path, name: str) -> None:
    linktype, _ = LINK_TYPES[name]
    probes = _probes()
    path = write_pcap(tmp_path / f"{name}.pcap", linktype, link_records(name, probes))
    truth = _truth(probes, radio=linktype != 105)
    assert parsed_probes(path) == truth
    assert tshark_probes(path) == truth
    if linktype != 163:  # scapy has no AVS dissector
        assert scapy_probes(path) == truth


@pytest.mark.parametrize(
    "variant",
    [
        {"big_endian": True},
        {"nanoseconds": True},
        {"nanoseconds": True, "big_endian": True},
        {"modified": True},
    ],
    ids=lambda v: "+".join(v),
)
def test_pcap_variants(tmp_path: Path, variant: dict) -> None:
    probes = _probes()
    path = write_pcap(tmp_path / "variant.pcap", 127, link_records("radiotap", probes), **variant)
    assert parsed_probes(path) == _truth(probes)
    if not variant.get("modified"):
        assert scapy_probes(path) == _truth(probes)


def test_pcap_link_type_field_with_fcs_length_bits(tmp_path: Path) -> None:
    """The pcap header's upper bits may say 'every frame ends with a 4-byte FCS'."""
    probes = _probes()
    path = write_pcap(tmp_path / "f.pcap", 105, link_records("802.11+fcs", probes), network_extra=(1 << 26) | (2 << 28))
    assert parsed_probes(path) == _truth(probes, radio=False)


@pytest.mark.parametrize("big_endian", [False, True], ids=["little-endian", "big-endian"])
def test_pcapng_with_several_interfaces_link_types_and_resolutions(tmp_path: Path, big_endian: bool) -> None:
    probes = _probes(24)
    interfaces = [
        Interface(127),  # microseconds by default
        Interface(192, tsresol=9),  # nanoseconds
        Interface(105, tsresol=0x80 | 20, tsoffset=3600),  # 2^-20 s, one hour offset
        Interface(163, tsresol=3),  # milliseconds
    ]
    wrappers = ["radiotap", "ppi", "802.11+fcs", "avs"]
    records, truth = [], []
    for i, probe in enumerate(probes):
        which = i % len(interfaces)
        interface = interfaces[which]
        _, wrap = LINK_TYPES[wrappers[which]]
        records.append(Record(probe.ts_us, wrap(probe, dot11_probe(probe)), interface=which))
        records.append(Record(probe.ts_us, wrap(probe, dot11_beacon()), interface=which))
        truth.append(
            RefProbe(
                _readback_us(probe.ts_us, interface),
                probe.mac_int,
                None if interface.linktype == 105 else probe.rssi,
                None if interface.linktype == 105 else probe.freq,
                probe.seq,
                bool(probe.ssid),
            )
        )
    path = write_pcapng(tmp_path / "multi.pcapng", interfaces, records, big_endian=big_endian)
    assert parsed_probes(path) == truth
    assert tshark_probes(path) == truth


def _readback_us(ts_us: int, interface: Interface) -> int:
    """What the timestamp becomes after the trip through the interface's resolution (spec arithmetic)."""
    units_us = ts_us - interface.tsoffset * 1_000_000
    resol = interface.tsresol
    if resol is None:
        return ts_us
    if resol & 0x80:
        units = (units_us << (resol & 0x7F)) // 1_000_000
        return ((units * 1_000_000) >> (resol & 0x7F)) + interface.tsoffset * 1_000_000
    units = units_us * 10**resol // 1_000_000
    return units * 1_000_000 // 10**resol + interface.tsoffset * 1_000_000


def test_pcapng_new_section_resets_interfaces_and_byte_order(tmp_path: Path) -> None:
    first, second = _probes(4), _probes(6)[4:]
    a = write_pcapng(tmp_path / "a.pcapng", [Interface(127)], link_records("radiotap", first))
    b = write_pcapng(tmp_path / "b.pcapng", [Interface(192)], link_records("ppi", second), big_endian=True)
    joined = tmp_path / "joined.pcapng"
    joined.write_bytes(a.read_bytes() + b.read_bytes())
    assert parsed_probes(joined) == _truth(first) + _truth(second)


# --- what the parser makes of each probe ----------------------------------------------------


def _parse_frames(frames: list[bytes], linktype: int = 127):
    """Parses raw frames (radio header included) written as one pcap in memory."""
    body = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype)
    for i, frame in enumerate(frames):
        body += struct.pack("<IIII", 1_700_000_000 + i, 0, len(frame), len(frame)) + frame
    parser = ProbeParser()
    result = parser.parse(body)
    return parser, result


def test_ssid_sets_directed_and_never_changes_the_layout() -> None:
    probe = _probes(1)[0]
    wildcard = radiotap(probe, dot11_probe(Probe(**{**probe.__dict__, "ssid": b""})))
    named = radiotap(probe, dot11_probe(Probe(**{**probe.__dict__, "ssid": b"Grandma's WiFi"})))
    other = radiotap(probe, dot11_probe(Probe(**{**probe.__dict__, "ssid": b"Office"})))
    _, result = _parse_frames([wildcard, named, other])
    assert result.batch.directed.tolist() == [False, True, True]
    assert len(set(result.batch.layout.tolist())) == 1


def test_layout_tells_capabilities_apart_but_ignores_channel_and_vendor_payload() -> None:
    probe = _probes(1)[0]
    base = dot11_probe(probe)

    def with_elements(extra: bytes) -> bytes:
        return radiotap(probe, base + extra)

    ds_6, ds_11 = bytes([3, 1, 6]), bytes([3, 1, 11])
    wps_a = bytes([221, 8, 0x00, 0x50, 0xF2, 0x04]) + b"uuid"
    wps_b = bytes([221, 8, 0x00, 0x50, 0xF2, 0x04]) + b"UUID"
    ht_a, ht_b = bytes([45, 2, 0x2D, 0x01]), bytes([45, 2, 0xEF, 0x01])
    _, result = _parse_frames(
        [
            with_elements(ds_6),
            with_elements(ds_11),
            with_elements(wps_a),
            with_elements(wps_b),
            with_elements(ht_a),
            with_elements(ht_b),
        ]
    )
    layout = result.batch.layout.tolist()
    assert layout[0] == layout[1], "the DS channel is not part of the layout"
    assert layout[2] == layout[3], "vendor element payloads (the WPS UUID) are not part of the layout"
    assert layout[4] != layout[5], "HT capabilities are"
    assert layout[0] != layout[2] != layout[4]


def test_malformed_frames_are_counted_by_kind_and_skipped() -> None:
    probe = _probes(1)[0]
    good = radiotap(probe, dot11_probe(probe))
    too_long_radiotap = good[:2] + struct.pack("<H", len(good) + 10) + good[4:]
    short_80211 = radiotap(probe, dot11_probe(probe)[:20])
    bad_fcs = bytearray(radiotap(probe, dot11_probe(probe), with_fcs=True))
    bad_fcs[8] |= 0x40  # radiotap flags: FCS failed
    version_1 = bytearray(good)
    version_1[len(good) - len(dot11_probe(probe))] |= 0x01
    truncated_elements = radiotap(probe, dot11_probe(probe)[:-3])
    parser, result = _parse_frames(
        [good, too_long_radiotap, short_80211, bytes(bad_fcs), bytes(version_1), truncated_elements]
    )
    counters = parser.counters()
    assert len(result.batch) == 2, "the good probe and the one whose last element is cut are kept"
    assert counters["frames"] == 6
    assert counters["bad_radio_header"] == 1
    assert counters["short_frame"] == 1
    assert counters["bad_fcs"] == 1
    assert counters["bad_80211_version"] == 1
    assert counters["probes_bad_ies"] == 1


def test_skipped_frames_are_counted_by_kind() -> None:
    probe = _probes(1)[0]
    frames = [radiotap(probe, dot11_beacon())] * 3 + [radiotap(probe, dot11_probe_response())] * 2
    data = bytes.fromhex("08420000") + bytes(20)  # a data frame
    ack = bytes.fromhex("d4000000") + bytes(6)  # a control frame
    parser, result = _parse_frames([*frames, radiotap(probe, data), radiotap(probe, ack)])
    assert len(result.batch) == 0
    assert parser.skipped_by_kind() == {"beacon": 3, "probe response": 2, "data": 1, "control": 1}


def test_management_frame_with_ht_control_field() -> None:
    """+HTC/Order set on a management frame: 4 bytes of HT control before the elements."""
    probe = _probes(1)[0]
    frame = bytearray(dot11_probe(probe))
    frame[1] |= 0x80
    frame[24:24] = b"\x00\x00\x00\x00"
    _, result = _parse_frames([radiotap(probe, bytes(frame))])
    assert result.batch.mac.tolist() == [probe.mac_int]
    assert not (result.batch.flags & 0x04).any(), "the elements start after the HT control field"


def test_bare_80211_fcs_is_recognised_without_a_flag() -> None:
    """Link type 105 has no radio header to say whether an FCS follows; an element
    list that ends exactly four bytes early is a frame with its FCS."""
    probe = _probes(1)[0]
    frame = dot11_probe(probe)
    parser, result = _parse_frames([frame + fcs(frame), frame], linktype=105)
    assert len(result.batch) == 2
    assert len(set(result.batch.layout.tolist())) == 1
    assert parser.counters()["probes_bad_ies"] == 0


def test_records_split_across_buffers_are_parsed_once(tmp_path: Path) -> None:
    probes = _probes(30)
    data = write_pcap(tmp_path / "s.pcap", 127, link_records("radiotap", probes)).read_bytes()
    for step in (1, 7, 100, 4096):
        parser, pending, macs = ProbeParser(), b"", []
        for start in range(0, len(data), step):
            pending += data[start : start + step]
            result = parser.parse(pending)
            macs += result.batch.mac.tolist()
            pending = pending[result.consumed :]
        assert macs == [p.mac_int for p in probes]
        assert pending == b""


def test_shared_captures_folder_is_present() -> None:
    assert (SHARED_CAPTURES / "brno").is_dir()
