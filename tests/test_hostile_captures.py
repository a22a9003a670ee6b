"""Captures built to hurt: record lengths that point inside frames, headers that claim
gigabytes, damaged compression. Whatever comes in, no message carries a value read
from a frame or record, memory stays bounded, and a stream keeps what a file keeps."""

from __future__ import annotations

import gzip
import re
import struct
import zlib
from pathlib import Path

import pytest

from capture_builder import Interface, Probe, Record, dot11_probe, radiotap, write_pcap, write_pcapng
from capture_files import SAMPLE_CAPTURES
from footfall_command import run_footfall, run_measured

MIB = 1 << 20
# addresses whose every 4- and 5-byte window, read in either byte order, is a large number
ADDRESSES = ["da:a1:19:e7:5c:3b", "9e:f3:c2:d1:b4:a7", "e6:85:f4:93:a2:c1"]


def _probes() -> list[Probe]:
    return [Probe(1_710_000_000_000_000 + i * 1_000_000, ADDRESSES[i % len(ADDRESSES)], -50, 2437, i) for i in range(9)]


def _windows(mac: str) -> set[int]:
    """Every 4- and 5-byte window of an address as an integer, in both byte orders."""
    raw = bytes.fromhex(mac.replace(":", ""))
    found = set()
    for width in (4, 5):
        for start in range(7 - width):
            window = raw[start : start + width]
            found |= {int.from_bytes(window, "big"), int.from_bytes(window, "little")}
    return found


def _numbers(text: str) -> set[int]:
    """Every number a message prints, decimal or hex."""
    found = {int(n) for n in re.findall(r"\d+", text.replace(",", ""))}
    found |= {int(n, 16) for n in re.findall(r"(?i)\b(?:0x)?([0-9a-f]{6,})\b", text)}
    return found


def _misaligned_pcap(path: Path, window_start: int) -> Path:
    """Record 3's length grows so that the parser takes record 4's header from inside its
    frame, where the "captured length" is 4 bytes of the frame's source address."""
    probes = _probes()
    frames = [radiotap(p, dot11_probe(p)) for p in probes]
    write_pcap(path, 127, [Record(p.ts_us, f) for p, f in zip(probes, frames, strict=True)])
    data = bytearray(path.read_bytes())
    record = 24
    for frame in frames[:3]:
        record += 16 + len(frame)
    radio_len = struct.unpack_from("<H", frames[4], 2)[0]
    # the header read at record + 16 + shift has its caplen 8 bytes further: the address
    shift = len(frames[3]) + 16 + radio_len + 10 + window_start - 8
    struct.pack_into("<II", data, record + 8, shift, shift)
    path.write_bytes(bytes(data))
    return path


def _misaligned_pcapng(path: Path, window_start: int) -> Path:
    """An enhanced packet block whose length points into the next block's frame, so that
    the next "block length" is 4 bytes of a source address."""
    probes = _probes()
    frames = [radiotap(p, dot11_probe(p)) for p in probes]
    write_pcapng(path, [Interface(127)], [Record(p.ts_us, f) for p, f in zip(probes, frames, strict=True)])
    data = bytearray(path.read_bytes())
    pos, blocks = 0, []
    while pos < len(data):
        kind, length = struct.unpack_from("<II", data, pos)
        blocks.append((pos, kind, length))
        pos += length
    packets = [(start, length) for start, kind, length in blocks if kind == 6]
    start, length = packets[3]
    next_start = start + length
    radio_len = struct.unpack_from("<H", frames[4], 2)[0]
    address = next_start + 8 + 20 + radio_len + 10 + window_start  # block header, EPB fields, radio, 802.11
    new_length = address - 4 - start  # the next "block" starts 4 bytes before the address
    new_length -= new_length % 4
    address_field = start + new_length + 4
    struct.pack_into("<I", data, start + 4, new_length)
    struct.pack_into("<I", data, start + new_length - 4, new_length)  # a trailing length that agrees
    assert data[address_field : address_field + 4] != bytes(4)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("window_start", [0, 1, 2])
@pytest.mark.parametrize("build", [_misaligned_pcap, _misaligned_pcapng], ids=["pcap", "pcapng"])
def test_no_message_prints_a_value_read_from_inside_a_frame(
    workspace: Path, tmp_path: Path, build, window_start
) -> None:
    capture = build(tmp_path / f"misaligned-{window_start}.cap", window_start)
    run = run_footfall("collect", capture, "--store", "s", "--sensor", "x", cwd=workspace)
    assert run.returncode == 1, run.output
    assert "corrupt" in run.stderr, run.output  # the reader stopped there, and said so
    size = capture.stat().st_size
    windows = set().union(*(_windows(mac) for mac in ADDRESSES))
    printed = _numbers(run.output)
    assert not printed & windows, run.output
    assert all(number <= max(size, 9999) for number in printed), run.output  # offsets, counts, dates only


# --- memory on a lying header ------------------------------------------------------------------


ZEROS = 300_000_000


def _lying_header() -> bytes:
    """A pcap header with snaplen 0xFFFFFFFF, one good probe, then a record claiming 2 GB."""
    probe = _probes()[0]
    frame = radiotap(probe, dot11_probe(probe))
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 0xFFFFFFFF, 127)
    good = struct.pack("<IIII", 1_710_000_000, 0, len(frame), len(frame)) + frame
    liar = struct.pack("<IIII", 1_710_000_001, 0, 0x7FFFFFFF, 0x7FFFFFFF)
    return header + good + liar


@pytest.fixture(scope="module")
def lying_captures(tmp_path_factory) -> dict[str, Path]:
    """The lie followed by 300 MB of zeros, plain (sparse on disk) and gzipped."""
    folder = tmp_path_factory.mktemp("lying")
    plain = folder / "lying.pcap"
    with open(plain, "wb") as out:
        out.write(_lying_header())
        out.truncate(len(_lying_header()) + ZEROS)
    packed = folder / "lying.pcap.gz"
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    with open(packed, "wb") as out:
        out.write(compressor.compress(_lying_header()))
        block = bytes(8 * MIB)
        for _ in range(ZEROS // len(block)):
            out.write(compressor.compress(block))
        out.write(compressor.flush())
    return {"plain": plain, "gzip": packed}


@pytest.mark.parametrize(
    ("kind", "mode"), [("plain", "file"), ("gzip", "file"), ("plain", "stream"), ("gzip", "stream")]
)
def test_a_record_claiming_gigabytes_is_refused_in_bounded_memory(workspace: Path, lying_captures, kind, mode) -> None:
    capture = lying_captures[kind]
    source = ["-"] if mode == "stream" else [str(capture)]
    run, peak = run_measured(
        "collect", *source, "--store", "s", "--sensor", "x", cwd=workspace, stdin=capture if mode == "stream" else None
    )
    status, output = run.returncode, run.stdout
    assert status == 1, output
    assert "longer than any 802.11 frame" in output and "Traceback" not in output
    assert "2147483647" not in output and "4294967295" not in output
    assert "probe requests kept 1" in " ".join(output.split()), output  # the frame before the lie
    assert peak < 300 * MIB, f"peak RSS {peak / MIB:.0f} MiB"


# --- a damaged gzip stream keeps what the file keeps ---------------------------------------------------


def _kept(run) -> int:
    match = re.search(r"probe requests kept ([\d,]+)", " ".join(run.stdout.split()))
    return int(match.group(1).replace(",", "")) if match else 0


def _flip(data: bytes, position: int, bit: int = 0) -> bytes:
    damaged = bytearray(data)
    damaged[position] ^= 1 << bit
    return bytes(damaged)


def test_a_gzip_stream_with_a_flipped_checksum_bit_keeps_every_frame_of_the_file(
    workspace: Path, tmp_path: Path
) -> None:
    original = SAMPLE_CAPTURES / "brno_position_2_2024-03-15.pcap.gz"
    raw = original.read_bytes()
    assert gzip.decompress(raw)  # a single-member gzip: its CRC-32 is 8 bytes from the end
    damaged = tmp_path / "crc.pcap.gz"
    damaged.write_bytes(_flip(raw, len(raw) - 8))
    as_file = run_footfall("collect", damaged, "--store", "f", "--sensor", "x", cwd=workspace)
    as_stream = run_footfall("collect", "-", "--store", "p", "--sensor", "x", cwd=workspace, stdin=damaged.read_bytes())
    whole = run_footfall("collect", original, "--store", "w", "--sensor", "x", cwd=workspace)
    assert _kept(whole) > 1000
    assert _kept(as_file) == _kept(whole), as_file.output  # only the checksum is wrong: every frame is whole
    assert _kept(as_stream) == _kept(as_file), as_stream.output
    assert "damaged" in as_stream.output


@pytest.mark.parametrize("seed", range(6))
def test_a_damaged_gzip_stream_never_keeps_less_than_the_file(workspace: Path, tmp_path: Path, seed: int) -> None:
    import random

    rng = random.Random(seed)
    raw = (SAMPLE_CAPTURES / "brno_position_1_2024-03-15.pcap.gz").read_bytes()
    position = rng.randrange(20, len(raw) - 8)
    damaged = _flip(raw, position, rng.randrange(8))
    path = tmp_path / f"damaged-{seed}.pcap.gz"
    path.write_bytes(damaged)
    as_file = run_footfall("collect", path, "--store", "f", "--sensor", "x", cwd=workspace)
    as_stream = run_footfall("collect", "-", "--store", "p", "--sensor", "x", cwd=workspace, stdin=damaged)
    assert _kept(as_stream) >= _kept(as_file), (position, as_file.output, as_stream.output)
    for run in (as_file, as_stream):
        for line in run.output.splitlines():
            assert not ("empty" in line and "kept" in line), line


def test_a_stream_damaged_before_its_first_frame_does_not_claim_frames_were_kept(workspace: Path) -> None:
    raw = (SAMPLE_CAPTURES / "brno_position_1_2024-03-15.pcap.gz").read_bytes()
    damaged = raw[:12] + bytes(64) + raw[76:]  # the deflate data breaks before a whole pcap header
    run = run_footfall("collect", "-", "--store", "p", "--sensor", "x", cwd=workspace, stdin=damaged)
    assert run.returncode == 1
    assert "damaged" in run.output and "frames before the damage were kept" not in run.output
    assert "Traceback" not in run.output
