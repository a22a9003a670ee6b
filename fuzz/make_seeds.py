"""Seeds for the C parser's fuzzer (make fuzz): pieces of the real sample captures and
generated captures of every link type in every container (tests/capture_builder.py).

Each seed starts with the fuzz target's shape byte (how the stream is cut into reads
and how many rows a call may return; see probes_fuzzer.c), then a capture.

    python fuzz/make_seeds.py OUT_FOLDER
"""

from __future__ import annotations

import gzip
import struct
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from capture_builder import Probe, every_link_type  # noqa: E402

SEED_BYTES = 48 << 10  # libFuzzer mutates small inputs fastest
SHAPES = (0x00, 0x35, 0x7A, 0xFF)


def _pcap_slices(data: bytes) -> list[bytes]:
    """The first records of a pcap, and the header followed by records from its middle."""
    if len(data) < 24 or data[:4] not in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        return [data[:SEED_BYTES]]
    offsets, pos = [], 24
    while pos + 16 <= len(data):
        offsets.append(pos)
        pos += 16 + struct.unpack_from("<I", data, pos + 8)[0]
    middle = offsets[len(offsets) // 2] if offsets else 24
    return [data[:SEED_BYTES], data[:24] + data[middle : middle + SEED_BYTES - 24]]


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    captures: dict[str, bytes] = {}
    for path in sorted((REPO / "sample_captures").iterdir()):
        if path.suffix in (".gz", ".pcap", ".pcapng"):
            data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            for index, piece in enumerate(_pcap_slices(data)):
                captures[f"sample-{path.name.split('.')[0]}-{index}"] = piece
    probes = [
        Probe(1_700_000_000_000_000 + i * 1_000_003, f"{0x3C + 2 * i:02x}:5a:00:{i:02x}:10:20", -40 - i, 2437, i, b"")
        for i in range(4)
    ]
    with tempfile.TemporaryDirectory() as folder:
        for name, path in every_link_type(Path(folder), probes).items():
            captures[f"generated-{name}"] = path.read_bytes()
    for name, capture in captures.items():
        for shape in SHAPES:
            (out / f"{name}-{shape:02x}").write_bytes(bytes([shape]) + capture)
    print(f"{len(captures) * len(SHAPES)} seeds ({len(captures)} captures x {len(SHAPES)} read shapes) in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
