"""From a phone to a sensor: log-distance path loss, the glass front (or the walls
beside it), the body carrying the phone, shadowing that changes slowly as the person
moves and turns (correlated over a few metres and tens of seconds), fast fading per
frame, adjacent-channel leakage, frame loss, and the sensor's channel (fixed, or
hopping over 1, 6 and 11).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .crowd import Path
from .phones import Phone, Sent
from .spec import ShopSpec

SENSOR_HEIGHT_M = 2.5
PHONE_HEIGHT_M = 1.2
HOP_CHANNELS = np.array([1, 6, 11])
# A sensor decodes frames sent one or two channels off its own (2.4 GHz channels overlap),
# weaker and less often: the labelled phones, sniffed on 1, 6 and 11, show a phone that
# sweeps all 13 channels heard with 1-3 of its per-channel addresses on each sniffer.
ADJACENT_LOSS_DB = np.array([0.0, 6.0, 14.0])
ADJACENT_DECODE = np.array([1.0, 0.4, 0.1])


@dataclass
class Sensor:
    name: str
    x: float
    y: float
    channel: int
    hopping: bool
    hop_phase: float
    offset_db: float  # calibration

    def channel_at(self, ts: np.ndarray, dwell: float) -> np.ndarray:
        if not self.hopping:
            return np.full(len(ts), self.channel)
        return HOP_CHANNELS[((ts - self.hop_phase) // dwell).astype(np.int64) % len(HOP_CHANNELS)]


def place_sensors(spec: ShopSpec, rng: np.random.Generator) -> list[Sensor]:
    """One sensor mid-shop; two: one towards the front, one towards the back."""
    w, d = spec.front_m, spec.depth_m
    spots = (
        [((0.3, 0.7), (0.3, 0.7))]
        if len(spec.sensors) == 1
        else [((0.2, 0.45), (0.15, 0.35)), ((0.55, 0.8), (0.6, 0.85))]
    )
    sensors = []
    for i, name in enumerate(spec.sensors):
        (x0, x1), (y0, y1) = spots[min(i, len(spots) - 1)]
        sensors.append(
            Sensor(
                name,
                float(rng.uniform(x0, x1) * w),
                float(rng.uniform(y0, y1) * d),
                spec.channels()[i],
                spec.hopping()[i],
                float(rng.uniform(0, 10)),
                float(rng.uniform(-spec.sensor_offset_db, spec.sensor_offset_db)),
            )
        )
    return sensors


def sweep_levels(
    spec: ShopSpec,
    phone: Phone,
    paths: list[Path],
    sweep_ts: np.ndarray,
    path_of: np.ndarray,
    sensors: list[Sensor],
    rng: np.random.Generator,
) -> np.ndarray:
    """The mean signal of each sweep at each sensor (sweeps x sensors, dBm), before fading."""
    n = len(sweep_ts)
    x, y = np.empty(n), np.empty(n)
    for index, path in enumerate(paths):
        mask = path_of == index
        x[mask], y[mask] = path.at(sweep_ts[mask])
    levels = np.empty((n, len(sensors)))
    common = _shadowing(spec, sweep_ts, x, y, spec.shadowing_db / np.sqrt(2), rng, moves=False)
    for j, sensor in enumerate(sensors):
        distance = np.sqrt((x - sensor.x) ** 2 + (y - sensor.y) ** 2 + (SENSOR_HEIGHT_M - PHONE_HEIGHT_M) ** 2)
        outside = y < 0
        crossing_x = x + (sensor.x - x) * (-y) / np.maximum(sensor.y - y, 1e-6)
        through_glass = (crossing_x >= 0) & (crossing_x <= spec.front_m)
        front = np.where(outside, np.where(through_glass, spec.glass_loss_db, spec.wall_loss_db), 0.0)
        own = _shadowing(spec, sweep_ts, x, y, spec.shadowing_db / np.sqrt(2), rng, moves=True)
        levels[:, j] = (
            spec.tx_power_dbm
            + phone.tx_offset_db
            - spec.path_loss_1m_db
            - 10 * spec.path_loss_exponent * np.log10(np.maximum(distance, 0.5))
            - front
            - phone.body_loss_db
            + common
            + own
            + sensor.offset_db
        )
    return levels


def _shadowing(spec, ts, x, y, sigma, rng, moves: bool) -> np.ndarray:
    """A first-order autoregressive process over the sweeps: it forgets with time (the
    person turns, others walk between) and, for the per-sensor part, with distance
    moved (another spot, other obstacles on the way to that sensor)."""
    n = len(ts)
    out = np.empty(n)
    if n == 0:
        return out
    step = np.abs(np.diff(ts, prepend=ts[0])) / spec.shadowing_corr_s
    if moves:
        step = step + np.hypot(np.diff(x, prepend=x[0]), np.diff(y, prepend=y[0])) / spec.shadowing_corr_m
    rho = np.exp(-step)
    noise = rng.normal(0, sigma, n)
    keep = np.sqrt(1 - rho**2)
    value = out[0] = noise[0]
    for i in range(1, n):  # a short loop per person: the recurrence is sequential
        value = value * rho[i] + keep[i] * noise[i]
        out[i] = value
    return out


def hear(spec: ShopSpec, sent: Sent, level: np.ndarray, sensor: Sensor, rng: np.random.Generator):
    """Which of the frames the sensor decodes, and at what signal: (indices, rssi, channel)."""
    tuned = sensor.channel_at(sent.ts, spec.hop_dwell_s)
    off = np.abs(sent.channel - tuned)
    near = np.flatnonzero(off <= 2)
    off = off[near]
    signal = level[sent.sweep[near]] - ADJACENT_LOSS_DB[off] + rng.normal(0, spec.fading_db, len(near))
    decodes = 1.0 / (1.0 + np.exp(-(signal - spec.sensitivity_dbm)))
    heard = rng.random(len(near)) < ADJACENT_DECODE[off] * (1 - spec.frame_loss) * decodes
    rssi = np.clip(np.round(signal[heard]), -100, -10).astype(np.int64)
    return near[heard], rssi, tuned[near[heard]]
