"""No raw MAC, no SSID and no unkeyed hash of a MAC reaches a file or the console,
on the real captures and on a synthetic store full of directed probes."""

from __future__ import annotations

import functools
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from capture_files import SHARED_CAPTURES
from conftest import Collected
from footfall_command import run_footfall
from reference_dissectors import tshark_fields
from synthetic_store import StoreSpec, generate


@functools.cache
def _macs_and_ssids(capture: Path) -> tuple[frozenset[bytes], frozenset[bytes]]:
    """Every address (any role) and every SSID in a capture, from tshark (read once per session)."""
    rows = tshark_fields(capture, ["wlan.sa", "wlan.ta", "wlan.ra", "wlan.bssid", "wlan.ssid"])
    macs, ssids = set(), set()
    for *addresses, ssid_field in rows:
        for field in addresses:
            for mac in filter(None, field.split(",")):
                macs.add(bytes.fromhex(mac.replace(":", "")))
        for ssid in filter(None, ssid_field.split(",")):
            if ssid != "<MISSING>":
                ssids.add(_ssid_bytes(ssid))
    macs -= {b"\xff" * 6, b"\x00" * 6}  # broadcast and null addresses name nobody
    return frozenset(macs), frozenset(s for s in ssids if len(s) >= 4)


def _ssid_bytes(text: str) -> bytes:
    try:
        return (
            bytes.fromhex(text) if len(text) % 2 == 0 and all(c in "0123456789abcdef" for c in text) else text.encode()
        )
    except ValueError:
        return text.encode()


_HEX_RUN = re.compile(rb"[0-9a-fA-F]{12,}")
_SEPARATED = re.compile(rb"[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){5}|[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}")


def _text_macs(blob: bytes) -> set[bytes]:
    """Every address spelled out in text: aa:bb:.., aa-bb-.., aabb.ccdd.eeff, or 12 hex
    digits anywhere inside a longer run of hex digits."""
    found = {bytes.fromhex(re.sub(rb"[:.-]", b"", m).decode()) for m in _SEPARATED.findall(blob)}
    for run in _HEX_RUN.findall(blob):
        for i in range(0, len(run) - 11):
            found.add(bytes.fromhex(run[i : i + 12].decode()))
    return found


def _binary_macs(blob: bytes, macs: np.ndarray) -> bool:
    """Whether any 6-byte window of the blob is one of the addresses."""
    if len(blob) < 6:
        return False
    data = np.frombuffer(blob, np.uint8).astype(np.uint64)
    windows = np.zeros(len(blob) - 5, np.uint64)
    for i in range(6):
        windows = (windows << np.uint64(8)) | data[i : len(blob) - 5 + i]
    return bool(np.isin(windows, macs).any())


# A needle is looked for in random bytes only when chance would put it there less often
# than this. Else a salted output fails the scan by chance: the shared captures' SSIDs of
# 4 letters ("WLAN"-like) are in their ~1.2 MB of compressed Parquet once in ~110 runs,
# one of their 13,000 addresses' 6 bytes once in ~18,000 runs.
CHANCE = 1e-9


def _is_text(blob: bytes) -> bool:
    """Text (a log, a record, a decoded value) is searched for everything; other bytes
    (compressed pages, a salt) look random."""
    try:
        blob.decode()
    except UnicodeDecodeError:
        return False
    return b"\0" not in blob


def _ssid_odds(ssid: bytes) -> float:
    """The chance that a random byte starts the SSID (case-insensitively)."""
    odds = 1.0
    for byte in ssid.lower():
        odds *= (2 if 0x61 <= byte <= 0x7A else 1) / 256
    return odds


def _by_chance(size: int, needles: int, odds: float) -> float:
    """How often `needles` needles of these odds each occur by chance in `size` random bytes."""
    return size * needles * odds


def _unkeyed(mac: bytes) -> set[int]:
    """Unkeyed hashes of the address (raw and as text), as 64-bit column values."""
    hexed = mac.hex()
    texts = [hexed, ":".join(hexed[i : i + 2] for i in range(0, 12, 2))]
    values = set()
    for message in [mac, *(t.encode() for t in texts), *(t.upper().encode() for t in texts)]:
        for name in ("sha256", "sha1", "md5"):
            digest = hashlib.new(name, message).digest()
            values.add(int.from_bytes(digest[:8], "big", signed=True))
            values.add(int.from_bytes(digest[:8], "little", signed=True))
    values.add(int.from_bytes(mac, "big"))
    return values


def assert_nothing_leaks(root: Path, console: str, macs: set[bytes], ssids: set[bytes], inputs: Path) -> None:
    """Scans every file under root and the console output (where the capture file
    names the user typed are allowed: 'aircrack-ng_wpa2-psk-linksys.cap' is not a leak)."""
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files, "nothing was written"
    mac_ints = np.array(sorted(int.from_bytes(m, "big") for m in macs), np.uint64)
    unkeyed = set().union(*(_unkeyed(mac) for mac in macs))

    def check(blob: bytes, where: str) -> None:
        # random bytes (a salt, compressed Parquet pages) are searched only for what they
        # cannot hold by chance; what they encode is decoded and searched for everything
        text = _is_text(blob)
        assert not (_text_macs(blob) & macs), f"{where} spells out a MAC address"
        if text or _by_chance(len(blob), len(macs), 2.0**-48) < CHANCE:
            assert not _binary_macs(blob, mac_ints), f"{where} holds the 6 bytes of a MAC address"
        lowered = blob.lower()
        wanted = [s for s in ssids if text or _by_chance(len(blob), 1, _ssid_odds(s)) < CHANCE]
        leaked = [ssid for ssid in wanted if ssid.lower() in lowered]
        assert not leaked, f"{where} holds an SSID"

    for path in files:
        check(path.read_bytes(), str(path.relative_to(root)))
        if path.suffix == ".parquet":  # compressed pages hide values from a byte scan: decode them too
            table = pq.read_table(path)
            names = [*table.schema.names, *(f"{k!r}={v!r}" for k, v in (table.schema.metadata or {}).items())]
            check("\n".join(names).encode(), f"{path.name}: the schema")
            for column in table.column_names:
                values = table.column(column).to_pylist()
                assert not unkeyed & set(values), f"{path.name}:{column} holds an unkeyed hash of a MAC"
                kind = table.schema.field(column).type
                if pa.types.is_integer(kind):
                    # a number is no spelling: its decimal digits read as hex would match an
                    # address made of decimal digits by chance; as a value it is checked above
                    continue
                joined = b"\n".join(values) if pa.types.is_binary(kind) else "\n".join(map(str, values)).encode()
                check(joined, f"{path.name}:{column}")
    named = re.sub(re.escape(str(inputs)) + r"\S*", "<capture>", console)
    check(named.encode(), "the console output")


def test_real_captures_leave_no_mac_or_ssid_anywhere(shared_outputs: Collected) -> None:
    """Through every tier: sightings, heartbeats, visits, marts, and the run state."""
    macs, ssids = set(), set()
    for capture in shared_outputs.captures:
        found_macs, found_ssids = _macs_and_ssids(capture)
        macs |= found_macs
        ssids |= found_ssids
    assert len(macs) > 10_000 and len(ssids) > 100, "the reference found the addresses and names to look for"
    assert_nothing_leaks(shared_outputs.workspace, shared_outputs.console, macs, ssids, SHARED_CAPTURES)


def test_synthetic_directed_probes_leave_no_ssid(workspace: Path, tmp_path: Path) -> None:
    spec = StoreSpec(visitors=40, passersby=40, directed_share=1.0, randomized_share=0.5)
    generate(tmp_path / "store", spec, seed=7)
    capture = tmp_path / "store" / "s1.pcap"
    optout = run_footfall("optout", "add", "02:00:00:00:00:01", cwd=workspace)
    assert optout.returncode == 0
    run = run_footfall("collect", capture, "--store", "syn", "--sensor", "s1", cwd=workspace)
    assert run.returncode == 0, run.output
    macs, ssids = _macs_and_ssids(capture)
    assert any(s.startswith(b"HomeNet-") for s in ssids)
    assert_nothing_leaks(workspace, run.output + optout.output, macs | {bytes.fromhex("020000000001")}, ssids, tmp_path)


@pytest.mark.parametrize("command", [["optout", "add", "12:34:56:78:9a:bg"], ["optout", "add", "12:34:56:78:9a"]])
def test_a_mistyped_address_is_not_echoed(workspace: Path, command: list[str]) -> None:
    run = run_footfall(*command, cwd=workspace)
    assert run.returncode == 1 and "not a MAC address" in run.stderr
    assert command[-1] not in run.output


@pytest.mark.parametrize("plant", ["text", "upper-dashed", "raw-bytes", "ssid", "unkeyed-sha256", "console"])
def test_the_scan_catches_planted_leaks(tmp_path: Path, plant: str) -> None:
    """The scanner above is the test's oracle: it must see each kind of leak; and the
    library's audit, checked against it here, must see it too."""
    mac, ssid = bytes.fromhex("3c5a10203040"), b"Grandma-Home"
    columns = {"device": pa.array([1, 2], pa.int64())}
    console = "all fine"
    if plant == "text":
        columns["note"] = pa.array(["seen 3c:5a:10:20:30:40", ""])
    elif plant == "upper-dashed":
        columns["note"] = pa.array(["3C-5A-10-20-30-40", ""])
    elif plant == "raw-bytes":
        columns["blob"] = pa.array([b"\x00" + mac, b""], pa.binary())
    elif plant == "ssid":
        columns["note"] = pa.array(["probing for Grandma-Home", ""])
    elif plant == "unkeyed-sha256":
        columns["device"] = pa.array([int.from_bytes(hashlib.sha256(mac).digest()[:8], "big", signed=True), 2])
    else:
        console = "frame from 3c5a10203040"
    root = tmp_path / "data"
    # a published part of today (a file outside the layout would be a finding of its own)
    part = root / "sightings" / "store=s" / f"date={datetime.now(UTC).date()}" / "part.parquet"
    part.parent.mkdir(parents=True)
    pq.write_table(pa.table(columns), part, compression="zstd")
    with pytest.raises(AssertionError):
        assert_nothing_leaks(root, console, {mac}, {ssid}, tmp_path / "captures")
    if plant != "console":  # the library audit sees the same leak, given a capture of that phone
        assert _library_audit(tmp_path, mac, ssid) == [(PLANTED_RULE[plant], part)]


PLANTED_RULE = {
    "text": "mac-text",
    "upper-dashed": "mac-text",
    "raw-bytes": "mac-bytes",
    "ssid": "ssid",
    "unkeyed-sha256": "unkeyed-hash",
}


def _library_audit(folder: Path, mac: bytes, ssid: bytes) -> list[tuple[str, Path]]:
    """`footfall privacy audit --against` a capture of one probe from `mac` for `ssid`."""
    from footfall.config import load_settings
    from footfall.privacy.audit import audit

    from capture_builder import Probe, Record, dot11_probe, radiotap, write_pcap

    probe = Probe(ts_us=1_700_000_000_000_000, mac=mac.hex(":"), rssi=-50, freq=2437, seq=1, ssid=ssid)
    capture = write_pcap(folder / "phone.pcap", 127, [Record(probe.ts_us, radiotap(probe, dot11_probe(probe)))])
    (folder / "footfall.toml").write_text('data_dir = "data"\nsecrets_dir = "secrets"\n')
    result = audit(load_settings(folder / "footfall.toml"), against=[capture])
    return [(finding.rule, finding.file) for finding in result.findings]
