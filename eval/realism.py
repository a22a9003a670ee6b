#!/usr/bin/env python3
"""How the simulated shop (sample_captures/synthetic_shop.py) compares with real captures.

The same statistics, measured with footfall's own parser, on:

* the labelled phones (../shared/captures/labelled-phones/: one phone per file, sniffed
  on channels 1, 6 and 11), against simulated phones heard by three sensors on channels
  1, 6 and 11 (per phone with at least 20 frames on channel 6): bursts heard on one
  channel (frames closer than 1 s), frames and addresses per burst, time between
  bursts, frames per address, the sequence step within an address, how often the
  sequence runs on across an address change (within 64), element layouts per phone;
* the Brno lab days (../shared/captures/brno/, ≈ 15 people in the room on busy hours),
  against a lab-like simulated day (about 15 people staying for hours, a corridor) and a
  600-customer shop: distinct element layouts heard above -70 dBm per busy hour (10 or
  more people inside) and per day, and the share of the phones that the most common
  layout holds.

    python eval/realism.py [--keep DIR]     (prints a Markdown table; about a minute)
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CAPTURES = REPO.parent / "shared" / "captures"
sys.path.insert(0, str(REPO / "sample_captures"))

BURST_GAP_S = 1.0
NEAR_DBM = -70
SEQ_RUN_ON = 64


def parse(path: Path):
    from footfall.collector.probe_parser import ProbeParser

    return ProbeParser().parse(path.read_bytes()).batch


@dataclass
class PhoneStats:
    name: str
    kind: str
    bursts: int
    frames_per_burst: float
    addresses_per_burst: float
    gap_p25: float
    gap_p50: float
    gap_p75: float
    frames_per_address: float
    seq_step_1: float  # share of same-address steps of 1 within a burst
    run_on: float  # share of address changes whose sequence runs on
    layouts: int


def phone_stats(name: str, kind: str, ts_us, mac, seq, layout) -> PhoneStats | None:
    """Statistics of one phone's frames on one channel, in time order."""
    order = np.argsort(ts_us, kind="stable")
    ts, mac, seq, layout = ts_us[order] / 1e6, mac[order], seq[order].astype(int), layout[order]
    if len(ts) < 2:
        return None
    cut = np.flatnonzero(np.diff(ts) > BURST_GAP_S) + 1
    starts, ends = np.r_[0, cut], np.r_[cut, len(ts)]
    sizes = ends - starts
    addresses = [len(set(mac[s:e].tolist())) for s, e in zip(starts, ends, strict=True)]
    gaps = np.diff(ts[starts]) if len(starts) > 1 else np.array([np.nan])
    same = (mac[1:] == mac[:-1]) & (np.diff(ts) < BURST_GAP_S)
    steps = (seq[1:] - seq[:-1]) % 4096
    changed = mac[1:] != mac[:-1]
    run_on = float(np.mean(steps[changed] < SEQ_RUN_ON)) if changed.any() else float("nan")
    return PhoneStats(
        name,
        kind,
        len(starts),
        float(np.median(sizes)),
        float(np.median(addresses)),
        float(np.nanpercentile(gaps, 25)),
        float(np.nanmedian(gaps)),
        float(np.nanpercentile(gaps, 75)),
        float(np.median(list(Counter(mac.tolist()).values()))),
        float(np.mean(steps[same] == 1)) if same.any() else float("nan"),
        run_on,
        len(set(layout.tolist())),
    )


def real_phones() -> list[PhoneStats]:
    out = []
    for path in sorted((CAPTURES / "labelled-phones").glob("*.pcap")):
        b = parse(path)
        on6 = b.freq == 2437
        kind = "iOS" if path.name.startswith("iPhone") else "Android"
        stats = phone_stats(
            path.stem.removesuffix("_anonymized"), kind, b.ts_us[on6], b.mac[on6], b.seq[on6], b.layout[on6]
        )
        if stats:
            out.append(stats)
    return out


def simulated_phones(folder: Path) -> list[PhoneStats]:
    """A shop day heard on channels 1, 6 and 11; per customer or staff phone, channel 6."""
    from shopsim import generate

    truth = generate(
        folder,
        seed=7,
        customers=300,
        sensors=("c1", "c6", "c11"),
        sensor_channels=(1, 6, 11),
        sensor_hopping=(False, False, False),
    )
    roles = {p["person"]: (p["role"], p["phone"]) for p in truth["people"]}
    b = parse(folder / "c6.pcap")
    person = np.load(folder / "frames.npz")["c6_person"]
    out = []
    for pid in np.unique(person):
        role, phone = roles[int(pid)]
        mine = person == pid
        if role not in ("customer", "staff") or mine.sum() < 20:
            continue
        kind = {"ios": "iOS", "android": "Android", "global": "fixed address"}[phone]
        stats = phone_stats(str(pid), kind, b.ts_us[mine], b.mac[mine], b.seq[mine], b.layout[mine])
        if stats:
            out.append(stats)
    return out


def occupancy_changes(path: Path) -> list[tuple[float, float]]:
    with open(path) as handle:
        return [
            (datetime.fromisoformat(r["utc"].replace("Z", "+00:00")).timestamp(), float(r["occupancy"]))
            for r in csv.DictReader(handle)
        ]


def busy_hour_layouts(ts_s, rssi, layout, present_at) -> list[int]:
    """Distinct layouts above NEAR_DBM in each clock hour with 10 or more people inside."""
    hours = (ts_s // 3600).astype(int)
    near = rssi > NEAR_DBM
    out = []
    for hour in np.unique(hours):
        if present_at(hour * 3600 + 1800) >= 10:
            out.append(len(set(layout[(hours == hour) & near].tolist())))
    return out


def real_brno() -> tuple[list[int], list[int]]:
    hourly, daily = [], []
    for path in sorted((CAPTURES / "brno").glob("position_*.pcap")):
        changes = occupancy_changes(path.with_name(path.stem + "_occupancy.csv"))
        if max(v for _, v in changes) < 10:
            continue

        def present(t: float, changes=changes) -> float:
            before = [v for at, v in changes if at <= t]
            return before[-1] if before else 0.0

        b = parse(path)
        hourly += busy_hour_layouts(b.ts_us / 1e6, b.rssi, b.layout, present)
        daily.append(len(set(b.layout[b.rssi > NEAR_DBM].tolist())))
    return hourly, daily


def simulated_layouts(folder: Path, seed: int, **knobs) -> tuple[list[int], int, float]:
    from shopsim import generate

    truth = generate(folder, seed=seed, **knobs)
    occupancy = {datetime.fromisoformat(o["ts"]).timestamp(): o["present"] for o in truth["occupancy"]}
    bins = np.array(sorted(occupancy))

    def present(t: float) -> float:
        return occupancy[float(bins[max(0, int(np.searchsorted(bins, t, "right")) - 1)])]

    hourly, daily = [], set()
    for sensor in truth["spec"]["sensors"]:
        b = parse(folder / f"{sensor}.pcap")
        hourly += busy_hour_layouts(b.ts_us / 1e6, b.rssi, b.layout, present)
        daily |= set(b.layout[b.rssi > NEAR_DBM].tolist())
    return hourly, len(daily), truth["phones"]["top_layout_share"]


LAB = dict(  # a teaching lab: about 15 people for a few hours, twice a day, a corridor outside
    customers=35,
    opening_hours="08:00-16:00",
    dwell_median_min=100,
    dwell_sigma=0.3,
    return_share=0.0,
    peak_share=0.9,
    lunch_peak_h=9.0,
    evening_peak_h=12.5,
    passersby_per_customer=4,
    platoon_share=0.0,
    window_shopper_share=0.0,
    staff=1,
    fixed_devices=2,
)


def summary(values: list[float], digits: int = 1) -> str:
    values = [v for v in values if v == v]
    if not values:
        return "-"
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def table(real: list[PhoneStats], sim: list[PhoneStats], brno: tuple, lab: tuple, shop: tuple) -> str:
    rows = [
        "| statistic (median over phones, range) | real | simulated |",
        "|---|---|---|",
    ]
    fields = [
        ("frames per burst on one channel", "frames_per_burst", 1),
        ("addresses per burst on one channel", "addresses_per_burst", 1),
        ("time between bursts, 25th percentile (s)", "gap_p25", 0),
        ("time between bursts, median (s)", "gap_p50", 0),
        ("time between bursts, 75th percentile (s)", "gap_p75", 0),
        ("frames per address", "frames_per_address", 0),
        ("sequence step 1 within an address (share)", "seq_step_1", 2),
        ("layouts per phone", "layouts", 0),
    ]
    for kind in ("iOS", "Android"):
        real_k = [p for p in real if p.kind == kind]
        sim_k = [p for p in sim if p.kind == kind]
        rows.append(f"| **{kind}** phones ({len(real_k)} real, {len(sim_k)} simulated) | | |")
        for label, name, digits in fields:
            rows.append(
                f"| {label} | {summary([getattr(p, name) for p in real_k], digits)} "
                f"| {summary([getattr(p, name) for p in sim_k], digits)} |"
            )
        rows.append(
            f"| sequence runs on across an address change (share) | {summary([p.run_on for p in real_k], 2)} "
            f"| {summary([p.run_on for p in sim_k], 2)} |"
        )
    fixed = [p for p in sim if p.kind == "fixed address"]
    rows.append(
        f"| fixed-address phones: time between bursts, median (s) | - | {summary([p.gap_p50 for p in fixed], 0)} |"
    )
    brno_hourly, brno_daily = brno
    lab_hourly, lab_daily, _ = lab
    shop_hourly, shop_daily, shop_top = shop
    rows += [
        "| **Brno lab** vs a lab-like simulated day | | |",
        f"| layouts above {NEAR_DBM} dBm per hour with 10+ people inside | {summary(brno_hourly, 0)} "
        f"| {summary(lab_hourly, 0)} |",
        f"| layouts above {NEAR_DBM} dBm per day (busy days) | {summary(brno_daily, 0)} | {lab_daily} |",
        f"| **600-customer shop**: layouts above {NEAR_DBM} dBm per hour with 10+ customers inside | - "
        f"| {summary(shop_hourly, 0)} |",
        f"| 600-customer shop: layouts per day; share of phones in the most common layout | - "
        f"| {shop_daily}; {shop_top:.2f} |",
    ]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        work = args.keep or Path(temp)
        real = real_phones()
        sim = simulated_phones(work / "phones-sim")
        brno = real_brno()
        lab = simulated_layouts(work / "lab-sim", seed=3, sensors=("s1",), **LAB)
        shop = simulated_layouts(work / "shop-sim", seed=5, customers=600, sensors=("s1",))
        if args.keep:
            detail = {"real": [p.__dict__ for p in real], "simulated": [p.__dict__ for p in sim]}
            (work / "phones.json").write_text(json.dumps(detail, indent=1))
        print(table(real, sim, brno, lab, shop))


if __name__ == "__main__":
    main()
