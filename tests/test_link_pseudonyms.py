"""The pseudonym linker on hand-made phones: what must be one device, and what must not."""

from __future__ import annotations

import importlib

import numpy as np
import pyarrow as pa

linker = importlib.import_module("footfall.pipeline.02_link_pseudonyms")

S = 1_000_000
GAP = 15 * 60 * S


def chains(rows: list[tuple], gap_us: int = GAP) -> list[int]:
    """rows: (first_s, last_s, seq_first, seq_last, layout, rssi, randomized); chain index per row."""
    rows = sorted(rows, key=lambda r: r[0])
    columns = list(zip(*rows, strict=True))
    return linker.link(
        np.array([int(v * S) for v in columns[0]]),
        np.array([int(v * S) for v in columns[1]]),
        np.array(columns[2]),
        np.array(columns[3]),
        np.array(columns[4]),
        np.array(columns[5], float),
        np.array(columns[6], bool),
        gap_us,
    ).tolist()


def phone(start_s: float, scans: int, every_s: float, rssi: float, layout: int = 7, seq_runs_on: bool = False):
    """An iPhone-like (or, with seq_runs_on, Android-like) phone: a new address per scan."""
    rows, seq = [], 100
    for n in range(scans):
        first = start_s + n * every_s
        seq = seq + 3 if seq_runs_on else (n * 997) % 4096
        rows.append((first, first + 0.05, seq, seq + 2, layout, rssi + (n % 3) - 1, True))
    return rows


def test_a_phone_rotating_its_address_every_scan_is_one_device() -> None:
    assert set(chains(phone(0, 30, 40, -50))) == {0}


def test_two_phones_of_the_same_model_far_apart_in_signal_stay_two() -> None:
    rows = phone(0, 20, 40, -45) + phone(15, 20, 40, -78)
    result = chains(rows)
    assert len(set(result)) == 2
    first_phone = {c for c, r in zip(result, sorted(rows), strict=True) if r[5] > -60}
    assert len(first_phone) == 1


def test_different_element_layouts_are_different_devices() -> None:
    assert len(set(chains(phone(0, 10, 40, -50, layout=1) + phone(5, 10, 40, -50, layout=2)))) == 2


def test_sequence_numbers_running_on_link_across_a_signal_jump() -> None:
    rows = phone(0, 5, 40, -50, seq_runs_on=True)
    last_seq = rows[-1][3]
    rows.append((205, 205.05, last_seq + 1, last_seq + 3, 7, -85, True))  # 35 dB weaker, same phone
    assert set(chains(rows)) == {0}


def test_a_gap_longer_than_the_visit_gap_starts_a_new_device() -> None:
    rows = phone(0, 3, 40, -50) + phone(80 + 16 * 60, 3, 40, -50)
    assert len(set(chains(rows))) == 2


def test_an_address_in_use_at_the_same_moment_is_another_phone() -> None:
    rows = [(0, 60, 10, 30, 7, -50, True), (20, 20.05, 500, 502, 7, -50, True)]
    assert len(set(chains(rows))) == 2


def test_long_lived_addresses_are_devices_of_their_own() -> None:
    rows = [(0, 3600, 1, 900, 7, -50, True), *phone(100, 5, 40, -50)]
    result = chains(rows)
    assert result[0] != result[1] and len(set(result[1:])) == 1


def test_global_addresses_are_linked_only_when_the_store_shows_they_rotate() -> None:
    persistent = [(n * 100, n * 100 + 300, 1, 50, 3, -60, False) for n in range(5)]  # global, multi-scan
    one_offs = [(1000 + n * 30, 1000 + n * 30 + 0.05, n * 900, n * 900 + 1, 7, -50, False) for n in range(3)]
    assert len(set(chains(persistent + one_offs))) == 8, "global addresses persist here: each is a device"
    rotating = [(n * 30, n * 30 + 0.05, n * 900, n * 900 + 1, 7, -50, False) for n in range(10)]
    assert len(set(chains(rotating))) == 1, "here every global address vanishes after a scan: linked"


def test_links_never_cross_stores_or_epochs() -> None:
    rows = []
    for store in ("north", "south"):
        for epoch in ("2024-05-14", "2024-05-15"):
            for n in range(4):
                rows.append(
                    {
                        "store": store,
                        "epoch": epoch,
                        "device": n + 1,
                        "first_us": n * 40 * S,
                        "last_us": n * 40 * S + 1,
                        "seq_first": n * 900,
                        "seq_last": n * 900 + 1,
                        "layout": 7,
                        "peak_rssi": -50,
                        "randomized": True,
                        "gap_us": GAP,
                    }
                )
    result = linker.links(pa.Table.from_pylist(rows)).to_pylist()
    keys = {(r["store"], r["epoch"], r["device_key"]) for r in result}
    assert len(keys) == 4, "one device per store and epoch"
    assert {r["device_key"] for r in result} == {1}, "each keyed by its first pseudonym"
    assert all(r["linked"] for r in result)
