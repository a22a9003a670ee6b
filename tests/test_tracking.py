"""The tracker (step 02, footfall.pipeline.tracking) on hand-made phones: what must be
one device, what must not, and which devices count as followed."""

from __future__ import annotations

import importlib
import random

import pyarrow as pa
import pytest

step = importlib.import_module("footfall.pipeline.02_link_pseudonyms")

S = 1_000_000
GAP = 15 * 60 * S


class Air:
    """Pseudonyms as SOURCE_SQL gives them (one row per pseudonym and receiver)."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.next_device = 1
        self.rng = random.Random(7)

    def address(
        self,
        first_s: float,
        last_s: float,
        seq_first: int,
        seq_last: int,
        layout: int,
        level: float,
        randomized: bool = True,
        receiver: str = "s1/2437",
        store: str = "shop",
        epoch: str = "2024-05-14",
    ) -> int:
        device = self.next_device
        self.next_device += 1
        self.rows.append(
            {
                "store": store,
                "epoch": epoch,
                "device": device,
                "receiver": receiver,
                "first_us": int(first_s * S),
                "last_us": int(last_s * S),
                "seq_first": seq_first % 4096,
                "seq_last": seq_last % 4096,
                "layout": layout,
                "randomized": randomized,
                "peak_rssi": level,
                "margin": level + 70,
                "gap_us": GAP,
            }
        )
        return device

    def iphone(
        self, start_s: float, scans: int, every_s: float, level: float, layout: int = 7, per_channel: int = 1, **kwargs
    ) -> list[int]:
        """A new address and a new sequence start at every scan (per channel: several
        addresses within one scan, milliseconds apart)."""
        out = []
        for n in range(scans):
            t = start_s + n * every_s
            for c in range(per_channel):
                seq = self.rng.randrange(4096)
                out.append(self.address(t + c * 0.2, t + c * 0.2 + 0.02, seq, seq + 1, layout, level, **kwargs))
        return out

    def android(
        self,
        start_s: float,
        scans: int,
        every_s: float,
        level: float,
        seq: int = 100,
        layout: int = 9,
        step_per_scan: int = 28,
        levels: list[float] | None = None,
        **kwargs,
    ) -> list[int]:
        """A new address per scan, the sequence number running on."""
        out = []
        for n in range(scans):
            t = start_s + n * every_s
            lv = levels[n] if levels else level
            out.append(self.address(t, t + 0.05, seq, seq + 2, layout, lv, **kwargs))
            seq += step_per_scan
        return out

    def links(self) -> dict[int, dict]:
        rows = sorted(self.rows, key=lambda r: (r["store"], r["epoch"], r["device"], r["receiver"]))
        table = pa.Table.from_pylist(rows)
        return {r["device"]: r for r in step.links(table).to_pylist()}


def phones_of(links: dict[int, dict], devices: list[int]) -> set[int]:
    return {links[d]["device_key"] for d in devices}


def test_an_iphone_drawing_an_address_per_channel_and_scan_is_one_device() -> None:
    air = Air()
    mine = air.iphone(0, 30, 40, -50, per_channel=3)
    links = air.links()
    assert len(phones_of(links, mine)) == 1
    assert not links[mine[0]]["followed"], "new sequence numbers at every scan: guessed, not followed"


def test_an_android_phone_is_followed_through_its_sequence_numbers_even_across_a_jump_in_signal() -> None:
    air = Air()
    levels = [-50.0] * 10 + [-85.0] * 5  # its owner walks to the back: 35 dB weaker
    mine = air.android(0, 15, 40, -50, levels=levels)
    links = air.links()
    assert len(phones_of(links, mine)) == 1
    assert links[mine[0]]["followed"]


def test_two_androids_of_one_model_side_by_side_are_kept_apart_by_their_sequence_numbers() -> None:
    air = Air()
    first = air.android(0, 20, 40, -55, seq=100)
    second = air.android(13, 20, 40, -55, seq=2100)
    links = air.links()
    assert len(phones_of(links, first)) == 1 and len(phones_of(links, second)) == 1
    assert phones_of(links, first) != phones_of(links, second)


def test_two_iphones_of_one_model_far_apart_in_signal_stay_two() -> None:
    air = Air()
    near = air.iphone(0, 20, 40, -45)
    far = air.iphone(15, 20, 40, -80)
    links = air.links()
    assert len(phones_of(links, near)) == 1 and len(phones_of(links, far)) == 1
    assert phones_of(links, near) != phones_of(links, far)


def test_different_element_layouts_are_different_devices() -> None:
    air = Air()
    one = air.iphone(0, 10, 40, -50, layout=1)
    other = air.iphone(5, 10, 40, -50, layout=2)
    other += air.iphone(4000, 3, 40, -52, layout=1)  # layout 1 alone elsewhere: 2 is not a second layout of 1
    links = air.links()
    assert phones_of(links, one).isdisjoint(phones_of(links, other[:10]))


def test_a_silence_longer_than_the_visit_gap_starts_a_new_device() -> None:
    air = Air()
    before = air.iphone(0, 3, 40, -50)
    after = air.iphone(80 + 16 * 60, 3, 40, -50)
    links = air.links()
    assert phones_of(links, before).isdisjoint(phones_of(links, after))


def test_an_address_in_use_at_the_same_moment_is_another_phone() -> None:
    air = Air()
    long_one = air.address(0, 60, 10, 30, 7, -50)
    short_one = air.address(20, 20.05, 500, 502, 7, -50)
    links = air.links()
    assert links[long_one]["device_key"] != links[short_one]["device_key"]


def test_a_fixed_address_is_a_device_of_its_own_decided_by_its_own_lifetime() -> None:
    air = Air()
    fixed = air.address(0, 3600, 1, 900, 7, -50)  # heard for an hour, even with the random bit set
    rotating = air.iphone(100, 5, 40, -50)
    links = air.links()
    assert links[fixed]["device_key"] == fixed and links[fixed]["followed"]
    assert len(phones_of(links, rotating)) == 1 and fixed not in phones_of(links, rotating)


def test_global_addresses_heard_once_are_passers_by_never_chained_into_one_another() -> None:
    """A street of phones that keep their address: the many heard in one scan only
    (people walking past) must not be taken for one phone rotating its address."""
    air = Air()
    customers = [air.address(n * 300, n * 300 + 900, 1, 200, 5, -55, randomized=False) for n in range(5)]
    passers = [
        air.address(60 + n * 45, 60 + n * 45 + 0.05, n * 700, n * 700 + 1, 5, -60, randomized=False) for n in range(40)
    ]
    links = air.links()
    assert len({links[d]["device_key"] for d in passers}) == 40
    assert all(links[d]["device_key"] == d for d in customers)


def test_a_scrambled_locally_administered_bit_is_recognised_and_the_phone_still_linked() -> None:
    """Anonymised captures replace every address with a random one, bit and all: half
    of a rotating phone's one-scan addresses then look global."""
    air = Air()
    mine = [air.address(n * 40, n * 40 + 0.05, 7 * n, 7 * n + 1, 3, -50, randomized=n % 2 == 0) for n in range(20)]
    assert len(phones_of(air.links(), mine)) == 1


def test_a_lone_phone_probing_with_a_second_layout_now_and_then_is_one_device() -> None:
    air = Air()
    mine = []
    for n in range(30):
        layout = 12 if n % 6 == 5 else 11  # every sixth scan in its second layout
        mine += air.iphone(n * 40, 1, 40, -50 + (n % 3), layout=layout)
    assert len(phones_of(air.links(), mine)) == 1


def test_a_phone_present_for_hours_is_one_device_across_a_break() -> None:
    """Staff: three hours, a forty-minute break out of range, three hours more, among
    customers of the same model; the day's presence then shows it is staff."""
    air = Air()
    morning = air.iphone(0, 270, 40, -48)
    afternoon = air.iphone(3 * 3600 + 40 * 60, 270, 40, -49)
    for n in range(12):  # customers of the same model, weaker, now and then
        air.iphone(1800 + n * 1500, 10, 45, -66)
    links = air.links()
    assert len(phones_of(links, morning + afternoon)) == 1


def test_links_never_cross_stores_or_epochs_and_are_keyed_by_the_first_pseudonym() -> None:
    air = Air()
    firsts = []
    for store in ("north", "south"):
        for epoch in ("2024-05-14", "2024-05-15"):
            firsts.append(air.iphone(0, 4, 40, -50, store=store, epoch=epoch)[0])
    links = air.links().values()
    keys = {(r["store"], r["epoch"], r["device_key"]) for r in links}
    assert len(keys) == 4, "one device per store and epoch"
    assert {r["device_key"] for r in links} == set(firsts)


def test_an_empty_store_epoch_gives_no_links() -> None:
    assert step.links(step.SCHEMA.empty_table()).num_rows == 0


@pytest.mark.parametrize("seed", [1, 2])
def test_in_a_crowd_androids_at_the_same_time_are_never_merged(seed: int) -> None:
    """25 Androids of one model within an hour, among 25 iPhones of another: no device
    key holds two Androids that were there at the same time (their sequence numbers
    keep them apart; one that leaves and another that comes later may continue its
    numbers plausibly, and may be taken for it coming back)."""
    rng = random.Random(seed)
    air = Air()
    androids = [
        air.android(rng.uniform(0, 3600), 5, rng.uniform(20, 60), rng.uniform(-75, -45), seq=rng.randrange(4096))
        for _ in range(25)
    ]
    for _ in range(25):
        air.iphone(rng.uniform(0, 3600), rng.randint(3, 20), rng.uniform(20, 60), rng.uniform(-75, -45))
    links = air.links()
    span = {
        number: (
            min(r["first_us"] for r in air.rows if r["device"] in phone),
            max(r["last_us"] for r in air.rows if r["device"] in phone),
        )
        for number, phone in enumerate(androids)
    }
    held: dict[int, set[int]] = {}
    for number, phone in enumerate(androids):
        for device in phone:
            held.setdefault(links[device]["device_key"], set()).add(number)
    for numbers in held.values():
        for a in numbers:
            for b in numbers:
                overlap = min(span[a][1], span[b][1]) - max(span[a][0], span[b][0])
                assert a == b or overlap < 0, f"Androids {a} and {b}, there together, in one device"
