"""What a simulated shop day is made of: every share and rate is a knob of ShopSpec.

`ShopSpec()` is a fixed mid-range shop. `ShopSpec.draw(seed, **fixed)` draws every
knob that is not fixed inside its plausible range (RANGES), so that a sweep of seeds
covers the ranges rather than one point; the knobs a caller fixes (the number of
customers, the sensors, the no-randomisation variant) are kept as given.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Uniform:
    low: float
    high: float

    def draw(self, rng: random.Random) -> float:
        return round(rng.uniform(self.low, self.high), 3)


@dataclass(frozen=True)
class Integer:
    low: int
    high: int

    def draw(self, rng: random.Random) -> int:
        return rng.randint(self.low, self.high)


@dataclass(frozen=True)
class Choice:
    options: tuple[Any, ...]

    def draw(self, rng: random.Random) -> Any:
        return rng.choice(self.options)


@dataclass(frozen=True)
class ShopSpec:
    # --- the store and its street ------------------------------------------------------
    store: str = "shop"
    day: str = "2024-05-14"
    timezone: str = "Europe/Prague"
    opening_hours: str = "09:00-20:00"
    front_m: float = 10.0  # glass front along the pavement
    depth_m: float = 14.0
    door_at: float = 0.5  # where the door is along the front (0 = left end, 1 = right end)
    street_hours: str = "07:00-22:00"  # when people walk the street (fixed devices probe all day)
    street_near_m: float = 1.0  # passers-by walk this far from the glass ...
    street_far_m: float = 12.0  # ... up to this (the far pavement)
    near_pavement_share: float = 0.6  # of people walking the street, on the near pavement (1-4 m out)
    walk_speed_min_mps: float = 1.0
    walk_speed_max_mps: float = 1.6

    # --- sensors ---------------------------------------------------------------------------
    sensors: tuple[str, ...] = ("s1",)
    sensor_channels: tuple[int, ...] = ()  # per sensor; () = channel 6 for every sensor
    sensor_hopping: tuple[bool, ...] = ()  # per sensor: hops over 1, 6, 11 instead of listening on one
    hop_dwell_s: float = 0.3  # a hopping sensor's time on each channel

    # --- people ----------------------------------------------------------------------------
    customers: int = 300  # people who come in during the day
    dwell_median_min: float = 15.0  # lognormal time inside
    dwell_sigma: float = 0.65
    return_share: float = 0.07  # customers who come back later the same day
    lunch_peak_h: float = 12.5  # the arrival profile: a base over the opening hours and two peaks
    evening_peak_h: float = 17.0
    peak_share: float = 0.5  # share of the arrivals in the two peaks
    passersby_per_customer: float = 6.0
    platoon_share: float = 0.33  # passers-by who come in platoons (off a tram or bus)
    platoon_every_min: float = 5.0  # a tram or bus every few minutes
    window_shopper_share: float = 0.05  # passers-by who stop at the window
    window_pause_min_s: float = 60.0
    window_pause_max_s: float = 120.0
    staff: int = 4  # on shifts, with breaks away (out of range)
    fixed_devices: int = 3  # tills, tablets, a laptop: one address, always there

    # --- phones --------------------------------------------------------------------------------
    randomization: bool = True  # False: the no-randomisation variant (every phone keeps its global address)
    ios_share: float = 0.35  # new address (and sequence restart) at every sweep, or every channel
    fixed_address_share: float = 0.15  # global address all day; the rest are Android-like
    android_partial_scan_share: float = 0.5  # Android-like phones that sweep only channels 1, 6 and 11
    ios_per_channel_share: float = 0.55  # iOS-like phones with a new address for every channel of a sweep
    android_seq_runs_on_share: float = 0.5  # Android-like phones whose sequence runs on across addresses
    newest_os_share: float = 0.6  # phones on the newest OS version of their family
    secondary_layout_share: float = 0.4  # phones that sometimes probe with a second element layout
    directed_share: float = 0.1  # phones that also probe for networks they know, by name
    screen_on_share: float = 0.2  # share of the time a phone's screen is on
    screen_on_period_min: float = 2.0  # mean length of a screen-on period
    screen_on_scan_min_s: float = 15.0  # screen on: a scan every 15-45 s (per phone)
    screen_on_scan_max_s: float = 45.0
    screen_off_scan_min_s: float = 60.0  # screen off: every 1-5 min
    screen_off_scan_max_s: float = 300.0
    second_sweep_share: float = 0.25  # scans that sweep the channels twice, a few seconds apart

    # --- radio ---------------------------------------------------------------------------------
    tx_power_dbm: float = 15.0  # phones; each phone differs by a few dB
    path_loss_1m_db: float = 40.0
    path_loss_exponent: float = 2.9
    glass_loss_db: float = 4.0
    wall_loss_db: float = 15.0  # side walls and neighbouring buildings
    body_loss_db: float = 3.0  # mean loss of a phone carried on the body
    shadowing_db: float = 4.5  # slow, correlated per person
    shadowing_corr_m: float = 3.0
    shadowing_corr_s: float = 25.0
    fading_db: float = 3.0  # per frame
    frame_loss: float = 0.03
    sensitivity_dbm: float = -92.0
    sensor_offset_db: float = 3.0  # calibration spread between sensors (+-)

    # --- the thresholds the truth is stated with (DESIGN.md defaults) ----------------------------
    gap_min: float = 15
    min_dwell_min: float = 5
    rssi_threshold_dbm: float = -70
    staff_daily_hours: float = 6

    @property
    def android_share(self) -> float:
        return max(0.0, 1.0 - self.ios_share - self.fixed_address_share)

    def channels(self) -> tuple[int, ...]:
        return self.sensor_channels or tuple(6 for _ in self.sensors)

    def hopping(self) -> tuple[bool, ...]:
        return self.sensor_hopping or tuple(False for _ in self.sensors)

    @classmethod
    def draw(cls, seed: int, **fixed: Any) -> ShopSpec:
        """A plausible shop: each knob in RANGES drawn from the seed unless fixed."""
        rng = random.Random(f"shopspec-{seed}")
        names = {f.name for f in fields(cls)}
        unknown = set(fixed) - names
        if unknown:
            raise TypeError(f"ShopSpec has no knob {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {name: RANGES[name].draw(rng) for name in RANGES if name not in fixed}
        while "ios_share" not in fixed and "fixed_address_share" not in fixed:
            android = 1.0 - values["ios_share"] - values["fixed_address_share"]
            if 0.45 <= android <= 0.55:
                break
            values["ios_share"] = RANGES["ios_share"].draw(rng)
            values["fixed_address_share"] = RANGES["fixed_address_share"].draw(rng)
        spec = replace(cls(), **values, **fixed)
        sensors = spec.sensors
        if "sensor_channels" not in fixed:
            spec = replace(spec, sensor_channels=tuple(rng.choice((1, 6, 11)) for _ in sensors))
        if "sensor_hopping" not in fixed:
            spec = replace(spec, sensor_hopping=tuple(rng.random() < 0.25 for _ in sensors))
        return spec


# The plausible range of each knob, as issue 12 describes a shop on a street and as the
# labelled phones and the Brno lab days show phones behave (eval/realism.py compares them).
RANGES: dict[str, Uniform | Integer | Choice] = {
    "opening_hours": Choice(("08:00-18:00", "09:00-19:00", "09:00-20:00", "10:00-20:00")),
    "front_m": Uniform(6, 16),
    "depth_m": Uniform(8, 20),
    "door_at": Uniform(0.2, 0.8),
    "dwell_median_min": Uniform(10, 20),
    "dwell_sigma": Uniform(0.5, 0.8),
    "return_share": Uniform(0.05, 0.10),
    "lunch_peak_h": Uniform(11.5, 13.5),
    "evening_peak_h": Uniform(16.0, 18.0),
    "peak_share": Uniform(0.3, 0.7),
    "passersby_per_customer": Uniform(4, 8),
    "platoon_share": Uniform(0.25, 0.40),
    "platoon_every_min": Uniform(3, 10),
    "window_shopper_share": Uniform(0.03, 0.08),
    "near_pavement_share": Uniform(0.5, 0.7),
    "staff": Integer(3, 6),
    "fixed_devices": Integer(2, 4),
    "ios_share": Uniform(0.30, 0.40),
    "fixed_address_share": Uniform(0.10, 0.20),
    "ios_per_channel_share": Uniform(0.4, 0.7),
    "android_partial_scan_share": Uniform(0.3, 0.7),
    "android_seq_runs_on_share": Uniform(0.3, 0.7),
    "newest_os_share": Uniform(0.55, 0.65),
    "secondary_layout_share": Uniform(0.3, 0.5),
    "directed_share": Uniform(0.05, 0.20),
    "screen_on_share": Uniform(0.1, 0.3),
    "screen_on_period_min": Uniform(1, 3),
    "second_sweep_share": Uniform(0.1, 0.4),
    "hop_dwell_s": Uniform(0.2, 0.5),
    "path_loss_exponent": Uniform(2.6, 3.2),
    "glass_loss_db": Uniform(2, 6),
    "wall_loss_db": Uniform(10, 20),
    "body_loss_db": Uniform(1, 5),
    "shadowing_db": Uniform(3, 6),
    "shadowing_corr_m": Uniform(2, 5),
    "shadowing_corr_s": Uniform(10, 40),
    "fading_db": Uniform(2, 4),
}
