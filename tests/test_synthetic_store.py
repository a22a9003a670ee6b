"""The synthetic store generator: its captures hold what its truth says."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from reference_dissectors import parsed_probes
from synthetic_store import StoreSpec, generate


def test_captures_hold_exactly_the_probes_of_the_truth(tmp_path: Path) -> None:
    spec = StoreSpec(visitors=30, passersby=30, staff=2, fixed_devices=1, sensors=("s1", "s2"), beacons_per_probe=0.3)
    truth = generate(tmp_path, spec, seed=3)
    for sensor in spec.sensors:
        probes = parsed_probes(tmp_path / f"{sensor}.pcap")
        assert len(probes) == truth["probe_requests"]  # every probe heard by both sensors
        assert all(p.freq == 2437 for p in probes)
    assert sum(v["probes"] for v in truth["visits"]) == truth["probe_requests"]
    assert json.loads((tmp_path / "truth.json").read_text())["daily"] == truth["daily"]
    assert "[stores.synthetic]" in (tmp_path / "footfall.toml").read_text()


def test_truth_follows_the_design_rules(tmp_path: Path) -> None:
    spec = StoreSpec(visitors=60, passersby=60, staff=3, fixed_devices=2)
    truth = generate(tmp_path, spec, seed=5)
    visits = truth["visits"]
    by_class = Counter(v["klass"] for v in visits)
    assert by_class["visitor"] == truth["daily"]["visits"]
    for visit in visits:
        if visit["klass"] == "visitor":
            assert visit["peak_rssi"] >= spec.rssi_threshold_dbm and visit["dwell_s"] >= spec.min_dwell_min * 60
        if visit["klass"] == "passerby":
            assert visit["peak_rssi"] < spec.rssi_threshold_dbm or visit["dwell_s"] < spec.min_dwell_min * 60
    assert {v["role"] for v in visits if v["klass"] == "staff"} == {"staff", "fixed"}
    assert sum(truth["daily"]["dwell_buckets"].values()) == truth["daily"]["visits"]


def test_randomising_phones_rotate_their_addresses(tmp_path: Path) -> None:
    generate(tmp_path, StoreSpec(visitors=20, passersby=0, staff=0, fixed_devices=0, randomized_share=1.0), seed=2)
    probes = parsed_probes(tmp_path / "s1.pcap")
    addresses = {p.mac for p in probes}
    assert len(addresses) > 100, "a new address per scan"
    assert all((mac >> 41) & 1 for mac in addresses), "locally administered"


def test_same_seed_same_store(tmp_path: Path) -> None:
    spec = StoreSpec(visitors=10, passersby=10)
    generate(tmp_path / "a", spec, seed=9)
    generate(tmp_path / "b", spec, seed=9)
    assert (tmp_path / "a" / "s1.pcap").read_bytes() == (tmp_path / "b" / "s1.pcap").read_bytes()
