"""The shop sweep of `make eval`: simulated shop days (sample_captures/synthetic_shop.py)
run through the `footfall` command as a user would, against their ground truth.

Shops of 100, 300 and 600 customers a day (passers-by 4-8 times as many, and every
other knob drawn from the seed inside its plausible range), with today's phone mix
(iOS-like and Android-like addresses that change at every sweep, 10-20 % fixed
addresses) or without randomisation (every phone keeps its global address), heard by
one sensor or two, over several seeds. Each sensor's capture is collected with
`footfall collect`, the day run with `footfall run`, and the marts read:

* daily visitors (error in %), median dwell (error in minutes), hourly arrivals
  (Pearson r over the opening hours) and people present per 5 minutes (MAE, r);
* the same from naive counts on the same sightings, as baselines: every pseudonym
  heard above the threshold, global addresses only (DESIGN.md's visit rules on them),
  and distinct element layouts above the threshold per 5 minutes (occupancy only);
* association quality: V-measure of the pseudonym -> device key partition against the
  pseudonym -> person truth (frames.npz), over every pseudonym of the day, and the share
  of device keys that hold more than one person. The pipeline does not persist its
  pseudonym links, so they are read by replaying the same run in process with one
  more output (the `link_pseudonyms` relation of step 02, as it is named today); when
  the pipeline has no such relation the V-measure is reported as unavailable.
"""

from __future__ import annotations

import math
import sys
import time
import zlib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "sample_captures"))

SIZES = (100, 300, 600)
SEEDS = (1, 2, 3, 4)
BIN_US = 300_000_000
HOUR_US = 3_600_000_000


@dataclass(frozen=True)
class Shop:
    customers: int
    randomization: bool
    sensors: int
    seed: int

    @property
    def name(self) -> str:
        mix = "rand" if self.randomization else "norand"
        return f"c{self.customers}-{mix}-{self.sensors}s-seed{self.seed}"

    @property
    def spec_seed(self) -> int:
        """Each shop of the sweep draws its own knobs (passers-by, dwell, mix, radio ...)."""
        return zlib.crc32(self.name.encode())


def grid(quick: bool) -> list[Shop]:
    if quick:
        return [Shop(100, True, 1, 1), Shop(300, True, 2, 1), Shop(600, True, 1, 1), Shop(300, False, 2, 1)]
    return [
        Shop(customers, randomization, sensors, seed)
        for randomization in (True, False)
        for customers in SIZES
        for sensors in (1, 2)
        for seed in SEEDS
    ]


@dataclass
class Estimate:
    """One method's figures for a shop day (None where it gives none)."""

    visitors: float | None = None
    visitors_range: tuple[float, float] | None = None
    dwell_min: float | None = None
    hourly: np.ndarray | None = None  # arrivals per opening hour
    present: np.ndarray | None = None  # people present per 5-minute bin of the opening hours


@dataclass
class Association:
    vmeasure: float | None = None
    merged_keys: float | None = None  # share of device keys that hold more than one person
    largest_key: int | None = None  # people in the largest device key
    note: str = ""  # why there are no figures


@dataclass
class ShopResult:
    shop: Shop
    passersby_ratio: float
    truth: Estimate
    footfall: Estimate
    baselines: dict[str, Estimate]
    association: Association
    seconds_generate: float
    seconds_footfall: float


def pearson(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    if a is None or b is None or len(a) < 3 or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def v_measure(classes: np.ndarray, clusters: np.ndarray) -> float:
    """Harmonic mean of homogeneity and completeness (Rosenberg & Hirschberg 2007)."""
    _, c = np.unique(classes, return_inverse=True)
    _, k = np.unique(clusters, return_inverse=True)
    n = len(c)
    pairs, n_ck = np.unique(c.astype(np.int64) * (k.max() + 1) + k, return_counts=True)
    ci, ki = pairs // (k.max() + 1), pairs % (k.max() + 1)
    n_c, n_k = np.bincount(c), np.bincount(k)

    def entropy(counts: np.ndarray) -> float:
        p = counts[counts > 0] / n
        return float(-(p * np.log(p)).sum())

    h_c, h_k = entropy(n_c), entropy(n_k)
    h_c_given_k = float(-(n_ck / n * np.log(n_ck / n_k[ki])).sum())
    h_k_given_c = float(-(n_ck / n * np.log(n_ck / n_c[ci])).sum())
    homogeneity = 1.0 if h_c == 0 else 1 - h_c_given_k / h_c
    completeness = 1.0 if h_k == 0 else 1 - h_k_given_c / h_k
    if homogeneity + completeness == 0:
        return 0.0
    return 2 * homogeneity * completeness / (homogeneity + completeness)


class Calendar:
    """The shop's opening hours as UTC microseconds, its local hours and 5-minute bins."""

    def __init__(self, spec: dict) -> None:
        self.zone = ZoneInfo(spec["timezone"])
        day = date.fromisoformat(spec["day"])
        opening, closing = spec["opening_hours"].split("-")
        self.open_us = self._us(day, opening)
        self.close_us = self._us(day, closing)
        self.hours = list(range(int(opening[:2]), int(closing[:2]) + (closing[3:] != "00")))
        self.bins = np.arange(self.open_us, self.close_us, BIN_US)

    def _us(self, day: date, clock: str) -> int:
        return round(datetime.combine(day, datetime.strptime(clock, "%H:%M").time(), self.zone).timestamp() * 1e6)

    def local_hours(self, us: np.ndarray) -> np.ndarray:
        quarters = np.asarray(us, np.int64) // 900_000_000
        uniq, inverse = np.unique(quarters, return_inverse=True)
        hours = np.array([datetime.fromtimestamp(q * 900, self.zone).hour for q in uniq.tolist()], int)
        return hours[inverse] if len(us) else np.empty(0, int)

    def per_hour(self, us: np.ndarray) -> np.ndarray:
        counts = np.bincount(self.local_hours(us), minlength=24) if len(us) else np.zeros(24)
        return np.asarray(counts[self.hours], float)

    def per_bin(self, mapping: dict[int, float]) -> np.ndarray:
        return np.array([mapping.get(int(b), 0.0) or 0.0 for b in self.bins], float)


def _footfall(*args, cwd: Path) -> None:
    from run_eval import footfall

    footfall(*args, cwd=cwd)


def truth_estimate(truth: dict, cal: Calendar) -> Estimate:
    present = {round(datetime.fromisoformat(o["ts"]).timestamp() * 1e6): o["present"] for o in truth["occupancy"]}
    hourly = {h["hour"]: h["arrivals"] for h in truth["hourly"]}
    dwell = truth["daily"]["dwell_p50_s"]
    return Estimate(
        truth["daily"]["visitors"],
        None,
        None if dwell is None else dwell / 60,
        np.array([hourly.get(h, 0) for h in cal.hours], float),
        cal.per_bin(present),
    )


def footfall_estimate(data: Path, cal: Calendar, day: str) -> Estimate:
    def mart(name: str) -> str:
        return f"read_parquet('{data}/marts/{name}/**/*.parquet', hive_partitioning = true) where date = '{day}'"

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    visitors, low, high, dwell = con.execute(
        f"select visitors, visitors_low, visitors_high, dwell_p50_s from {mart('daily')}"
    ).fetchall()[0]
    hourly = dict(con.execute(f"select hour, arrivals from {mart('hourly')}").fetchall())
    present = dict(con.execute(f"select epoch_us(ts), present from {mart('occupancy')}").fetchall())
    return Estimate(
        visitors,
        (low, high),
        None if dwell is None else dwell / 60,
        np.array([hourly.get(h) or 0 for h in cal.hours], float),
        cal.per_bin(present),
    )


def device_keys_estimate(data: Path, cal: Calendar, day: str) -> Estimate:
    """The tracker's device keys counted as they are (each guessed chain one person,
    every visit one), without the weighing of guessed visits by their scans: the
    estimate the weighing improves on."""
    visits = f"read_parquet('{data}/visits/**/*.parquet', hive_partitioning = true) where date = '{day}'"
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    keys, dwell = con.execute(
        f"select count(distinct device_key), median(dwell_s) from {visits} and class = 'visitor'"
    ).fetchall()[0]
    firsts = np.array(
        [r[0] for r in con.execute(f"select epoch_us(first_seen) from {visits} and class = 'visitor'").fetchall()],
        np.int64,
    )
    return Estimate(keys, None, None if dwell is None else dwell / 60, cal.per_hour(firsts), None)


def baselines(data: Path, cal: Calendar, spec: dict) -> dict[str, Estimate]:
    """Naive counts from the day's sightings (every sensor's threshold is the store's)."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(
        "create view s as select epoch_us(ts) as t, sensor, device, randomized, rssi, ie_hash "
        f"from read_parquet('{data}/sightings/**/*.parquet', hive_partitioning = true)"
    )
    threshold, gap_us = spec["rssi_threshold_dbm"], int(spec["gap_min"] * 60e6)
    minimum_us, staff_us = int(spec["min_dwell_min"] * 60e6), int(spec["staff_daily_hours"] * HOUR_US)
    window = [cal.open_us, cal.close_us]

    def per_bin(column: str, condition: str) -> dict[int, float]:
        rows = con.execute(
            f"select t // {BIN_US} * {BIN_US}, count(distinct {column}) from s "
            f"where rssi >= ? and {condition} and t >= ? and t < ? group by 1",
            [threshold, *window],
        ).fetchall()
        return dict(rows)

    # every pseudonym heard above the threshold: one visitor each, arriving when first heard
    firsts = np.array(
        [
            r[0]
            for r in con.execute(
                "select min(t) from s group by device having max(rssi) >= ? and min(t) >= ? and min(t) < ?",
                [threshold, *window],
            ).fetchall()
        ],
        np.int64,
    )
    pseudonyms = Estimate(len(firsts), None, None, cal.per_hour(firsts), cal.per_bin(per_bin("device", "true")))
    # global addresses only, by DESIGN.md's visit rules
    visits = con.execute(
        f"""
        with ordered as (
            select device, t, rssi, case when t - lag(t) over (partition by device order by t) > {gap_us}
                then 1 else 0 end as starts
            from s where not randomized
        ),
        numbered as (
            select *, sum(starts) over (partition by device order by t rows unbounded preceding) as visit from ordered
        ),
        visits as (
            select device, visit, min(t) as first, max(t) as last, max(rssi) as peak from numbered group by all
        ),
        staff as (select device from visits group by device having sum(last - first) > {staff_us})
        select device, first, last from visits
        where peak >= ? and last - first >= {minimum_us} and device not in (select device from staff)
            and first >= ? and first < ?
        """,
        [threshold, *window],
    ).fetchall()
    first = np.array([v[1] for v in visits], np.int64)
    last = np.array([v[2] for v in visits], np.int64)
    middles = cal.bins + BIN_US // 2
    present = {int(b): float(((first <= m) & (last >= m)).sum()) for b, m in zip(cal.bins, middles, strict=True)}
    global_devices = len({v[0] for v in visits})
    dwells = (last - first) / 60e6
    global_only = Estimate(
        global_devices,
        None,
        float(np.median(dwells)) if len(dwells) else None,
        cal.per_hour(first),
        cal.per_bin(present),
    )
    layouts = Estimate(None, None, None, None, cal.per_bin(per_bin("ie_hash", "true")))
    return {"pseudonyms >= thr": pseudonyms, "global only": global_only, "layouts / 5 min": layouts}


LINKS_SQL = """
with
final as (
    select l.store, d.date, l.device, l.device_key
    from link_pseudonyms as l
    join store_days as d on d.store = l.store
)

select * from final
"""


def pipeline_links(config: Path, data: Path, day: date) -> dict[int, int] | str:
    """The pipeline's pseudonym -> device key map of the day: the same run replayed in
    this process, publishing one more relation (and nothing else). A message instead
    when the pipeline has no `link_pseudonyms` relation to read."""
    from footfall import outputs
    from footfall.config import load_settings
    from footfall.pipeline import runner

    links = outputs.Dataset(
        "_eval/links",
        "a pseudonym",
        "the pipeline's links",
        (outputs.Column("device", outputs.INT64, ""), outputs.Column("device_key", outputs.INT64, "")),
        tier="visits",
        relation="eval_links",
    )
    settings = load_settings(config, data)
    own_steps, own_outputs = runner.steps, runner.OUTPUTS
    runner.steps = lambda: [*own_steps(), runner.Step("eval_links", LINKS_SQL)]
    runner.OUTPUTS = {"eval_links": links}
    try:
        report = runner.run(settings, runner.plan(settings, None, day, day))
    finally:
        runner.steps, runner.OUTPUTS = own_steps, own_outputs
    if report.errors:
        return "the pipeline's links could not be read: " + "; ".join(report.errors)[:200]
    files = sorted((data / "_eval" / "links").rglob("*.parquet"))
    if not files:
        return {}
    rows = (
        duckdb.connect().execute(f"select device, device_key from read_parquet({[str(f) for f in files]})").fetchall()
    )
    return dict(rows)


def association(folder: Path, config: Path, day: date) -> Association:
    """V-measure of pseudonym -> device key against pseudonym -> person, over every
    pseudonym of the day; the share of keys holding more than one person; the largest."""
    import pyarrow as pa

    sidecar = np.load(folder / "frames.npz")
    sensors = [key.removesuffix("_person") for key in sidecar.files if key.endswith("_person")]
    frames = pa.table(
        {
            "sensor": [s for s in sensors for _ in range(len(sidecar[f"{s}_person"]))],
            "t": np.concatenate([sidecar[f"{s}_ts_us"] for s in sensors]),
            "seq": np.concatenate([sidecar[f"{s}_seq"] for s in sensors]).astype(np.int16),
            "person": np.concatenate([sidecar[f"{s}_person"] for s in sensors]),
        }
    )
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.register("frames", frames)
    rows = con.execute(
        "select s.device, min(f.person), max(f.person) "
        f"from read_parquet('{folder}/data/sightings/**/*.parquet', hive_partitioning = true) as s "
        "join frames as f on f.sensor = s.sensor and f.t = epoch_us(s.ts) and f.seq = s.seq group by s.device"
    ).fetchall()
    if any(r[1] != r[2] for r in rows):
        return Association(note="a pseudonym maps to two people: the sidecar does not match the sightings")
    links = pipeline_links(config, folder / "data", day)
    if isinstance(links, str):
        return Association(note=links)
    people = np.array([r[1] for r in rows], np.int64)
    keys = np.array([links.get(r[0], r[0]) for r in rows], np.int64)
    per_key: dict[int, set[int]] = {}
    for key, person in zip(keys.tolist(), people.tolist(), strict=True):
        per_key.setdefault(key, set()).add(person)
    return Association(
        v_measure(people, keys),
        sum(len(p) > 1 for p in per_key.values()) / len(per_key),
        max(len(p) for p in per_key.values()),
    )


def run_shop(shop: Shop, workdir: Path) -> ShopResult:
    from shopsim import generate

    folder = workdir / "shops" / shop.name
    started = time.perf_counter()
    sensors = tuple(f"s{i + 1}" for i in range(shop.sensors))
    truth = generate(
        folder, seed=shop.spec_seed, customers=shop.customers, sensors=sensors, randomization=shop.randomization
    )
    generated = time.perf_counter()
    config = folder / "footfall.toml"
    config.write_text(config.read_text() + "\n[privacy]\nk = 1\n")  # compare raw counts: no suppression
    for sensor in sensors:
        _footfall("collect", folder / f"{sensor}.pcap", "--config", config, "--sensor", sensor, cwd=folder)
    _footfall("run", "--config", config, cwd=folder)
    ran = time.perf_counter()
    spec = truth["spec"]
    cal = Calendar(spec)
    return ShopResult(
        shop,
        spec["passersby_per_customer"],
        truth_estimate(truth, cal),
        footfall_estimate(folder / "data", cal, spec["day"]),
        {
            "device keys": device_keys_estimate(folder / "data", cal, spec["day"]),
            **baselines(folder / "data", cal, spec),
        },
        association(folder, config, date.fromisoformat(spec["day"])),
        generated - started,
        ran - generated,
    )


# --- the report -----------------------------------------------------------------------------


def _error(estimate: float | None, truth: float | None, relative: bool) -> float | None:
    if estimate is None or truth is None or (relative and truth == 0):
        return None
    return (estimate - truth) / truth if relative else estimate - truth


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def figures(result: ShopResult, estimate: Estimate) -> dict[str, float | None]:
    t = result.truth
    mae = None
    if estimate.present is not None:
        mae = float(np.abs(estimate.present - t.present).mean())
    return {
        "visitors": _error(estimate.visitors, t.visitors, True),
        "dwell": _error(estimate.dwell_min, t.dwell_min, False),
        "hourly_r": pearson(estimate.hourly, t.hourly),
        "occupancy_mae": mae,
        "occupancy_r": pearson(estimate.present, t.present),
    }


def report(results: list[ShopResult]) -> list[tuple[str, float, str, float]]:
    """Prints the per-shop table and the summary; returns the target checks."""
    print("\nShops on a street (simulated; footfall collect + run; errors against the truth)")
    print(
        f"{'shop':26} {'pass/c':>6} {'truth':>6} {'est.':>6} {'range':>9} {'visit.':>7} {'keys':>6} "
        f"{'dwell':>6} {'dwell':>6} {'hourly':>6} {'occ.':>5} {'occ.':>5} {'V':>5} {'merged':>6} | "
        f"{'pseud.':>7} {'r':>5} | {'global':>7} {'dwell':>6} {'r':>5} | {'layouts':>7}"
    )
    print(
        f"{'':26} {'':>6} {'visit.':>6} {'visit.':>6} {'':>9} {'error':>7} {'error':>6} {'truth':>6} "
        f"{'error':>6} {'r':>6} {'MAE':>5} {'r':>5} {'':>5} {'keys':>6} | {'visit.':>7} {'':>5} | "
        f"{'visit.':>7} {'error':>6} {'':>5} | {'occ.MAE':>7}"
    )
    for r in results:
        f = figures(r, r.footfall)
        p = figures(r, r.baselines["pseudonyms >= thr"])
        g = figures(r, r.baselines["global only"])
        lay = figures(r, r.baselines["layouts / 5 min"])
        k = figures(r, r.baselines["device keys"])
        a = r.association
        span = r.footfall.visitors_range
        shown = "-" if span is None or None in span else f"{span[0]:.0f}-{span[1]:.0f}{'' if _holds(r) else '!'}"
        print(
            f"{r.shop.name:26} {r.passersby_ratio:>6.1f} {r.truth.visitors:>6} {_fmt(r.footfall.visitors, '.0f'):>6} "
            f"{shown:>9} {_fmt(f['visitors'], '+.0%'):>7} {_fmt(k['visitors'], '+.0%'):>6} "
            f"{_fmt(r.truth.dwell_min, '.1f'):>6} {_fmt(f['dwell'], '+.1f'):>6} "
            f"{_fmt(f['hourly_r'], '.2f'):>6} {_fmt(f['occupancy_mae'], '.1f'):>5} {_fmt(f['occupancy_r'], '.2f'):>5} "
            f"{_fmt(a.vmeasure, '.2f'):>5} {_fmt(a.merged_keys, '.0%'):>6} | {_fmt(p['visitors'], '+.0%'):>7} "
            f"{_fmt(p['hourly_r'], '.2f'):>5} | {_fmt(g['visitors'], '+.0%'):>7} {_fmt(g['dwell'], '+.1f'):>6} "
            f"{_fmt(g['hourly_r'], '.2f'):>5} | {_fmt(lay['occupancy_mae'], '.1f'):>7}"
        )
    notes = sorted({r.association.note for r in results if r.association.note})
    for note in notes:
        print(f"  association: {note}")
    print(
        "  (pass/c: passers-by per customer; dwell in minutes; occ.: people present per 5 minutes; V: V-measure of "
        "pseudonym -> device key against pseudonym -> person; merged keys: device keys holding more than one person;\n"
        "   range: visitors_low-visitors_high, ! where it misses the truth; keys: the device keys counted as they are, "
        "without weighing the guessed visits)"
    )
    print("\nShops, summary: mean |visitors error|, share of days whose range holds the truth, mean |dwell error|")
    print("(min), mean hourly r, mean V-measure; then the device keys' and the baselines' mean |visitors error| and")
    print("every method's mean occupancy MAE (people per 5 minutes)")
    print(
        f"{'group':34} {'shops':>5} {'visitors':>8} {'range':>6} {'dwell':>6} {'hourly r':>8} {'V':>5} | {'keys':>6} "
        f"{'pseud.':>7} {'global':>7} | {'occupancy MAE: footfall, pseud., global, layouts':>48}"
    )
    for randomization, mix in ((True, "randomising"), (False, "no randomisation")):
        shops = [r for r in results if r.shop.randomization == randomization]
        groups = [(f"{n} customers", [r for r in shops if r.shop.customers == n]) for n in SIZES]
        groups += [(f"{n} sensor(s)", [r for r in shops if r.shop.sensors == n]) for n in (1, 2)]
        for name, members in [*groups, ("all", shops)]:
            if members:
                print(f"{mix + ', ' + name:34} {len(members):>5} {summary_row(members)}")
    return targets(results)


def _mean(values: list[float | None], absolute: bool = False) -> float | None:
    kept = [abs(v) if absolute else v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def summary_row(members: list[ShopResult]) -> str:
    def of(method: str, name: str, absolute: bool = False) -> float | None:
        estimates = [r.footfall if method == "footfall" else r.baselines[method] for r in members]
        return _mean([figures(r, e)[name] for r, e in zip(members, estimates, strict=True)], absolute)

    methods = ("footfall", "pseudonyms >= thr", "global only", "layouts / 5 min")
    vmeasure = _mean([r.association.vmeasure for r in members])
    occupancy = ", ".join(_fmt(of(method, "occupancy_mae"), ".1f") for method in methods)
    holds = _mean([float(_holds(r)) for r in members])
    return (
        f"{_fmt(of('footfall', 'visitors', True), '.0%'):>8} {_fmt(holds, '.0%'):>6} "
        f"{_fmt(of('footfall', 'dwell', True), '.1f'):>6} "
        f"{_fmt(of('footfall', 'hourly_r'), '.2f'):>8} {_fmt(vmeasure, '.2f'):>5} | "
        f"{_fmt(of('device keys', 'visitors', True), '.0%'):>6} "
        f"{_fmt(of('pseudonyms >= thr', 'visitors', True), '.0%'):>7} "
        f"{_fmt(of('global only', 'visitors', True), '.0%'):>7} | {occupancy:>48}"
    )


def _holds(result: ShopResult) -> bool:
    span = result.footfall.visitors_range
    return span is not None and None not in span and span[0] <= result.truth.visitors <= span[1]


def targets(results: list[ShopResult]) -> list[tuple[str, float, str, float]]:
    """Issue 12's targets: the worst shop of each kind must meet them."""

    def worst(values: list[float | None]) -> float:
        return max(math.inf if v is None else abs(v) for v in values)

    checks = []
    rand = [figures(r, r.footfall) for r in results if r.shop.randomization]
    plain = [figures(r, r.footfall) for r in results if not r.shop.randomization]
    if rand:
        checks += [
            ("shops, randomising: worst |visitors error|", worst([x["visitors"] for x in rand]), "<=", 0.10),
            ("shops, randomising: worst |median dwell error| (min)", worst([x["dwell"] for x in rand]), "<=", 2.0),
            (
                "shops, randomising: lowest hourly arrivals r",
                min(-1.0 if x["hourly_r"] is None else x["hourly_r"] for x in rand),
                ">=",
                0.90,
            ),
        ]
    if plain:
        checks.append(
            ("shops, no randomisation: worst |visitors error|", worst([x["visitors"] for x in plain]), "<=", 0.05)
        )
    return checks
