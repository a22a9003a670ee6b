"""Pseudonyms: HMAC-SHA256 under the epoch's salt, verifiable by a privacy officer;
stable within an epoch and across a store's sensors, unlinkable across epochs;
opted-out devices dropped before anything is written."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from Crypto.Hash import HMAC, SHA256
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.collector.anonymiser import Anonymiser
from footfall.collector.keyed_hash import KeyedHash
from footfall.collector.optout import OptOutList
from footfall.collector.probe_parser import ProbeBatch
from footfall.collector.salts import SaltStore
from footfall.epochs import StoreCalendar

from capture_builder import Probe, Record, dot11_probe, radiotap, write_pcap
from capture_files import SHARED_CAPTURES
from footfall_command import read_sightings, run_footfall
from reference_dissectors import tshark_probes


def _reference(key: bytes, message: bytes) -> int:
    return int.from_bytes(HMAC.new(key, message, SHA256).digest()[:8], "big", signed=True)


@settings(max_examples=200, deadline=None)
@given(key=st.binary(min_size=0, max_size=100), messages=st.lists(st.binary(max_size=80), max_size=20))
def test_keyed_hash_is_pycryptodome_hmac_sha256(key: bytes, messages: list[bytes]) -> None:
    fast = KeyedHash(key)
    public = KeyedHash(key, allow_fast=False)
    expected = [_reference(key, m) for m in messages]
    assert fast.int64s(messages) == expected
    assert public.int64s(messages) == expected
    for message in messages[:3]:
        assert fast.digest(message) == HMAC.new(key, message, SHA256).digest()


def test_fast_path_is_in_use() -> None:
    """The bench relies on it; if pycryptodome's internals change it falls back, and this says so."""
    assert KeyedHash(os.urandom(32)).fast


def _batch(macs: list[int], ts: list[int]) -> ProbeBatch:
    n = len(macs)
    return ProbeBatch(
        ts_us=np.array(ts, np.int64),
        mac=np.array(macs, np.uint64),
        rssi=np.full(n, -50, np.int8),
        freq=np.full(n, 2437, np.uint16),
        seq=np.arange(n, dtype=np.uint16),
        flags=np.ones(n, np.uint8),
        layout=np.full(n, 7, np.uint64),
    )


def _anonymiser(tmp_path: Path, store: str = "demo", timezone: str = "Europe/Prague") -> Anonymiser:
    salts = SaltStore(tmp_path / "secrets", timedelta(hours=6))
    optout = OptOutList(tmp_path / "secrets", tmp_path / "secrets" / "optout.txt")
    return Anonymiser(store, StoreCalendar(timezone, "day"), salts, optout)


NOON = int(datetime(2024, 3, 15, 11, 0, tzinfo=UTC).timestamp() * 1e6)  # 12:00 in Prague


def test_pseudonym_is_the_hmac_of_the_six_mac_bytes_under_the_days_salt(tmp_path: Path) -> None:
    anonymiser = _anonymiser(tmp_path)
    macs = [0x3C5A10203040, 0x025A10203041, 0x3C5A10203040]
    sightings = anonymiser.apply(_batch(macs, [NOON, NOON + 1, NOON + 2]))
    salt = (tmp_path / "secrets" / "salts" / "demo" / "2024-03-15.salt").read_bytes()
    expected = [_reference(salt, mac.to_bytes(6, "big")) for mac in macs]
    assert sightings.device.tolist() == expected
    assert sightings.randomized.tolist() == [False, True, False]
    assert len(set(expected)) == 2


def test_same_device_same_pseudonym_within_an_epoch_different_across_epochs(tmp_path: Path) -> None:
    anonymiser = _anonymiser(tmp_path)
    mac = 0x3C5A10203040
    prague_midnight = int(datetime(2024, 3, 15, 23, 0, tzinfo=UTC).timestamp() * 1e6)
    first = anonymiser.apply(_batch([mac, mac], [NOON, prague_midnight - 1]))
    second = anonymiser.apply(_batch([mac], [prague_midnight]))
    assert first.device[0] == first.device[1]
    assert second.device[0] != first.device[0]
    assert first.epoch.labels == ["2024-03-15"] and second.epoch.labels == ["2024-03-16"]
    salts = sorted(p.name for p in (tmp_path / "secrets" / "salts" / "demo").glob("*.salt"))
    assert salts == ["2024-03-15.salt", "2024-03-16.salt"]
    # a later batch of the same epoch (e.g. another file) reuses the cached pseudonym
    assert anonymiser.apply(_batch([mac], [NOON + 5])).device[0] == first.device[0]


def test_two_sensors_of_a_store_share_pseudonyms(workspace: Path) -> None:
    """Brno 2024-02-08 was recorded by two sensors in one lab: an address both heard
    must be one device; the count of distinct devices equals the count of distinct MACs."""
    (workspace / "footfall.toml").write_text('[stores.lab]\ntimezone = "Europe/Prague"\n')
    captures = {s: SHARED_CAPTURES / "brno" / f"{s}_2024-02-08.pcap" for s in ("position_1", "position_2")}
    for sensor, capture in captures.items():
        run = run_footfall("collect", capture, "--store", "lab", "--sensor", sensor, cwd=workspace)
        assert run.returncode == 0, run.output
    table = read_sightings(workspace / "data")
    # the recording runs past local midnight: a pseudonym is per address and local day
    prague = ZoneInfo("Europe/Prague")

    def local_day(ts_us: int) -> str:
        return datetime.fromtimestamp(ts_us / 1e6, prague).date().isoformat()

    macs = {s: {(local_day(p.ts_us), p.mac) for p in tshark_probes(c)} for s, c in captures.items()}
    devices = {
        s: set(zip(table.loc[table["sensor"] == s, "epoch"], table.loc[table["sensor"] == s, "device"], strict=True))
        for s in captures
    }
    assert len(macs["position_1"] & macs["position_2"]) > 100
    assert len(devices["position_1"] & devices["position_2"]) == len(macs["position_1"] & macs["position_2"])
    assert len(devices["position_1"] | devices["position_2"]) == len(macs["position_1"] | macs["position_2"])


def test_different_stores_get_different_salts(tmp_path: Path) -> None:
    mac = [0x3C5A10203040]
    one = _anonymiser(tmp_path, "north").apply(_batch(mac, [NOON]))
    two = _anonymiser(tmp_path, "south").apply(_batch(mac, [NOON]))
    assert one.device[0] != two.device[0]


def test_opted_out_devices_are_dropped_in_memory(tmp_path: Path) -> None:
    optout = OptOutList(tmp_path / "secrets", tmp_path / "secrets" / "optout.txt")
    assert optout.add([bytes.fromhex("3c5a10203040")]) == 1
    assert optout.add([bytes.fromhex("3c5a10203040")]) == 0
    anonymiser = _anonymiser(tmp_path)
    sightings = anonymiser.apply(_batch([0x3C5A10203040, 0x3C5A10203041, 0x3C5A10203040], [NOON, NOON, NOON]))
    assert len(sightings) == 1 and anonymiser.opted_out_frames == 2
    stored = (tmp_path / "secrets" / "optout.txt").read_text()
    # the whole address must be absent; a 4-hex-digit prefix can occur by chance in a random hash
    assert "3c5a10203040" not in stored.lower() and len(stored.split()) == 1
    assert oct((tmp_path / "secrets" / "optout.txt").stat().st_mode & 0o777) == "0o600"


def test_optout_through_the_command(workspace: Path, tmp_path: Path) -> None:
    probes = [
        Probe(NOON + i, mac, -50, 2437, i) for i, mac in enumerate(["3c:5a:00:00:00:01", "3c:5a:00:00:00:02"] * 3)
    ]
    capture = write_pcap(tmp_path / "c.pcap", 127, [Record(p.ts_us, radiotap(p, dot11_probe(p))) for p in probes])
    added = run_footfall("optout", "add", "3C-5A-00-00-00-02", cwd=workspace)
    assert added.returncode == 0 and "1 device(s) added" in added.stdout
    assert "the opt-out list holds 1 device address(es)" in run_footfall("optout", "count", cwd=workspace).stdout
    run = run_footfall("collect", capture, "--store", "s", "--sensor", "x", cwd=workspace)
    assert "3 probe requests of opted-out devices dropped" in run.stdout
    assert len(read_sightings(workspace / "data")) == 3


@pytest.mark.parametrize("text", ["3c:5a:10:20:30:40", "3C-5A-10-20-30-40", "3c5a.1020.3040", "3c5a10203040"])
def test_address_spellings(text: str) -> None:
    from footfall.addresses import parse_mac

    assert parse_mac(text) == bytes.fromhex("3c5a10203040")


def test_the_hash_helper_process_gives_the_same_pseudonyms() -> None:
    from footfall.collector.keyed_hash import HashHelper

    salt = os.urandom(32)
    hasher = KeyedHash(salt)
    messages = [os.urandom(6) for _ in range(HashHelper.PARALLEL_MIN * 2 + 3)]
    helper = HashHelper()
    try:
        assert helper.int64s(salt, hasher, messages) == [_reference(salt, m) for m in messages]
        helper._process.kill()  # a helper that dies mid-run: hashing goes on locally
        helper._process.join()
        assert helper.int64s(salt, hasher, messages) == [_reference(salt, m) for m in messages]
    finally:
        helper.close()


def test_the_collector_process_writes_no_core_dump(tmp_path: Path) -> None:
    import resource

    from footfall.collector.collect import Collector
    from footfall.config import load_settings

    with Collector(load_settings(data_dir=tmp_path / "data"), "s", "x"):
        assert resource.getrlimit(resource.RLIMIT_CORE) == (0, 0)


def test_listed_equipment_is_dropped_in_memory(workspace: Path, tmp_path: Path) -> None:
    (workspace / "footfall.toml").write_text('[stores.lab]\nequipment = ["3c:5a:00", "02-11-22-33-44-55"]\n')
    macs = ["3c:5a:00:00:00:01", "3c:5a:01:00:00:02", "02:11:22:33:44:55", "02:11:22:33:44:56"]
    probes = [Probe(NOON + i, mac, -50, 2437, i) for i, mac in enumerate(macs * 2)]
    capture = write_pcap(tmp_path / "c.pcap", 127, [Record(p.ts_us, radiotap(p, dot11_probe(p))) for p in probes])
    run = run_footfall("collect", capture, "--store", "lab", "--sensor", "x", cwd=workspace)
    assert run.returncode == 0, run.output
    assert "4 probe requests of the store's listed equipment dropped" in run.stdout
    assert "probe requests kept 4" in " ".join(run.stdout.split())
    assert len(read_sightings(workspace / "data")) == 4


@pytest.mark.parametrize("entry", ["3c:5a:0", "zz:00", "", "3c:5a:00:00:00:00:01"])
def test_equipment_entries_are_validated(workspace: Path, entry: str) -> None:
    (workspace / "footfall.toml").write_text(f'[stores.lab]\nequipment = ["{entry}"]\n')
    run = run_footfall("collect", "-", "--store", "lab", "--sensor", "x", cwd=workspace, stdin=b"")
    assert run.returncode == 1 and "stores.lab.equipment" in run.stderr and "Traceback" not in run.output
