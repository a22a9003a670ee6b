"""The ground truth of a shop day, from what the people did (never from what the
sensors heard).

A customer's visit is the time inside the store, from entering by the door to leaving
by it. As a store manager counts (DESIGN.md's rules):

* `customers_entered`: people who came in at all;
* `visitors`: people with at least one visit of at least `min_dwell_min` (a visit
  shorter than that is counted in `short_visits` and `customers_entered` only: footfall
  classes it as passing by, so it is neither a visitor nor a passer-by here);
* `visits`, `dwell_p50_s`, `dwell_p90_s`, `dwell_buckets`, hourly `arrivals` (by the
  local hour of entry) and `occupancy` (counted visits under way at the middle of each
  5-minute bin, as footfall's occupancy mart counts) are over the visits of at least
  `min_dwell_min`; a return later the same day is another visit (returns come at
  least 30 minutes later, beyond the visit gap);
* `passersby`: people who walked past and never came in (window-shoppers included),
  `passersby_open` those of them who passed during opening hours;
* `staff` and `fixed_devices`: as cast, whatever their time on site.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime

import numpy as np

from .crowd import Clock, Person
from .phones import Phone
from .spec import ShopSpec

BIN_S = 300
DWELL_BUCKETS = [("<5m", 300), ("5-20m", 1200), ("20-60m", 3600), ("1-6h", 21600), ("6h+", float("inf"))]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _quantile(values: list[float], q: float) -> float | None:
    return float(np.quantile(values, q)) if values else None  # linear, as DuckDB's quantile_cont


def _buckets(dwells: list[float]) -> dict[str, int]:
    counts = {name: 0 for name, _ in DWELL_BUCKETS}
    for d in dwells:
        counts[next(name for name, upper in DWELL_BUCKETS if d < upper)] += 1
    return counts


def ground_truth(spec: ShopSpec, seed: int, clock: Clock, people: list[Person], phones: list[Phone]) -> dict:
    minimum = spec.min_dwell_min * 60
    visits = [
        {"person": p.pid, "enter": iso(a), "exit": iso(b), "dwell_s": round(b - a, 3), "counted": b - a >= minimum}
        for p in people
        for a, b in p.visits
    ]
    counted = [(p.pid, a, b) for p in people for a, b in p.visits if b - a >= minimum]
    dwells = sorted(b - a for _, a, b in counted)
    hourly = Counter(datetime.fromtimestamp(a, clock.zone).hour for _, a, _ in counted)
    bins = np.arange(clock.day_start, clock.day_end, BIN_S)
    middles = bins + BIN_S / 2
    present = np.zeros(len(bins), dtype=int)
    for _, a, b in counted:
        present += (middles >= a) & (middles <= b)
    passersby = [p for p in people if p.role == "passerby"]
    open_passers = [p for p in passersby if any(q.start < clock.close and q.end > clock.open for q in p.paths)]
    crowd_phones = [phone for person, phone in zip(people, phones, strict=True) if person.role != "fixed"]
    layouts = Counter(phone.layout for phone in crowd_phones)
    return {
        "seed": seed,
        "spec": asdict(spec),
        "rules": __doc__.split("\n\n", 1)[1].strip(),
        "daily": {
            "customers_entered": sum(1 for p in people if p.visits),
            "visitors": len({pid for pid, _, _ in counted}),
            "visits": len(counted),
            "short_visits": len(visits) - len(counted),
            "dwell_p50_s": _quantile(dwells, 0.5),
            "dwell_p90_s": _quantile(dwells, 0.9),
            "dwell_buckets": _buckets(dwells),
            "passersby": len(passersby),
            "passersby_open": len(open_passers),
            "window_shoppers": sum(p.window_shopper for p in passersby),
            "in_platoons": sum(p.platoon is not None for p in passersby),
            "staff": sum(p.role == "staff" for p in people),
            "fixed_devices": sum(p.role == "fixed" for p in people),
        },
        "hourly": [{"hour": h, "arrivals": hourly.get(h, 0)} for h in range(24)],
        "occupancy": [{"ts": iso(b), "present": int(n)} for b, n in zip(bins, present, strict=True)],
        "phones": {
            "kinds": dict(Counter(phone.kind for phone in crowd_phones)),
            "layouts": len(layouts),
            "top_layout_share": round(max(layouts.values()) / len(crowd_phones), 4) if crowd_phones else None,
        },
        "people": [
            {
                "person": p.pid,
                "role": p.role,
                "phone": phone.kind,
                "layout": phone.layout,
                **({"window_shopper": True} if p.window_shopper else {}),
                **({"platoon": p.platoon} if p.platoon is not None else {}),
                "in_range": [[iso(q.start), iso(q.end)] for q in p.paths],
            }
            for p, phone in zip(people, phones, strict=True)
        ],
        "visits": visits,
    }
