"""The simulated shop (synthetic_shop.py): its captures are valid probe requests that
hold what its sidecar says, and its truth follows from what the people did."""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from conftest import tshark_fields, tshark_probes
from shopsim import RANGES, ShopSpec, generate


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shop")
    generate(folder, seed=4, customers=60, sensors=("s1",))
    return folder


def _addresses(capture: Path) -> list[int]:
    """The transmitter address of every frame, in file order (footfall's parser, which
    tests/test_probe_parser.py holds to tshark and scapy)."""
    from footfall.collector.probe_parser import ProbeParser

    return ProbeParser().parse(capture.read_bytes()).batch.mac.tolist()


def _truth(folder: Path) -> dict:
    return json.loads((folder / "truth.json").read_text())


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_every_frame_is_a_valid_probe_request_as_the_sidecar_lists_it(shop: Path) -> None:
    frames = tshark_fields(shop / "s1.pcap", ["frame.number", "wlan.fc.type_subtype", "_ws.expert.severity"])
    assert frames and all(int(row[1], 16) == 4 for row in frames), "only probe requests"
    assert not [row for row in frames if row[2]], "tshark finds nothing malformed or suspicious"
    probes = tshark_probes(shop / "s1.pcap")
    sidecar = np.load(shop / "frames.npz")
    assert len(probes) == len(sidecar["s1_person"]) == _truth(shop)["sensors"][0]["frames"]
    assert [p.ts_us for p in probes] == sidecar["s1_ts_us"].tolist()
    assert [p.seq for p in probes] == sidecar["s1_seq"].tolist()
    assert all(p.freq in (2412, 2437, 2462) and -100 <= p.rssi <= -10 for p in probes)


def test_addresses_behave_as_each_phone_kind(shop: Path) -> None:
    """Global addresses: one per phone, all day. Randomising phones: locally
    administered addresses, never shared with another phone or another sweep."""
    truth = _truth(shop)
    kind = {p["person"]: p["phone"] for p in truth["people"]}
    sidecar = np.load(shop / "frames.npz")
    people, sweeps = sidecar["s1_person"].tolist(), sidecar["s1_sweep"].tolist()
    addresses: dict[int, set[int]] = defaultdict(set)
    owners: dict[int, set[int]] = defaultdict(set)
    sweeps_of: dict[int, set[int]] = defaultdict(set)
    for mac, person, sweep in zip(_addresses(shop / "s1.pcap"), people, sweeps, strict=True):
        addresses[person].add(mac)
        owners[mac].add(person)
        sweeps_of[mac].add(sweep)
    assert all(len(o) == 1 for o in owners.values()), "no address is shared by two phones"
    kinds = Counter(kind[p] for p in addresses)
    assert kinds["global"] and kinds["ios"] and kinds["android"]
    for person, macs in addresses.items():
        local = [(mac >> 41) & 1 for mac in macs]
        if kind[person] == "global":
            assert len(macs) == 1 and local == [0]
        else:
            assert all(local)
            assert all(len(sweeps_of[mac]) == 1 for mac in macs), "a new address for every sweep"


def test_no_randomisation_keeps_one_global_address_per_phone(tmp_path: Path) -> None:
    truth = generate(tmp_path, seed=4, customers=30, sensors=("s1",), randomization=False)
    people = np.load(tmp_path / "frames.npz")["s1_person"].tolist()
    addresses: dict[int, set[int]] = defaultdict(set)
    for mac, person in zip(_addresses(tmp_path / "s1.pcap"), people, strict=True):
        addresses[person].add(mac)
    assert len(addresses) > 30 and all(len(macs) == 1 for macs in addresses.values())
    assert not any((mac >> 41) & 1 for macs in addresses.values() for mac in macs)
    assert set(truth["phones"]["kinds"]) == {"global"}


def test_frames_come_from_people_in_range(shop: Path) -> None:
    """Every frame a sensor heard was sent while its person was around (in range)."""
    truth = _truth(shop)
    spans = {p["person"]: [(_ts(a), _ts(b)) for a, b in p["in_range"]] for p in truth["people"]}
    sidecar = np.load(shop / "frames.npz")
    for person, ts_us in zip(sidecar["s1_person"].tolist(), sidecar["s1_ts_us"].tolist(), strict=True):
        t = ts_us / 1e6
        assert any(a <= t <= b + 2 for a, b in spans[person]), (person, t)  # a sweep lasts < 2 s
    zone = ZoneInfo(truth["spec"]["timezone"])
    days = {datetime.fromtimestamp(t / 1e6, zone).date().isoformat() for t in sidecar["s1_ts_us"].tolist()}
    assert days == {truth["spec"]["day"]}, "one local day, up to midnight and not past it"
    roles = Counter(p["role"] for p in truth["people"])
    heard = Counter(truth["people"][p]["role"] for p in set(sidecar["s1_person"].tolist()))
    assert heard.keys() == roles.keys(), "customers, passers-by, staff and fixed devices are all heard"


def test_the_cast_is_the_spec(shop: Path) -> None:
    truth = _truth(shop)
    spec = truth["spec"]
    roles = Counter(p["role"] for p in truth["people"])
    assert roles["customer"] == spec["customers"] == truth["daily"]["customers_entered"]
    assert roles["passerby"] == round(spec["customers"] * spec["passersby_per_customer"]) == truth["daily"]["passersby"]
    assert roles["staff"] == spec["staff"] and roles["fixed"] == spec["fixed_devices"]
    assert truth["daily"]["in_platoons"] == round(roles["passerby"] * spec["platoon_share"])
    # every visit lies inside one stretch of its person's time around the shop
    spans = {p["person"]: [(_ts(a), _ts(b)) for a, b in p["in_range"]] for p in truth["people"]}
    for visit in truth["visits"]:
        enter, leave = _ts(visit["enter"]), _ts(visit["exit"])
        assert any(a < enter < leave < b for a, b in spans[visit["person"]])


def test_daily_hourly_and_occupancy_truth_follow_from_the_visits(shop: Path) -> None:
    """Recomputed here from the visit list, by the rules the truth states."""
    truth = _truth(shop)
    spec = truth["spec"]
    zone = ZoneInfo(spec["timezone"])
    visits = [(v["person"], _ts(v["enter"]), _ts(v["exit"])) for v in truth["visits"]]
    counted = [(p, a, b) for p, a, b in visits if b - a >= spec["min_dwell_min"] * 60]
    assert all(
        v["counted"] == (_ts(v["exit"]) - _ts(v["enter"]) >= spec["min_dwell_min"] * 60) for v in truth["visits"]
    )
    daily = truth["daily"]
    assert daily["visitors"] == len({p for p, _, _ in counted})
    assert daily["visits"] == len(counted)
    assert daily["short_visits"] == len(visits) - len(counted)
    dwells = sorted(b - a for _, a, b in counted)
    assert daily["dwell_p50_s"] == pytest.approx(statistics.median(dwells), abs=1e-3)
    assert daily["dwell_p90_s"] == pytest.approx(statistics.quantiles(dwells, n=10, method="inclusive")[-1], abs=1e-3)
    assert sum(daily["dwell_buckets"].values()) == len(counted)
    arrivals = Counter(datetime.fromtimestamp(a, zone).hour for _, a, _ in counted)
    assert {h["hour"]: h["arrivals"] for h in truth["hourly"] if h["arrivals"]} == dict(arrivals)
    opening, closing = spec["opening_hours"].split("-")
    assert all(int(opening[:2]) <= h <= int(closing[:2]) for h in arrivals)
    for row in truth["occupancy"][::7]:
        middle = _ts(row["ts"]) + 150
        assert row["present"] == sum(a <= middle <= b for _, a, b in counted)
    returning = Counter(p for p, _, _ in visits)
    assert sum(n > 1 for n in returning.values()) == round(spec["return_share"] * spec["customers"])


def test_drawn_knobs_stay_in_their_ranges_and_fixed_ones_are_kept() -> None:
    names = {f.name for f in fields(ShopSpec)}
    assert set(RANGES) <= names
    for seed in range(20):
        spec = ShopSpec.draw(seed, customers=123, sensors=("a", "b"))
        assert spec.customers == 123 and spec.sensors == ("a", "b")
        assert len(spec.sensor_channels) == len(spec.sensor_hopping) == 2
        for name, knob in RANGES.items():
            value = getattr(spec, name)
            if hasattr(knob, "options"):
                assert value in knob.options
            else:
                assert knob.low <= value <= knob.high, name
        assert 0.45 <= spec.android_share <= 0.55
    assert ShopSpec.draw(1) == ShopSpec.draw(1) != ShopSpec.draw(2)
    with pytest.raises(TypeError, match="no knob"):
        ShopSpec.draw(1, customer=5)


def test_same_seed_same_shop(tmp_path: Path) -> None:
    generate(tmp_path / "a", seed=9, customers=20)
    generate(tmp_path / "b", seed=9, customers=20)
    for name in ("s1.pcap", "truth.json", "footfall.toml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
