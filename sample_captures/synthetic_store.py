#!/usr/bin/env python3
"""Writes a synthetic store day as radiotap pcap captures, with its ground truth.

    python sample_captures/synthetic_store.py OUT_DIR [--seed 1] [--visitors 300] ...

OUT_DIR gets one capture per sensor (`<sensor>.pcap`), `truth.json` and a
`footfall.toml` describing the store. Every person carries one phone; the phone
probes in bursts while its owner is in range, and each sensor hears the bursts sent
on its channel with a signal that depends on the person's role (visitors near the
sensors, passers-by outside the window, staff all day). Fixed equipment and access
point beacons fill the air around them.

The truth is computed from the probes the phones sent, with their undisturbed signal
level, by the rules of DESIGN.md (visit gap, minimum dwell, RSSI threshold, staff
daily limit, closed hours): without noise every probe is heard as sent, so a
pipeline that follows those rules can reproduce it exactly; with --noise, each
sensor misses 15 % of the probes and signals fade (6 dB), as in a real store, and
a pipeline can only come close.

MAC behaviours: "global" keeps a vendor address all day; "ios" draws a new random
(locally administered) address and restarts its sequence numbers at every scan;
"android" draws a new address per scan but its sequence numbers run on.

Only the standard library: the bench and the tests run it in any environment.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from radiotap_pcap import (
    EXT_RATES,
    RATES,
    beacon,
    channel_freq,
    encode_elements,
    oui_mac,
    probe_request,
    random_mac,
    ssid_element,
    write_pcap,
    write_store_config,
)

# Element layouts of a few phone families (id, value); the SSID element is added per probe.
_RATES, _EXT_RATES = RATES, EXT_RATES
MODELS: dict[str, list[tuple[int, bytes]]] = {
    "phone-a": [
        (1, _RATES),
        (50, _EXT_RATES),
        (45, bytes(26)),
        (127, bytes([0, 0, 8, 0x80])),
        (191, bytes(12)),
        (221, bytes([0x00, 0x17, 0xF2, 0x0A, 0x00, 0x01, 0x04])),
    ],
    "phone-b": [
        (1, _RATES),
        (50, _EXT_RATES),
        (3, bytes([6])),
        (45, bytes([0x2D, 0x01]) + bytes(24)),
        (127, bytes([0x04, 0, 0x0A, 0x02, 0x01, 0x40, 0x40, 0x80])),
        (255, bytes([35]) + bytes(20)),
    ],
    "phone-c": [
        (1, _RATES[:4]),
        (50, _RATES[4:] + _EXT_RATES),
        (3, bytes([6])),
        (45, bytes([0xEF, 0x01]) + bytes(24)),
        (221, bytes([0x00, 0x50, 0xF2, 0x08, 0x00, 0x10, 0x00])),
    ],
    "laptop": [(1, _RATES), (50, _EXT_RATES), (45, bytes([0x6F, 0x01]) + bytes(24)), (127, bytes(10))],
}


# 3 phone families x 8 OS versions, the version showing in the HT capabilities
PHONE_MODELS = [f"{family}/{version}" for version in range(8) for family in ("phone-a", "phone-b", "phone-c")]


def _layout(model: str) -> list[tuple[int, bytes]]:
    family, _, version = model.partition("/")
    elements = MODELS[family]
    if not version:
        return elements
    return [(i, bytes([v[0] ^ (int(version) << 4)]) + v[1:] if i == 45 else v) for i, v in elements]


@dataclass
class StoreSpec:
    store: str = "synthetic"
    day: str = "2024-05-14"
    timezone: str = "Europe/Prague"
    opening: str = "09:00"
    closing: str = "20:00"
    sensors: tuple[str, ...] = ("s1",)
    channel: int = 6
    visitors: int = 300
    returning_share: float = 0.1  # visitors who come back later the same day
    passersby: int = 600
    staff: int = 4
    fixed_devices: int = 2
    randomized_share: float = 0.0  # share of phones with a rotating address
    ios_share: float = 0.5  # of the randomizing phones, how many behave like iOS
    directed_share: float = 0.2  # share of phones that also probe for a named network
    burst_every_min_s: float = 30.0  # a phone scans every 30-120 s while in range
    burst_every_max_s: float = 120.0
    beacons_per_probe: float = 0.0  # access point beacons written per probe request
    noise: bool = False
    # the thresholds the truth is computed with (DESIGN.md defaults)
    gap_min: float = 15
    min_dwell_min: float = 5
    rssi_threshold_dbm: float = -70
    staff_daily_hours: float = 6


@dataclass
class Visit:
    person: int
    role: str
    mac_kind: str
    first_seen: str
    last_seen: str
    dwell_s: float
    peak_rssi: int
    probes: int
    klass: str = ""


@dataclass
class Person:
    pid: int
    role: str  # visitor | passerby | staff | fixed
    model: str
    mac_kind: str  # global | ios | android
    base_rssi: dict[str, float]
    intervals: list[tuple[float, float]]  # presence, UTC seconds
    ssid: str | None
    mac: bytes = b""
    seq: int = 0
    probes: list[tuple[float, int]] = field(default_factory=list)  # (time, best rssi over sensors)


class Generator:
    def __init__(self, spec: StoreSpec, seed: int) -> None:
        self.spec = spec
        self.rng = random.Random(seed)
        self.zone = ZoneInfo(spec.timezone)
        day = date.fromisoformat(spec.day)
        self.day_start = self._ts(day, time(0, 0))
        self.open_ts = self._ts(day, time.fromisoformat(spec.opening))
        self.close_ts = self._ts(day, time.fromisoformat(spec.closing))
        self.people: list[Person] = []

    def _ts(self, day: date, clock: time) -> float:
        return datetime.combine(day, clock, self.zone).timestamp()

    # --- who is there -------------------------------------------------------
    def cast(self) -> None:
        spec, rng = self.spec, self.rng
        for _ in range(spec.visitors):
            arrive = rng.uniform(self.open_ts, self.close_ts - 20 * 60)
            stay = min(rng.lognormvariate(3.0, 0.6) * 60 + 6 * 60, 3 * 3600)
            intervals = [(arrive, min(arrive + stay, self.close_ts + 600))]
            if rng.random() < spec.returning_share and intervals[0][1] + 40 * 60 < self.close_ts - 15 * 60:
                back = rng.uniform(intervals[0][1] + 40 * 60, self.close_ts - 15 * 60)
                intervals.append((back, min(back + rng.uniform(6, 30) * 60, self.close_ts + 600)))
            self._add("visitor", intervals, lambda: rng.uniform(-64, -50))
        for _ in range(spec.passersby):
            start = rng.uniform(self.open_ts - 3600, self.close_ts + 3600)
            self._add("passerby", [(start, start + rng.uniform(20, 150))], lambda: rng.uniform(-88, -77))
        for _ in range(spec.staff):
            start = self.open_ts - rng.uniform(20, 45) * 60
            self._add("staff", [(start, start + rng.uniform(8, 10) * 3600)], lambda: rng.uniform(-60, -45))
        for _ in range(spec.fixed_devices):
            self._add("fixed", [(self.day_start, self.day_start + 86400 - 1)], lambda: rng.uniform(-66, -55))

    def _phone_model(self) -> str:
        """A phone family and one of its OS versions, popular ones more often (the
        element layouts of a real crowd are many, a few of them common: Zipf)."""
        return self.rng.choices(PHONE_MODELS, weights=[1 / (rank + 1) for rank in range(len(PHONE_MODELS))])[0]

    def _add(self, role: str, intervals: list[tuple[float, float]], level) -> None:
        spec, rng = self.spec, self.rng
        kind = "global"
        if role != "fixed" and rng.random() < spec.randomized_share:
            kind = "ios" if rng.random() < spec.ios_share else "android"
        model = "laptop" if role == "fixed" else self._phone_model()
        ssid = f"HomeNet-{rng.randrange(10**6):06d}" if rng.random() < spec.directed_share else None
        person = Person(len(self.people), role, model, kind, {s: level() for s in spec.sensors}, intervals, ssid)
        person.mac = oui_mac(rng) if kind == "global" else random_mac(rng)
        person.seq = rng.randrange(4096)
        self.people.append(person)

    # --- what the air carries -------------------------------------------------
    def frames(self) -> dict[str, list[tuple[float, bytes]]]:
        spec, rng = self.spec, self.rng
        out: dict[str, list[tuple[float, bytes]]] = {s: [] for s in spec.sensors}
        freq = channel_freq(spec.channel)
        low, high = spec.burst_every_min_s, spec.burst_every_max_s
        probes = 0
        for person in self.people:
            interval_scale = 20.0 if person.role == "fixed" else 1.0
            for start, end in person.intervals:
                t = start + rng.uniform(0, 5)
                while t <= end:
                    probes += self._burst(person, t, freq, out)
                    t += rng.uniform(low, high) * interval_scale
                # the last moment in range: phones scan when their owner leaves, too
                if person.role != "fixed" and end - t > -low:
                    probes += self._burst(person, end, freq, out)
        self._beacons(int(probes * spec.beacons_per_probe), freq, out)
        for frames in out.values():
            frames.sort(key=lambda f: f[0])
        return out

    def _burst(self, person: Person, t: float, freq: int, out: dict) -> int:
        spec, rng = self.spec, self.rng
        if person.mac_kind != "global":
            person.mac = random_mac(rng)
            if person.mac_kind == "ios":
                person.seq = rng.randrange(4096)
        ssids = [b""] + ([person.ssid.encode()] if person.ssid else [])
        sent = 0
        for n, ssid in enumerate(ssids):
            for repeat in range(2):
                when = t + n * 0.03 + repeat * 0.012
                ideal = []
                for sensor in spec.sensors:
                    level = person.base_rssi[sensor] + rng.uniform(-2, 2)
                    ideal.append(round(level))
                    if spec.noise and rng.random() < 0.15:
                        continue  # missed by this sensor
                    fade = rng.gauss(0, 6) if spec.noise else 0.0
                    rssi = round(max(-95, min(-20, level + fade)))
                    out[sensor].append((when, self._probe(person, ssid, rssi, freq)))
                sent += 1
                # the truth is what the phone did, whatever the sensors heard
                person.probes.append((when, max(ideal)))
                person.seq = (person.seq + 1) % 4096
        return sent

    def _probe(self, person: Person, ssid: bytes, rssi: int, freq: int) -> bytes:
        body = ssid_element(ssid) + encode_elements(_layout(person.model))
        return probe_request(person.mac, person.seq, body, rssi, freq)

    def _beacons(self, count: int, freq: int, out: dict) -> None:
        rng = self.rng
        aps = [oui_mac(rng) for _ in range(8)]
        for _ in range(count):
            when = rng.uniform(self.day_start, self.day_start + 86400)
            frame = beacon(rng.choice(aps), b"shopap", rng.randint(-90, -40), freq)
            for sensor in out:
                out[sensor].append((when, frame))

    # --- ground truth ---------------------------------------------------------
    def truth(self) -> dict:
        spec = self.spec
        visits: list[Visit] = []
        for person in self.people:
            if not person.probes:
                continue
            probes = sorted(person.probes)
            start = 0
            for i in range(1, len(probes) + 1):
                if i == len(probes) or probes[i][0] - probes[i - 1][0] > spec.gap_min * 60:
                    chunk = probes[start:i]
                    visits.append(
                        Visit(
                            person=person.pid,
                            role=person.role,
                            mac_kind=person.mac_kind,
                            first_seen=_iso(chunk[0][0]),
                            last_seen=_iso(chunk[-1][0]),
                            dwell_s=round(chunk[-1][0] - chunk[0][0], 6),
                            peak_rssi=max(r for _, r in chunk),
                            probes=len(chunk),
                        )
                    )
                    start = i
        staff = {v.person for v in visits if self._is_staff(v)}
        for v in visits:
            if v.person in staff:
                v.klass = "staff"
            elif v.peak_rssi < spec.rssi_threshold_dbm or v.dwell_s < spec.min_dwell_min * 60:
                v.klass = "passerby"
            else:
                v.klass = "visitor"
        customer = [v for v in visits if v.klass == "visitor"]
        visitors = {v.person for v in customer}
        dwell = sorted(v.dwell_s for v in customer)
        return {
            "spec": asdict(spec),
            "daily": {
                "visitors": len(visitors),
                "visits": len(customer),
                # people only ever seen passing that day (a visitor who also passed is a visitor)
                "passersby": len({v.person for v in visits if v.klass == "passerby"} - visitors),
                "staff_or_fixed": len(staff),
                "dwell_buckets": _buckets(dwell),
                "dwell_p50_s": _quantile(dwell, 0.5),
                "dwell_p90_s": _quantile(dwell, 0.9),
            },
            "people": len(self.people),
            "probe_requests": sum(len(p.probes) for p in self.people),  # sent (heard: see the captures)
            "visits": [asdict(v) for v in visits],
        }

    def _is_staff(self, visit: Visit) -> bool:
        """Present longer than the daily limit, or present while the store is closed
        for longer than a visit gap (a customer leaving just after closing is not)."""
        first = datetime.fromisoformat(visit.first_seen).timestamp()
        last = datetime.fromisoformat(visit.last_seen).timestamp()
        if last - first > self.spec.staff_daily_hours * 3600:
            return True
        closed = max(0.0, min(last, self.open_ts) - first) + max(0.0, last - max(first, self.close_ts))
        return visit.peak_rssi >= self.spec.rssi_threshold_dbm and closed > self.spec.gap_min * 60


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _buckets(dwell: list[float]) -> dict[str, int]:
    edges = [("<5m", 300), ("5-20m", 1200), ("20-60m", 3600), ("1-6h", 21600), ("6h+", float("inf"))]
    counts = {name: 0 for name, _ in edges}
    for d in dwell:
        for name, upper in edges:
            if d < upper:
                counts[name] += 1
                break
    return counts


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    pos = (len(values) - 1) * q
    low = int(pos)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (pos - low)


def generate(out_dir: Path, spec: StoreSpec, seed: int = 1) -> dict:
    """Writes the captures, truth.json and footfall.toml; returns the truth."""
    out_dir.mkdir(parents=True, exist_ok=True)
    generator = Generator(spec, seed)
    generator.cast()
    for sensor, frames in generator.frames().items():
        write_pcap(out_dir / f"{sensor}.pcap", frames)
    truth = generator.truth()
    (out_dir / "truth.json").write_text(json.dumps(truth, indent=1))
    write_store_config(out_dir / "footfall.toml", spec, spec.opening, spec.closing, "synthetic_store.py")
    return truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    defaults = StoreSpec()
    for name, value in asdict(defaults).items():
        if isinstance(value, bool):
            parser.add_argument(f"--{name.replace('_', '-')}", action="store_true", default=value)
        elif isinstance(value, (int, float, str)):
            parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    parser.add_argument("--sensors", default=",".join(defaults.sensors), help="comma-separated sensor names")
    args = parser.parse_args()
    values = {k: v for k, v in vars(args).items() if k in asdict(defaults)}
    values["sensors"] = tuple(s for s in args.sensors.split(",") if s)
    spec = StoreSpec(**values)
    truth = generate(args.out_dir, spec, args.seed)
    print(json.dumps({"probe_requests": truth["probe_requests"], **truth["daily"]}, indent=1))


if __name__ == "__main__":
    main()
