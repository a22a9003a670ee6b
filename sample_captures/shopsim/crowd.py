"""Who is around the shop and where: customers, passers-by, staff and fixed devices,
each as paths of waypoints (time, x, y) while in range of the sensors.

Coordinates in metres: x runs along the street (the glass front spans 0..front_m),
y is 0 at the glass, positive inside the shop (up to depth_m), negative outside (the
near pavement 1-4 m out, the far pavement up to 12 m). People walk at their own pace;
customers come along the pavement, enter by the door, browse from shelf to shelf and
leave the same way; passers-by walk past, some in platoons off a tram or bus, some
stopping at the window; staff move about the shop during their shifts and leave it for
their breaks; fixed devices sit where they are all day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time

import numpy as np

from .spec import ShopSpec


@dataclass
class Path:
    """One stretch in range: waypoints between which the person moves in a line."""

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @property
    def start(self) -> float:
        return float(self.t[0])

    @property
    def end(self) -> float:
        return float(self.t[-1])

    def at(self, when: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.interp(when, self.t, self.x), np.interp(when, self.t, self.y)


@dataclass
class Person:
    pid: int
    role: str  # customer | passerby | staff | fixed
    paths: list[Path]
    visits: list[tuple[float, float]] = field(default_factory=list)  # customers: (enter, exit), UTC s
    window_shopper: bool = False
    platoon: int | None = None


class Route:
    """Builds a path: walk to a point at a speed, or wait where one is."""

    def __init__(self, t: float, x: float, y: float) -> None:
        self.t, self.x, self.y = [t], [x], [y]

    @property
    def now(self) -> float:
        return self.t[-1]

    def go(self, x: float, y: float, speed: float) -> Route:
        distance = math.hypot(x - self.x[-1], y - self.y[-1])
        return self._add(self.t[-1] + max(distance / speed, 1e-3), x, y)

    def go_until(self, x: float, y: float, when: float) -> Route:
        return self._add(max(when, self.t[-1] + 1e-3), x, y)

    def wait(self, seconds: float) -> Route:
        return self._add(self.t[-1] + seconds, self.x[-1], self.y[-1]) if seconds > 0 else self

    def _add(self, t: float, x: float, y: float) -> Route:
        self.t.append(t)
        self.x.append(x)
        self.y.append(y)
        return self

    def shifted(self, by: float) -> Route:
        self.t = [t + by for t in self.t]
        return self

    def path(self) -> Path:
        return Path(np.array(self.t), np.array(self.x), np.array(self.y))


class Clock:
    """The store's local day in UTC seconds."""

    def __init__(self, spec: ShopSpec) -> None:
        from zoneinfo import ZoneInfo

        self.zone = ZoneInfo(spec.timezone)
        self.day = date.fromisoformat(spec.day)
        self.day_start = self.at("00:00")
        self.day_end = self.day_start + 86400.0
        opening, closing = spec.opening_hours.split("-")
        self.open, self.close = self.at(opening), self.at(closing)
        street_from, street_to = spec.street_hours.split("-")
        self.street_from, self.street_to = self.at(street_from), self.at(street_to)

    def at(self, clock: str) -> float:
        return datetime.combine(self.day, time.fromisoformat(clock), self.zone).timestamp()

    def local_hour(self, ts: float) -> float:
        return (ts - self.day_start) / 3600.0


def _profile_times(
    rng: np.random.Generator,
    n: int,
    start: float,
    end: float,
    peaks: list[tuple[float, float, float]],
    peak_share: float,
    day_start: float,
) -> np.ndarray:
    """n times in [start, end): a flat base plus Gaussian peaks (local hour, width h, weight)."""
    minutes = np.arange(start, end, 60.0)
    hours = (minutes - day_start) / 3600.0
    density = np.full(len(minutes), (1 - peak_share) / len(minutes))
    bumps = np.zeros(len(minutes))
    for centre, width, weight in peaks:
        bumps += weight * np.exp(-0.5 * ((hours - centre) / width) ** 2)
    if bumps.sum() > 0:
        density += peak_share * bumps / bumps.sum()
    chosen = rng.choice(len(minutes), size=n, p=density / density.sum())
    return np.sort(minutes[chosen] + rng.uniform(0, 60, n))


class Crowd:
    """Casts the day's people and their paths."""

    def __init__(self, spec: ShopSpec, rng: np.random.Generator) -> None:
        self.spec, self.rng = spec, rng
        self.clock = Clock(spec)
        self.people: list[Person] = []
        self.door = (spec.door_at * spec.front_m, 0.0)
        self.platoons = 0

    # --- helpers --------------------------------------------------------------------------
    def _speed(self) -> float:
        return float(self.rng.uniform(self.spec.walk_speed_min_mps, self.spec.walk_speed_max_mps))

    def _lane(self) -> float:
        """Distance from the glass of someone walking the street (negative y): the near
        pavement (3 m wide) or the far one (4 m)."""
        s, rng = self.spec, self.rng
        if rng.random() < s.near_pavement_share:
            return -float(rng.uniform(s.street_near_m, s.street_near_m + 3))
        return -float(rng.uniform(max(s.street_near_m, s.street_far_m - 4), s.street_far_m))

    def _inside_point(self, margin: float = 0.6) -> tuple[float, float]:
        s = self.spec
        return float(self.rng.uniform(margin, s.front_m - margin)), float(self.rng.uniform(margin, s.depth_m - margin))

    def _add(self, role: str, paths: list[Path], **kw) -> Person:
        person = Person(len(self.people), role, paths, **kw)
        self.people.append(person)
        return person

    # --- customers ----------------------------------------------------------------------------
    def customers(self) -> None:
        s, rng, c = self.spec, self.rng, self.clock
        n = s.customers
        peaks = [(s.lunch_peak_h, 0.8, 1.0), (s.evening_peak_h, 1.0, 1.2)]
        enters = _profile_times(rng, n, c.open, c.close - 300, peaks, s.peak_share, c.day_start)
        dwells = np.exp(rng.normal(math.log(s.dwell_median_min * 60), s.dwell_sigma, n)).clip(30, 3 * 3600)
        first = [(float(e), self._exit(float(e), float(d))) for e, d in zip(enters, dwells, strict=True)]
        # some come back later the same day (long after the visit gap)
        eligible = [i for i, (_, leave) in enumerate(first) if leave + 1800 < c.close - 1200]
        returning = set(
            rng.choice(eligible, size=min(len(eligible), round(s.return_share * n)), replace=False).tolist()
        )
        for i, visit in enumerate(first):
            visits = [visit]
            if i in returning:
                back = float(rng.uniform(visit[1] + 1800, c.close - 1200))
                dwell = float(np.exp(rng.normal(math.log(s.dwell_median_min * 60), s.dwell_sigma)).clip(30, 3 * 3600))
                visits.append((back, self._exit(back, dwell)))
            self._add("customer", [self._visit_path(enter, leave) for enter, leave in visits], visits=visits)

    def _exit(self, enter: float, dwell: float) -> float:
        closing = self.clock.close
        leave = enter + dwell
        if leave > closing + 600:  # the shop closes: everyone leaves
            leave = max(enter + 30, closing + float(self.rng.uniform(0, 600)))
        return leave

    def _visit_path(self, enter: float, leave: float) -> Path:
        """Along the pavement to the door, inside from shelf to shelf, out and away."""
        s, rng = self.spec, self.rng
        door_x, _ = self.door
        speed = self._speed()
        side = 1 if rng.random() < 0.5 else -1
        lane = self._lane()
        start_x = door_x + side * float(rng.uniform(40, 80))
        approach = Route(0.0, start_x, lane)
        if lane < -s.street_near_m - 3:  # from the far pavement: cross the street first
            cross_x = door_x + side * float(rng.uniform(5, 30))
            approach.go(cross_x, lane, speed).go(cross_x, -2.0, speed)
        approach.go(door_x, -0.5, speed).go(door_x, 0.5, 0.8)
        route = approach.shifted(enter - approach.now)
        # inside
        browse = float(rng.uniform(0.4, 0.9))
        while True:
            x, y = self._inside_point()
            walk = math.hypot(x - route.x[-1], y - route.y[-1]) / browse
            pause = float(rng.uniform(10, 120))
            back = math.hypot(x - door_x, y - 0.5) / browse
            if route.now + walk + pause + back >= leave:
                break
            route.go(x, y, browse).wait(pause)
        back = math.hypot(route.x[-1] - door_x, route.y[-1] - 0.5) / browse
        route.wait(leave - route.now - back)
        route.go_until(door_x, 0.5, leave)
        # out and away
        away = 1 if rng.random() < 0.5 else -1
        route.go(door_x, -0.5, 0.8).go(door_x, lane, speed).go(door_x + away * float(rng.uniform(40, 80)), lane, speed)
        return route.path()

    # --- passers-by -----------------------------------------------------------------------------
    def passersby(self) -> None:
        s, rng, c = self.spec, self.rng, self.clock
        total = round(s.customers * s.passersby_per_customer)
        in_platoons = round(total * s.platoon_share)
        street_peaks = [(8.0, 0.8, 0.8), (12.5, 1.0, 0.7), (17.5, 1.2, 1.0)]
        alone = _profile_times(rng, total - in_platoons, c.street_from, c.street_to, street_peaks, 0.5, c.day_start)
        windows = rng.random(len(alone)) < s.window_shopper_share
        for when, window in zip(alone, windows, strict=True):
            self._add("passerby", [self._pass_path(float(when), bool(window))], window_shopper=bool(window))
        self._platoons(in_platoons, street_peaks)

    def _pass_path(self, when: float, window: bool) -> Path:
        """Walks past the front (the middle of it at `when`), or stops at the window."""
        s, rng = self.spec, self.rng
        middle = s.front_m / 2
        direction = 1 if rng.random() < 0.5 else -1
        speed = self._speed()
        lane = -float(rng.uniform(s.street_near_m, s.street_near_m + 2)) if window else self._lane()
        start, stop = middle - direction * float(rng.uniform(60, 100)), middle + direction * float(rng.uniform(60, 100))
        route = Route(0.0, start, lane)
        if window:
            x = float(rng.uniform(0.5, s.front_m - 0.5))
            route.go(x, lane, speed).go(x, -float(rng.uniform(0.4, 1.0)), 0.8)
            pause_at = route.now
            route.wait(float(rng.uniform(s.window_pause_min_s, s.window_pause_max_s))).go(x, lane, 0.8)
            shift = when - pause_at
        else:
            shift = when - abs(middle - start) / speed
        route.go(stop, lane, speed)
        return route.shifted(shift).path()

    def _platoons(self, people: int, street_peaks: list[tuple[float, float, float]]) -> None:
        """Trams or buses stop nearby every few minutes; their passengers walk off together."""
        s, rng, c = self.spec, self.rng, self.clock
        if people <= 0:
            return
        stop_x = float(rng.choice([-1, 1]) * rng.uniform(20, 60)) + (s.front_m if rng.random() < 0.5 else 0.0)
        arrivals, t = [], c.street_from + float(rng.uniform(0, s.platoon_every_min * 60))
        while t < c.street_to:
            arrivals.append(t)
            t += s.platoon_every_min * 60 * float(rng.uniform(0.6, 1.4))
        hours = (np.array(arrivals) - c.day_start) / 3600.0
        busy = 0.5 + np.sum([w * np.exp(-0.5 * ((hours - h) / sd) ** 2) for h, sd, w in street_peaks], axis=0)
        sizes = rng.multinomial(people, busy / busy.sum())
        for arrival, size in zip(arrivals, sizes, strict=True):
            if size == 0:
                continue
            platoon = self.platoons
            self.platoons += 1
            for _ in range(size):
                speed = self._speed()
                direction = 1 if rng.random() < 0.6 else -1  # most walk towards the shop's side
                if stop_x > s.front_m:
                    direction = -direction
                lane = self._lane()
                route = Route(arrival + float(rng.uniform(0, 25)), stop_x + float(rng.normal(0, 2)), -3.0)
                route.go(route.x[-1] + direction * 3, lane, speed)
                route.go(stop_x + direction * float(rng.uniform(100, 160)), lane, speed)
                self._add("passerby", [route.path()], platoon=platoon)

    # --- staff and fixed devices ----------------------------------------------------------------
    def staff(self) -> None:
        s, rng, c = self.spec, self.rng, self.clock
        length = c.close - c.open
        for i in range(s.staff):
            shift_h = float(rng.uniform(7, 8.5))
            if i % 2 == 0:  # openers and closers, overlapping at midday
                start = c.open - float(rng.uniform(20, 40)) * 60
                end = min(start + shift_h * 3600, c.close + 1800)
            else:
                end = c.close + float(rng.uniform(15, 30)) * 60
                start = max(end - shift_h * 3600, c.open - 2400)
            if length < 9 * 3600 and i >= 2:  # a short day needs no second pair of shifts
                start, end = c.open + 3600 * float(rng.uniform(1, 3)), c.close - 3600 * float(rng.uniform(0, 2))
            breaks = self._breaks(start, end)
            paths, t = [], start
            for away_from, away_to in [*breaks, (end, end)]:
                paths.append(self._staff_path(t, away_from))
                t = away_to
            self._add("staff", paths)

    def _breaks(self, start: float, end: float) -> list[tuple[float, float]]:
        """A lunch break on a long shift and one or two short ones, out of range."""
        rng = self.rng
        breaks = []
        if end - start > 6 * 3600:
            middle = (start + end) / 2 + float(rng.uniform(-3600, 3600))
            breaks.append((middle, middle + float(rng.uniform(30, 45)) * 60))
        for _ in range(int(rng.integers(1, 3))):
            at = float(rng.uniform(start + 3600, end - 3600))
            if all(at + 900 < b0 - 600 or at > b1 + 600 for b0, b1 in breaks):
                breaks.append((at, at + float(rng.uniform(10, 15)) * 60))
        return sorted(breaks)

    def _staff_path(self, start: float, end: float) -> Path:
        s, rng = self.spec, self.rng
        back = (float(rng.uniform(0.5, s.front_m - 0.5)), s.depth_m - 0.5)  # the back door and stock room
        route = Route(start, *back)
        while True:  # from task to task, back to the stock room before the break
            x, y = self._inside_point(1.0)
            walk = math.hypot(x - route.x[-1], y - route.y[-1]) / 0.7
            home = math.hypot(x - back[0], y - back[1]) / 0.7
            if route.now + walk + home + 30 > end:
                break
            pause = min(float(rng.uniform(60, 600)), end - route.now - walk - home)
            route.go(x, y, 0.7).wait(pause)
        route.go_until(*back, max(end, route.now + 1))
        return route.path()

    def fixed_devices(self) -> None:
        s, rng, c = self.spec, self.rng, self.clock
        for i in range(s.fixed_devices):
            if i == 0:  # the till, near the front
                x, y = s.front_m * float(rng.uniform(0.6, 0.9)), float(rng.uniform(1, 3))
            else:
                x, y = self._inside_point(0.5)
            # all day, but no sweep may run past midnight into the next day's capture
            ends = np.array([c.day_start, c.day_end - 10])
            self._add("fixed", [Path(ends, np.array([x, x]), np.array([y, y]))])

    def cast(self) -> list[Person]:
        self.customers()
        self.passersby()
        self.staff()
        self.fixed_devices()
        return self.people
