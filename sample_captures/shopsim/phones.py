"""Phones as the labelled captures show them probe.

A phone scans now and then: every 15-45 s while its screen is on, every 1-5 min while
it is off (a per-phone on/off process; waking the screen starts a scan at once), and
a scan sweeps the 2.4 GHz channels once or twice a few seconds apart. A sweep visits
each channel of the phone's list for a few tens of milliseconds (all 13, in a shuffled
order for iOS; all 13 or only 1, 6 and 11 for Android) and sends a few wildcard probes
there, plus one per network it looks for by name (directed probes), then scans 5 GHz
(frames that a 2.4 GHz sensor never hears but that advance the sequence number).

Addresses: iOS-like phones draw a new random address and a new sequence start for
every sweep, or (as most labelled iPhones 11-12 do) for every channel of the sweep;
Android-like phones draw a new address per sweep while their sequence number runs on
(or restarts, as both labelled modern Androids do); fixed-address phones and fixed
devices keep one global address and a running sequence all day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .layouts import BY_NAME, family_weights, version_weights
from .spec import ShopSpec

FULL_SCAN = tuple(range(1, 14))
PARTIAL_SCAN = (1, 6, 11)


@dataclass
class Phone:
    kind: str  # ios | android | global (how its address behaves)
    family: str
    version: int  # 0 = the newest OS of its family
    per_channel: bool  # a new address for every channel of a sweep (iOS)
    seq_runs_on: bool  # the sequence number runs on across address changes
    secondary_use: float  # share of sweeps sent with the secondary layout (0: none)
    ssids: tuple[bytes, ...]  # networks it probes for by name
    probes_per_channel: int
    spacing_s: float  # between probes on one channel
    channels: tuple[int, ...]
    shuffled: bool  # visits its channels in a new order each sweep
    dwell_s: float  # time on each channel
    extra_frames: int  # 5 GHz probes per sweep (never heard at 2.4 GHz; they advance the sequence)
    on_scan_s: float
    off_scan_s: float
    has_screen: bool  # fixed devices scan at their idle cadence all day
    tx_offset_db: float
    body_loss_db: float

    @property
    def layout(self) -> str:
        return f"{self.family}/v{self.version}"

    def plan(self) -> Sweep:
        """What one sweep sends, in order: per channel visit, the wildcard probes, then
        the directed ones."""
        per_visit = self.probes_per_channel + len(self.ssids)
        visits = len(self.channels)
        visit = np.repeat(np.arange(visits), per_visit)
        probe = np.tile(np.arange(per_visit), visits)
        ssid = np.tile(np.r_[np.full(self.probes_per_channel, -1), np.arange(len(self.ssids))], visits)
        offset = visit * self.dwell_s + probe * self.spacing_s
        return Sweep(visit, probe, ssid.astype(np.int16), offset, visits)


@dataclass
class Sweep:
    visit: np.ndarray  # per frame: which channel visit of the sweep
    probe: np.ndarray  # per frame: its place within the visit
    ssid: np.ndarray  # per frame: -1 wildcard, else the index of the network probed for
    offset: np.ndarray  # per frame: seconds after the sweep starts
    visits: int

    @property
    def frames(self) -> int:
        return len(self.visit)


def _address_kind(spec: ShopSpec, rng: np.random.Generator) -> str:
    draw = rng.random()
    if draw < spec.ios_share:
        return "ios"
    return "global" if draw < spec.ios_share + spec.fixed_address_share else "android"


def _model(spec: ShopSpec, role: str, rng: np.random.Generator, families: dict[str, tuple]) -> tuple[str, str, int]:
    """How the phone's address behaves, its family and OS version (0 = newest)."""
    if role == "fixed":
        return "global", str(rng.choice([f for f, v in BY_NAME.items() if v.os == "device"])), 0
    kind = _address_kind(spec, rng)
    if kind == "global":  # an iPhone or an Android phone, more often an older, rarer model
        os = "ios" if rng.random() < 0.4 else "android"
        names, weights = families[f"{os}-fixed"]
    else:
        names, weights = families[kind]
    family = str(rng.choice(names, p=weights))
    versions = BY_NAME[family].versions
    version = int(rng.choice(versions, p=version_weights(versions, spec.newest_os_share)))
    return kind if spec.randomization else "global", family, version


def draw_phone(spec: ShopSpec, role: str, rng: np.random.Generator, families: dict[str, tuple]) -> Phone:
    """A phone of the crowd's mix (or a fixed device's radio)."""
    kind, family, version = _model(spec, role, rng, families)
    os = BY_NAME[family].os
    apple = os == "ios"
    partial = not apple and rng.random() < spec.android_partial_scan_share
    channels = PARTIAL_SCAN if partial else FULL_SCAN
    directed = role != "fixed" and rng.random() < spec.directed_share
    return Phone(
        kind=kind,
        family=family,
        version=version,
        per_channel=kind == "ios" and rng.random() < spec.ios_per_channel_share,
        seq_runs_on=kind == "global" or (kind == "android" and rng.random() < spec.android_seq_runs_on_share),
        secondary_use=float(rng.uniform(0.02, 0.2)) if rng.random() < spec.secondary_layout_share else 0.0,
        ssids=tuple(f"HomeNet-{rng.integers(10**6):06d}".encode() for _ in range(int(rng.integers(1, 4))))
        if directed
        else (),
        probes_per_channel=int(rng.choice([1, 2, 3, 4], p=[0.2, 0.55, 0.15, 0.1])),
        spacing_s=float(rng.uniform(0.01, 0.025)),
        channels=channels,
        shuffled=apple,
        dwell_s=float(rng.uniform(0.15, 0.25) if partial else rng.uniform(0.03, 0.07)),
        extra_frames=int(rng.integers(10, 40)),
        on_scan_s=float(rng.uniform(spec.screen_on_scan_min_s, spec.screen_on_scan_max_s)),
        off_scan_s=float(rng.uniform(spec.screen_off_scan_min_s, spec.screen_off_scan_max_s)),
        has_screen=role != "fixed",
        tx_offset_db=float(rng.normal(0, 2)),
        body_loss_db=0.0 if role == "fixed" else float(rng.uniform(0, 2 * spec.body_loss_db)),
    )


def crowd_families(rng: np.random.Generator) -> dict[str, tuple]:
    """Family popularity of the day, per OS; phones that keep a global address are more
    often older, rarer models."""
    out = {}
    for os in ("ios", "android"):
        out[os] = family_weights(os, rng)
        out[f"{os}-fixed"] = family_weights(os, rng, tail_boost=2.0)
    return out


def scan_times(phone: Phone, spec: ShopSpec, start: float, end: float, rng: np.random.Generator) -> list[float]:
    """When the phone starts a scan between start and end: the screen's on/off process
    sets the cadence, and waking the screen scans at once."""

    def every(on: bool) -> float:
        return (phone.on_scan_s if on else phone.off_scan_s) * float(rng.uniform(0.8, 1.2))

    if not phone.has_screen:
        t, times = start + float(rng.uniform(0, phone.off_scan_s)), []
        while t < end:
            times.append(t)
            t += every(False)
        return times
    on_mean = spec.screen_on_period_min * 60
    off_mean = on_mean * (1 - spec.screen_on_share) / max(spec.screen_on_share, 1e-3)
    on = bool(rng.random() < spec.screen_on_share)
    switch_at = start + float(rng.exponential(on_mean if on else off_mean))
    t, last, times = start + float(rng.uniform(0, every(on))), math.nan, []
    while t < end:
        if t >= switch_at:
            at, on = switch_at, not on
            switch_at = at + float(rng.exponential(on_mean if on else off_mean))
            t = at if on else max(at, (at if math.isnan(last) else last) + every(False))
            continue
        times.append(t)
        last = t
        t += every(on)
    return times


@dataclass
class Sent:
    """Every frame a phone sent while in range, as columns."""

    ts: np.ndarray
    channel: np.ndarray
    sweep: np.ndarray  # the phone's own sweep number
    address: np.ndarray  # which of the phone's addresses (0 for a global address)
    seq: np.ndarray
    secondary: np.ndarray  # sent with the secondary layout
    ssid: np.ndarray


def sweeps_of(phone: Phone, spec: ShopSpec, paths: list[tuple[float, float]], rng: np.random.Generator):
    """The start of each sweep and the path (stretch in range) it falls in."""
    starts, path_of = [], []
    for index, (start, end) in enumerate(paths):
        for scan in scan_times(phone, spec, start, end, rng):
            starts.append(scan)
            path_of.append(index)
            if rng.random() < spec.second_sweep_share and scan + 5 < end:
                starts.append(scan + float(rng.uniform(2, 5)))
                path_of.append(index)
    order = np.argsort(starts, kind="stable")
    return np.array(starts)[order], np.array(path_of, dtype=np.int32)[order]


def send(phone: Phone, sweep_ts: np.ndarray, path_of: np.ndarray, rng: np.random.Generator) -> Sent:
    """Every frame of the sweeps: time, channel, address and sequence number."""
    plan = phone.plan()
    n, f = len(sweep_ts), plan.frames
    order = np.tile(np.arange(f), n)
    sweep = np.repeat(np.arange(n), f)
    if phone.shuffled:
        visit_channel = rng.permuted(np.tile(np.array(phone.channels), (n, 1)), axis=1)
    else:
        visit_channel = np.tile(np.array(phone.channels), (n, 1))
    channel = visit_channel[sweep, np.tile(plan.visit, n)]
    ts = np.repeat(sweep_ts, f) + np.tile(plan.offset, n)
    if phone.seq_runs_on:
        per_sweep = f + phone.extra_frames
        # between two paths (a break, a second visit) the phone went on scanning elsewhere
        jumps = np.where(np.r_[False, np.diff(path_of) > 0], rng.integers(0, 4096, n), 0).cumsum()
        base = int(rng.integers(4096)) + np.arange(n) * per_sweep + jumps
        seq = base[sweep] + order
    elif phone.per_channel:
        starts = rng.integers(0, 4096, (n, plan.visits))
        seq = starts[sweep, np.tile(plan.visit, n)] + np.tile(plan.probe, n)
    else:
        seq = rng.integers(0, 4096, n)[sweep] + order
    if phone.kind == "global":
        address = np.zeros(n * f, dtype=np.int64)
    elif phone.per_channel:
        address = sweep.astype(np.int64) * 64 + np.tile(plan.visit, n)
    else:
        address = sweep.astype(np.int64)
    secondary = (rng.random(n) < phone.secondary_use)[sweep]
    return Sent(ts, channel, sweep, address, seq % 4096, secondary, np.tile(plan.ssid, n))
