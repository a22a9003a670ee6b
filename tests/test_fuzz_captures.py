"""Mutated and truncated captures: never an uncaught exception, and the good frames
are still read (property-based, with hypothesis)."""

from __future__ import annotations

import random
import re
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footfall.collector.capture_sources import CaptureSource
from footfall.collector.collect import Collector
from footfall.collector.probe_parser import STATUS_FULL, ProbeParser
from footfall.config import load_settings

from capture_builder import (
    Interface,
    Probe,
    Record,
    dot11_beacon,
    dot11_probe,
    ppi,
    radiotap,
    radiotap_extended,
    write_pcap,
    write_pcapng,
)
from capture_files import SHARED_CAPTURES

PROBES = [
    Probe(
        1_700_000_000_000_000 + i * 7_000_123,
        f"3c:5a:00:00:{i:02x}:01",
        -40 - i,
        2437,
        i * 3,
        b"net" if i % 4 == 0 else b"",
    )
    for i in range(16)
]


def _pcap_bytes(tmp: Path) -> tuple[bytes, list[int]]:
    """A radiotap pcap (probes and beacons, extended headers too) and each record's end offset."""
    records = []
    for i, probe in enumerate(PROBES):
        wrap = radiotap_extended if i % 3 == 0 else radiotap
        records.append(Record(probe.ts_us, wrap(probe, dot11_probe(probe))))
        records.append(Record(probe.ts_us + 1, radiotap(probe, dot11_beacon())))
    data = write_pcap(tmp / "base.pcap", 127, records).read_bytes()
    ends, pos = [], 24
    for record in records:
        pos += 16 + len(record.data)
        ends.append(pos)
    return data, ends


def _pcapng_bytes(tmp: Path) -> bytes:
    records = [
        Record(p.ts_us, (ppi if i % 2 else radiotap)(p, dot11_probe(p)), interface=i % 2) for i, p in enumerate(PROBES)
    ]
    return write_pcapng(tmp / "base.pcapng", [Interface(127), Interface(192, tsresol=9)], records).read_bytes()


def _parse_all(data: bytes) -> tuple[list[int], ProbeParser]:
    parser, macs, pos = ProbeParser(), [], 0
    while True:
        result = parser.parse(memoryview(data)[pos:])
        pos += result.consumed
        macs += result.batch.mac.tolist()
        if result.status != STATUS_FULL:
            return macs, parser


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[bytes, list[int], bytes]:
    tmp = tmp_path_factory.mktemp("fuzz")
    data, ends = _pcap_bytes(tmp)
    return data, ends, _pcapng_bytes(tmp)


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(cut=st.integers(min_value=0, max_value=10_000))
def test_a_truncated_capture_yields_every_whole_frame_before_the_cut(base, cut: int) -> None:
    data, ends, _ = base
    cut = min(cut, len(data))
    macs, _ = _parse_all(data[:cut])
    whole = sum(1 for i, end in enumerate(ends) if end <= cut and i % 2 == 0)
    assert macs == [p.mac_int for p in PROBES[:whole]]


@FUZZ
@given(data=st.data())
def test_mutations_never_raise_and_frames_before_them_survive(base, data) -> None:
    original, ends, _ = base
    mutated = bytearray(original)
    positions = data.draw(st.lists(st.integers(min_value=0, max_value=len(original) - 1), min_size=1, max_size=8))
    for position in positions:
        mutated[position] = data.draw(st.integers(min_value=0, max_value=255))
    first = min(p for p in positions if mutated[p] != original[p]) if bytes(mutated) != original else len(original)
    macs, parser = _parse_all(bytes(mutated))
    intact = sum(1 for i, end in enumerate(ends) if end <= first and i % 2 == 0)
    assert macs[:intact] == [p.mac_int for p in PROBES[:intact]]
    counters = parser.counters()
    assert counters["probes"] == len(macs)


@FUZZ
@given(data=st.data())
def test_mutated_pcapng_never_raises(base, data) -> None:
    _, _, original = base
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(min_value=1, max_value=12))):
        position = data.draw(st.integers(min_value=0, max_value=len(original) - 1))
        mutated[position] = data.draw(st.integers(min_value=0, max_value=255))
    cut = data.draw(st.integers(min_value=0, max_value=len(mutated)))
    macs, _ = _parse_all(bytes(mutated[:cut]))
    assert len(macs) <= len(PROBES) * 2


@FUZZ
@given(noise=st.binary(min_size=0, max_size=600))
def test_random_bytes_after_a_valid_header_never_raise(base, noise: bytes) -> None:
    data, _, ng = base
    _parse_all(data[:24] + noise)
    _parse_all(ng[:28] + noise)
    _parse_all(noise)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_whole_collector_survives_mutations(tmp_path: Path, base, data) -> None:
    """Through pseudonymisation and Parquet too (odd timestamps, odd link types)."""
    original = bytearray(base[0] if data.draw(st.booleans()) else base[2])
    for _ in range(data.draw(st.integers(min_value=1, max_value=20))):
        original[data.draw(st.integers(min_value=0, max_value=len(original) - 1))] = data.draw(st.integers(0, 255))
    case = Path(tempfile.mkdtemp(dir=tmp_path))
    capture = case / "m.pcap"
    capture.write_bytes(bytes(original[: data.draw(st.integers(min_value=0, max_value=len(original)))]))
    settings_ = load_settings(data_dir=case / "data")
    with Collector(settings_, "fuzz", "s1") as collector:
        report = collector.collect(CaptureSource(str(capture), capture))
    assert report.status in ("ok", "failed")
    assert report.kept >= 0


def test_real_capture_truncated_at_every_kilobyte(tmp_path: Path) -> None:
    capture = SHARED_CAPTURES / "formats" / "iot_indoor_location_irt_test.pcapng"
    data = capture.read_bytes()
    full, _ = _parse_all(data)
    previous: list[int] = []
    for cut in range(0, len(data), 65_536):
        macs, _ = _parse_all(data[:cut])
        assert macs == full[: len(macs)] and len(macs) >= len(previous)
        previous = macs


# --- seeded mutations of every link type and container --------------------------------------

MUTATIONS_PER_CAPTURE = 40  # x 36 captures: 1,440 cases, a few seconds
FUZZ_PROBES = [
    Probe(1_700_000_000_000_000 + i * 3_000_017, f"{0xDA + i:02x}:a1:19:e7:{i:02x}:3b", -45 - i, 2437, i * 7, b"")
    for i in range(8)
]


def _windows(macs: list[int]) -> set[int]:
    """4- and 5-byte windows of the addresses, as integers in both byte orders."""
    found = set()
    for mac in macs:
        raw = mac.to_bytes(6, "big")
        for width in (4, 5):
            for start in range(7 - width):
                window = raw[start : start + width]
                found |= {int.from_bytes(window, "big"), int.from_bytes(window, "little")}
    return found


def _mutate(data: bytes, rng: random.Random) -> tuple[bytes, int]:
    """A damaged copy and the offset of its first changed byte (len(data) if none)."""
    mutated = bytearray(data)
    kind = rng.choice(["flip", "length", "cut", "insert"])
    if kind == "flip":
        positions = [rng.randrange(len(data)) for _ in range(rng.randint(1, 6))]
        for position in positions:
            mutated[position] ^= 1 << rng.randrange(8)
        return bytes(mutated), min(positions)
    if kind == "length":  # a record or block length anywhere it could be read from
        position = rng.randrange(0, len(data) - 4)
        struct.pack_into(
            "<I", mutated, position, rng.choice([0, 3, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, rng.getrandbits(32)])
        )
        return bytes(mutated), position
    if kind == "cut":
        cut = rng.randrange(len(data))
        return bytes(mutated[:cut]), cut
    position = rng.randrange(len(data))
    return bytes(mutated[:position]) + rng.randbytes(rng.randint(1, 40)) + bytes(mutated[position:]), position


def _parse_in_pieces(data: bytes, rng: random.Random) -> tuple[list[int], ProbeParser]:
    """As the collector does: pieces of random size, a cut record waiting for the next."""
    parser, macs, tail, pos = ProbeParser(), [], b"", 0
    while pos < len(data):
        step = rng.choice([1, 7, 64, 1500, 65_536])
        view = memoryview(tail + data[pos : pos + step])
        pos += step
        used = 0
        while True:
            result = parser.parse(view[used:], max_rows=rng.choice([1, 3, None]))
            used += result.consumed
            macs += result.batch.mac.tolist()
            assert ((result.batch.ts_us >= 0) & (result.batch.ts_us < 7_258_118_400_000_000)).all()
            if result.status != STATUS_FULL:
                break
        tail = bytes(view[used:])
        if parser.error:
            break
    return macs, parser


def test_seeded_mutations_of_every_link_type_and_container(tmp_path: Path) -> None:
    """Whatever the damage: no exception, every whole record before it read as written,
    counts that add up, and an error message that prints nothing read from the input."""
    from capture_builder import every_link_type

    rng = random.Random(16)
    windows = _windows([p.mac_int for p in FUZZ_PROBES])
    cases = 0
    for name, path in every_link_type(tmp_path, FUZZ_PROBES).items():
        original = path.read_bytes()
        clean, _ = _parse_in_pieces(original, rng)
        assert clean == [p.mac_int for p in FUZZ_PROBES], name
        for _ in range(MUTATIONS_PER_CAPTURE):
            mutated, first_change = _mutate(original, rng)
            macs, parser = _parse_in_pieces(mutated, rng)
            cases += 1
            counters = parser.counters()
            assert counters["probes"] == len(macs) <= counters["frames"], name
            intact = _records_before(original, first_change)
            assert macs[: len(intact)] == intact, (name, first_change)
            if parser.error:
                numbers = {int(n) for n in re.findall(r"\d+", parser.error)}
                assert not numbers & windows and max(numbers, default=0) <= max(len(mutated), 65_535), parser.error
    assert cases == 36 * MUTATIONS_PER_CAPTURE


def _records_before(data: bytes, end: int) -> list[int]:
    """The probes of the records wholly before `end`, as an undamaged parse reads them."""
    parser = ProbeParser()
    macs = []
    pos = 0
    while True:
        result = parser.parse(memoryview(data)[: max(end, 0)][pos:])
        pos += result.consumed
        macs += result.batch.mac.tolist()
        if result.status != STATUS_FULL:
            return macs
