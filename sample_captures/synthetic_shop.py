#!/usr/bin/env python3
"""Writes a simulated day of a shop on a street, with its ground truth.

    python sample_captures/synthetic_shop.py OUT_DIR [--seed 1] [--customers 300]
        [--sensors s1,s2] [--no-randomization] [--KNOB VALUE ...]

The successor of synthetic_store.py for measuring accuracy: a glass front on a
pavement, passers-by (some in platoons off a tram, some stopping at the window),
customers who browse and leave, staff on shifts, fixed devices; phones that scan as
real ones do (screen on and off, channel sweeps, address and sequence behaviour of
iOS-like, Android-like and fixed-address phones, element layouts per firmware family
and OS version); log-distance path loss with the glass, the walls, the body,
correlated shadowing, fading and frame loss; one or two sensors on a channel or
hopping. Every knob of shopsim.spec.ShopSpec can be set; those not set are drawn from
the seed inside their plausible range (shopsim.spec.RANGES).

OUT_DIR gets `<sensor>.pcap` per sensor, `footfall.toml`, `truth.json` and
`frames.npz` (which person sent each written frame; see shopsim/day.py).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import fields
from pathlib import Path

from shopsim import ShopSpec, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sensors", help="comma-separated sensor names (default s1)")
    parser.add_argument("--no-randomization", action="store_true", help="every phone keeps its global address")
    simple = {}
    for f in fields(ShopSpec):
        default = getattr(ShopSpec(), f.name)
        if isinstance(default, bool) or not isinstance(default, (int, float, str)):
            continue
        simple[f.name] = type(default)
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=type(default), help=f"default: drawn or {default}")
    args = parser.parse_args()
    knobs = {name: getattr(args, name) for name in simple if getattr(args, name) is not None}
    if args.sensors:
        knobs["sensors"] = tuple(s for s in args.sensors.split(",") if s)
    if args.no_randomization:
        knobs["randomization"] = False
    started = time.perf_counter()
    truth = generate(args.out_dir, seed=args.seed, **knobs)
    summary = {
        **truth["daily"],
        "frames": {s["sensor"]: s["frames"] for s in truth["sensors"]},
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
