"""One simulated shop day, written as a user's sensors would leave it.

OUT_DIR gets one radiotap capture per sensor (`<sensor>.pcap`), the store's
`footfall.toml` (DESIGN.md's keys only), `truth.json` (what the people did, see
truth.py) and `frames.npz`: for every frame written to each sensor's capture, in file
order, the person whose phone sent it (`<sensor>_person`), its time (`<sensor>_ts_us`),
sequence number (`<sensor>_seq`) and the sweep it belongs to (`<sensor>_sweep`, numbered
over the whole day): the key to measure how well pseudonyms are associated. footfall
never reads it.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .crowd import Crowd, Person
from .layouts import elements
from .phones import Phone, crowd_families, draw_phone, send, sweeps_of
from .radio import Sensor, hear, place_sensors, sweep_levels
from .spec import ShopSpec
from .truth import ground_truth
from radiotap_pcap import (
    channel_freq,
    encode_elements,
    oui_mac,
    probe_request,
    random_mac,
    ssid_element,
    write_pcap,
    write_store_config,
)

COLUMNS = ("ts", "person", "sweep", "address", "seq", "secondary", "ssid", "rssi", "channel")


@dataclass
class Heard:
    """The frames one sensor decoded, as columns."""

    parts: dict[str, list[np.ndarray]] = field(default_factory=lambda: {c: [] for c in COLUMNS})

    def add(self, **columns: np.ndarray) -> None:
        for name, values in columns.items():
            self.parts[name].append(values)

    def sorted(self) -> dict[str, np.ndarray]:
        joined = {c: np.concatenate(v) if v else np.empty(0) for c, v in self.parts.items()}
        order = np.lexsort((joined["person"], joined["ts"])) if len(joined["ts"]) else np.empty(0, int)
        return {c: v[order] for c, v in joined.items()}


@dataclass
class Day:
    spec: ShopSpec
    seed: int
    people: list[Person]
    phones: list[Phone]
    sensors: list[Sensor]
    heard: dict[str, dict[str, np.ndarray]]
    sent: int
    truth: dict


def simulate(spec: ShopSpec, seed: int) -> Day:
    rng = np.random.default_rng(seed)
    crowd = Crowd(spec, rng)
    people = crowd.cast()
    families = crowd_families(rng)
    phones = [draw_phone(spec, person.role, rng, families) for person in people]
    sensors = place_sensors(spec, rng)
    heard = {sensor.name: Heard() for sensor in sensors}
    sweeps = sent = 0
    for person, phone in zip(people, phones, strict=True):
        sweep_ts, path_of = sweeps_of(phone, spec, [(p.start, p.end) for p in person.paths], rng)
        if not len(sweep_ts):
            continue
        frames = send(phone, sweep_ts, path_of, rng)
        levels = sweep_levels(spec, phone, person.paths, sweep_ts, path_of, sensors, rng)
        for j, sensor in enumerate(sensors):
            index, rssi, channel = hear(spec, frames, levels[:, j], sensor, rng)
            heard[sensor.name].add(
                ts=frames.ts[index],
                person=np.full(len(index), person.pid),
                sweep=frames.sweep[index] + sweeps,
                address=frames.address[index],
                seq=frames.seq[index],
                secondary=frames.secondary[index],
                ssid=frames.ssid[index],
                rssi=rssi,
                channel=channel,
            )
        sweeps += len(sweep_ts)
        sent += len(frames.ts)
    truth = ground_truth(spec, seed, crowd.clock, people, phones)
    truth["sensors"] = [
        {"sensor": s.name, "x_m": round(s.x, 2), "y_m": round(s.y, 2), "channel": s.channel, "hopping": s.hopping}
        for s in sensors
    ]
    truth["probe_requests_sent"] = sent
    return Day(spec, seed, people, phones, sensors, {name: h.sorted() for name, h in heard.items()}, sent, truth)


class FrameBuilder:
    """Frames as bytes: one address per (person, address number), the same at every sensor."""

    def __init__(self, day: Day) -> None:
        self.day = day
        self.rng = random.Random(f"addresses-{day.seed}")
        self.macs: dict[tuple[int, int], bytes] = {}
        self.bodies: dict[tuple[int, bool, int], bytes] = {}

    def mac(self, person: int, address: int) -> bytes:
        key = (person, address)
        if key not in self.macs:
            phone = self.day.phones[person]
            self.macs[key] = oui_mac(self.rng) if phone.kind == "global" else random_mac(self.rng)
        return self.macs[key]

    def body(self, person: int, secondary: bool, ssid: int) -> bytes:
        key = (person, secondary, ssid)
        if key not in self.bodies:
            phone = self.day.phones[person]
            name = phone.ssids[ssid] if ssid >= 0 else b""
            self.bodies[key] = ssid_element(name) + encode_elements(elements(phone.family, phone.version, secondary))
        return self.bodies[key]

    def frames(self, columns: dict[str, np.ndarray]):
        freq = {c: channel_freq(c) for c in range(1, 14)}
        rows = zip(
            *(columns[c].tolist() for c in ("ts", "person", "address", "seq", "secondary", "ssid", "rssi", "channel")),
            strict=True,
        )
        for ts, person, address, seq, secondary, ssid, rssi, channel in rows:
            frame = probe_request(
                self.mac(person, address), seq, self.body(person, secondary, ssid), rssi, freq[channel]
            )
            yield ts, frame


def write(day: Day, out_dir: Path) -> dict:
    """The captures, footfall.toml, truth.json and frames.npz; returns the truth."""
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = day.spec
    builder = FrameBuilder(day)
    sidecar: dict[str, Any] = {}
    for sensor in day.sensors:
        columns = day.heard[sensor.name]
        written = write_pcap(out_dir / f"{sensor.name}.pcap", builder.frames(columns))
        day.truth["sensors"][day.sensors.index(sensor)]["frames"] = written
        sidecar[f"{sensor.name}_person"] = columns["person"].astype(np.int32)
        sidecar[f"{sensor.name}_ts_us"] = np.round(columns["ts"] * 1e6).astype(np.int64)
        sidecar[f"{sensor.name}_sweep"] = columns["sweep"].astype(np.int64)
        sidecar[f"{sensor.name}_seq"] = columns["seq"].astype(np.int16)
    np.savez_compressed(out_dir / "frames.npz", **sidecar)
    (out_dir / "truth.json").write_text(json.dumps(day.truth, indent=1))
    opening, closing = spec.opening_hours.split("-")
    write_store_config(out_dir / "footfall.toml", spec, opening, closing, "synthetic_shop.py")
    return day.truth


def generate(out_dir: Path, spec: ShopSpec | None = None, seed: int = 1, **knobs) -> dict:
    """Simulates and writes a shop day; without a spec, the knobs not given are drawn
    from the seed (ShopSpec.draw). Returns the truth."""
    spec = spec if spec is not None else ShopSpec.draw(seed, **knobs)
    return write(simulate(spec, seed), out_dir)
