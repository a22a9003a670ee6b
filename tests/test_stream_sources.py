"""Reading an endless stream: incremental decompression, timeouts, end of stream, draining."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import random

import pytest

from footfall.collector.stream_sources import PipeSource, StreamDecoder
from footfall.errors import CaptureError

PAYLOAD = bytes(random.Random(8).randrange(256) for _ in range(50_000)) * 20  # 1 MB, compressible


@pytest.mark.parametrize(
    ("kind", "compress"),
    [
        (None, lambda data: data),
        ("gzip", gzip.compress),
        ("gzip", lambda data: gzip.compress(data[:300_000]) + gzip.compress(data[300_000:])),  # two members
        ("bzip2", bz2.compress),
        ("xz", lzma.compress),
    ],
)
def test_any_cut_of_a_compressed_stream_decodes_whole_in_bounded_pieces(kind, compress) -> None:
    raw = compress(PAYLOAD)
    decoder = StreamDecoder("<stdin>")
    rng = random.Random(1)
    out, pos, largest = [], 0, 0
    while pos < len(raw):
        step = rng.choice([1, 5, 999, 65_536])
        decoder.push(raw[pos : pos + step])
        pos += step
        while piece := decoder.pull(limit=100_000):
            largest = max(largest, len(piece))
            out.append(piece)
    decoder.end()
    while piece := decoder.pull(limit=100_000):
        out.append(piece)
    assert b"".join(out) == PAYLOAD
    assert decoder.compression == kind
    assert not decoder.truncated() and decoder.damaged is None
    assert largest <= 100_000 or kind is None


def test_a_cut_or_damaged_compressed_stream_is_told() -> None:
    raw = gzip.compress(PAYLOAD)
    cut = StreamDecoder("s")
    cut.push(raw[: len(raw) // 2])
    assert 0 < len(cut.pull()) < len(PAYLOAD)
    cut.end()
    assert cut.truncated()
    damaged = StreamDecoder("s")
    damaged.push(raw[:10] + bytes(100) + raw[110:])
    damaged.pull()
    assert damaged.damaged is not None and damaged.damaged.startswith("gzip data damaged")


def test_zstd_is_refused_with_the_fix() -> None:
    decoder = StreamDecoder("<stdin>")
    with pytest.raises(CaptureError, match="zstd -dc"):
        decoder.push(b"\x28\xb5\x2f\xfd" + bytes(10))


def test_a_pipe_source_waits_drains_what_is_there_and_sees_the_end() -> None:
    read_end, write_end = os.pipe()
    source = PipeSource(read_end, "<pipe>")
    try:
        assert source.read(0.05) == b"", "nothing yet: the wait times out"
        os.write(write_end, b"\xd4\xc3\xb2\xa1" + b"x" * 1000)
        assert source.read(1.0) == b"\xd4\xc3\xb2\xa1" + b"x" * 1000
        os.write(write_end, b"y" * 3000)
        assert source.drain() == b"y" * 3000, "a stop request takes exactly what was written"
        os.close(write_end)
        assert source.read(1.0) is None
    finally:
        source.close()


def test_a_damaged_gzip_stream_that_arrived_at_once_keeps_what_came_before_the_damage() -> None:
    """zlib drops the output of the call that meets the damage: it is fed in bounded
    steps, so only the last step's output can be lost, not everything before."""
    rng = random.Random(9)
    words = [bytes(rng.randrange(97, 123) for _ in range(rng.randrange(3, 9))) for _ in range(2000)]
    payload = b" ".join(rng.choice(words) for _ in range(600_000))  # text-like: about 3.5 MB, 1.3 MB gzipped
    raw = gzip.compress(payload)
    middle = len(raw) // 2
    decoder = StreamDecoder("s")
    decoder.push(raw[:middle] + bytes(100) + raw[middle + 100 :])
    out = []
    while piece := decoder.pull():
        out.append(piece)
    kept = b"".join(out)
    assert decoder.damaged is not None  # told, here by the checksum at the end
    intact = next((i for i, (a, b) in enumerate(zip(kept, payload, strict=False)) if a != b), len(kept))
    assert intact > 0.4 * len(payload), (intact, len(payload))  # the damage is half way through
